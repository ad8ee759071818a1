// Stacks hand values to later stacks and to deploy-frontend through SSM parameters under the
// deploy path, read at deploy time (not CloudFormation exports), so each stack deploys and
// is destroyed on its own.
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { deployPath, Project } from './project.js';

/** Writes `<deploy path>/<key>`. */
export function publish(scope: Construct, project: Project, key: string, value: string): void {
  new ssm.StringParameter(scope, `Publish${key.replace(/[^A-Za-z0-9]/g, '')}`, {
    parameterName: `${deployPath(project)}/${key}`,
    stringValue: value,
    description: `Written by ${scope.node.path}; read by later stacks and make deploy-frontend`,
  });
}

/** Reads `<deploy path>/<key>` when the stack deploys; fails then if it was never published. */
export function published(scope: Construct, project: Project, key: string): string {
  return ssm.StringParameter.valueForStringParameter(scope, `${deployPath(project)}/${key}`);
}
