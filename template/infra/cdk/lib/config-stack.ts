// The stack every other one needs first: the services' configuration in SSM Parameter Store
// (read once per Lambda container, at init) and the region's API Gateway logging role.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeNag } from './acknowledge.js';
import { configPath, Project, resourceName } from './project.js';

/** The services' settings, named as the services read them (crates/genai/src/config.rs). */
export function settings(project: Project): Record<string, string> {
  return {
    'model-id': project.modelId,
    'max-prompt-bytes': '16384',
    'max-tokens': '4096',
    'default-max-tokens': '512',
  };
}

export class ConfigStack extends Stack {
  constructor(scope: Construct, project: Project) {
    super(scope, resourceName(project, 'config'), {
      description: `${project.name} ${project.stage}: service configuration in SSM`,
    });
    for (const [name, value] of Object.entries(settings(project))) {
      new ssm.StringParameter(this, `Setting-${name}`, {
        parameterName: `${configPath(project)}/${name}`,
        stringValue: value,
        description: `${project.name} ${project.stage}: ${name}, read by the services at init`,
      });
    }

    // API Gateway writes access logs only when the region's account settings name a role for
    // it. Kept on destroy: other APIs in the region may rely on the same setting.
    const role = new iam.Role(this, 'ApiGatewayLogsRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs')],
      description: 'Lets API Gateway write access logs in this region',
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const account = new apigw.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
    acknowledgeNag(role, [
      {
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the API Gateway logging role.',
      },
    ]);
  }
}
