// The secret CloudFront sends to the WebSocket and REST APIs in x-origin-verify, so that
// their functions refuse calls made to the APIs' own execute-api URLs (PROTOCOL.md, "Only
// through the app's origin"). `make deploy-config` creates it in SSM (infra/origin_secret.py)
// and `make rotate-origin-secret` replaces it; stacks read it when they deploy, so it is in no
// template and nowhere under cdk.out. The parameter holds the current value and, after a
// rotation, the previous one: the functions accept both and CloudFront sends the first, so a
// rotation (the strategies first, then the CDN) refuses no request on the way.
import { Fn } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Project } from './project.js';
import { published } from './publish.js';

/** The accepted values, comma separated: the variable `project.originSecret.env` of a function. */
export function originSecrets(scope: Construct, project: Project): string {
  return published(scope, project, 'origin/secret');
}

/** The custom header a CloudFront origin adds to every request: the current value. */
export function originSecretHeader(scope: Construct, project: Project): Record<string, string> {
  return { [project.originSecret.header]: Fn.select(0, Fn.split(',', originSecrets(scope, project))) };
}
