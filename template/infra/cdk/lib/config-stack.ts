// The stack every other one needs first: the services' configuration in SSM Parameter Store
// (read once per Lambda container, at init) and the region's API Gateway logging role.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { acknowledgeCheckov, acknowledgeNag } from './acknowledge.js';
import { stageAlarmsArn } from './alarms.js';
import { configPath, Project, resourceName } from './project.js';
import { publish } from './publish.js';

/**
 * The services' settings, named as the services read them (crates/genai/src/config.rs): the
 * model, and the request limits crates/genai declares (`project.limits`).
 */
export function settings(project: Project): Record<string, string> {
  const limits = Object.entries(project.limits).map(([name, value]) => [name, String(value)]);
  return { 'model-id': project.model.id, ...Object.fromEntries(limits) };
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

    // Where every alarm of the stage goes (alarms.ts), and so ALERT_EMAIL when given: AWS
    // mails it a confirmation link first.
    const alerts = new sns.Topic(this, 'Alerts', {
      topicName: resourceName(project, 'alerts'),
      displayName: `${project.name} ${project.stage} alerts`,
      enforceSSL: true,
    });
    // enforceSSL gives the topic a policy, which replaces SNS's default one: without this
    // statement nothing lets CloudWatch publish, and every alarm action fails ("...is not
    // authorized to perform: SNS:Publish ... because no resource-based policy allows"). So the
    // policy holds two statements: enforceSSL's Deny of sns:Publish without TLS, and this Allow
    // of sns:Publish to CloudWatch on behalf of this stage's alarms only (aws:SourceArn, the
    // alarms' `<project>-<stage>-` prefix, alarms.ts) in this account (aws:SourceAccount), so no
    // other alarm can use CloudWatch to post to it (the confused deputy). What this relies on:
    // the AWS Knowledge Center's "Why didn't I receive an SNS notification for my CloudWatch
    // alarm trigger?" (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger:
    // the error above, the principal cloudwatch.amazonaws.com, sns:Publish, ArnLike
    // aws:SourceArn on the alarm's ARN) and the SNS Developer Guide's "Example cases for Amazon
    // SNS access control" (https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html:
    // aws:SourceAccount, not aws:SourceOwner, for a service principal). The budget below mails
    // its subscribers itself and publishes nothing here.
    alerts.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'StageAlarmsPublish',
        effect: iam.Effect.ALLOW,
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [alerts.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': stageAlarmsArn(this, project) },
        },
      }),
    );
    acknowledgeNag(alerts, [
      { id: 'AwsSolutions-SNS2', reason: 'CloudWatch cannot publish to a topic under the AWS-managed aws/sns key; a customer key costs $1 a month for alarm names and states.' },
    ]);
    acknowledgeCheckov(alerts, [
      { id: 'CKV_AWS_26', reason: 'CloudWatch cannot publish to a topic under the AWS-managed aws/sns key; the messages hold alarm names and states only.' },
    ]);
    if (project.alertEmail) alerts.addSubscription(new subscriptions.EmailSubscription(project.alertEmail));
    publish(this, project, 'alerts/topic-arn', alerts.topicArn);

    // BUDGET_USD: a monthly cost budget on the account (Budgets see the whole account, not one
    // stage), mailing ALERT_EMAIL at 80 % spent and when the month's forecast passes it.
    if (project.budgetUsd !== null && project.alertEmail) {
      const subscribers = [{ subscriptionType: 'EMAIL', address: project.alertEmail }];
      new budgets.CfnBudget(this, 'Budget', {
        budget: {
          budgetName: resourceName(project, 'monthly'),
          budgetType: 'COST',
          timeUnit: 'MONTHLY',
          budgetLimit: { amount: project.budgetUsd, unit: 'USD' },
        },
        notificationsWithSubscribers: [
          { notification: { notificationType: 'ACTUAL', comparisonOperator: 'GREATER_THAN', threshold: 80, thresholdType: 'PERCENTAGE' }, subscribers },
          { notification: { notificationType: 'FORECASTED', comparisonOperator: 'GREATER_THAN', threshold: 100, thresholdType: 'PERCENTAGE' }, subscribers },
        ],
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
