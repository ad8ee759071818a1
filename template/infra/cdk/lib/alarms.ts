// The stage's alarms. Each one sums its metric over five minutes, fires at the first
// occurrence, and notifies the config stack's alerts topic (ALERT_EMAIL), whose ARN it reads
// from SSM at deploy, so every stack still deploys and is destroyed on its own.
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Project, resourceName } from './project.js';
import { published } from './publish.js';

/**
 * The ARN pattern of every alarm of the stage in `stack`'s account and region: alarmOnAny names
 * them all `<project>-<stage>-<name>`, so the alerts topic lets these, and no other, publish.
 */
export function stageAlarmsArn(stack: Stack, project: Project): string {
  return stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: resourceName(project, '*'), arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}

/** An alarm named `<project>-<stage>-<name>` on any occurrence of `metric`. */
export function alarmOnAny(scope: Construct, project: Project, name: string, metric: cloudwatch.Metric, description: string): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, `Alarm-${name}`, {
    alarmName: resourceName(project, name),
    alarmDescription: description,
    metric: metric.with({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // No traffic is no trouble.
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new actions.SnsAction(alertsTopic(scope, project)));
  return alarm;
}

/** The stage's alerts topic, one reference per stack. */
function alertsTopic(scope: Construct, project: Project): sns.ITopic {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild('AlertsTopic') as sns.ITopic | undefined;
  return existing ?? sns.Topic.fromTopicArn(stack, 'AlertsTopic', published(stack, project, 'alerts/topic-arn'));
}
