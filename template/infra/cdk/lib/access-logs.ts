// The log group an API stage writes its access logs to: two weeks, gone with the stack.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeCheckov } from './acknowledge.js';

export function accessLogGroup(scope: Construct): logs.LogGroup {
  const group = new logs.LogGroup(scope, 'AccessLogs', {
    retention: logs.RetentionDays.TWO_WEEKS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledgeCheckov(group, [
    { id: 'CKV_AWS_158', reason: 'Access logs hold request metadata only; AWS-owned encryption applies.' },
  ]);
  return group;
}
