// What a strategy file under lib/strategies/ provides. The app imports every file there whose
// service folder exists, so adding a strategy is copying its service folder and its file. What
// the service declares (its key, route, limits) the file reads from the project's model.
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { App, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Project } from './project.js';

export interface Strategy {
  /** The service folder under services/, whose declaration (`project.services`) says the rest. */
  service: string;
  /** Creates the strategy's stack, which publishes its endpoint under the deploy path. */
  createStack(app: App, project: Project): Stack;
  /**
   * The CDN behavior for its paths (the CDN stack derives which: `pathPatterns`); `router` is
   * the path-rewriting function.
   */
  cdnBehavior(scope: Construct, project: Project, router: cloudfront.IFunction): cloudfront.BehaviorOptions;
}

/**
 * The CloudFront path patterns of a service's paths on the app's origin: with a router rule,
 * its prefix (and with `exact`, the prefix itself too); else its route and what is below it.
 */
export function pathPatterns(project: Project, service: string): string[] {
  const { route, cdn } = project.services[service];
  if (cdn && !cdn.exact) return [`${cdn.prefix}/*`];
  const at = cdn?.prefix ?? route;
  return [at, `${at}/*`];
}
