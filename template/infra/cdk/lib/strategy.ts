// What a strategy file under lib/strategies/ provides. The app imports every file there whose
// service folder exists, so adding a strategy is copying its service folder and its file.
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { App, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Project } from './project.js';

/** The CDN's view of a strategy, built in the CDN stack from what the strategy published. */
export interface CdnRoute {
  /** CloudFront path patterns (PROTOCOL.md's path, with and without the trailing part). */
  pathPatterns: string[];
  behavior: cloudfront.BehaviorOptions;
}

export interface Strategy {
  /** The web client's name for it (a folder under client/web/src/strategies). */
  name: string;
  /** The service folder under services/. */
  service: string;
  /** The path PROTOCOL.md gives it on the one origin, written to /config.json. */
  path: string;
  /** Creates the strategy's stack, which publishes its endpoint under the deploy path. */
  createStack(app: App, project: Project): Stack;
  /** The CDN behavior for its path; `router` is the path-rewriting function. */
  cdnRoute(scope: Construct, project: Project, router: cloudfront.IFunction): CdnRoute;
}
