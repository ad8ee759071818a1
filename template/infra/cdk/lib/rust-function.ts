// One Rust service as a Lambda function: the zip `make build` wrote, its own role with only
// what the service calls (Bedrock on the project's model, SSM on the project's path, its own
// log group), a two-week log group, JSON logs and a concurrency cap.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeCheckov } from './acknowledge.js';
import { configPath, Project, resourceName } from './project.js';

export interface RustFunctionProps {
  project: Project;
  /** The service folder under services/, also the binary name. */
  service: string;
  description: string;
  timeout: Duration;
  /** Service settings beyond those in SSM (e.g. the REST deadline). */
  environment?: Record<string, string>;
}

/** Geography prefixes of cross-Region inference profile ids (`us.amazon.nova-micro-v1:0`). */
const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\./;

/**
 * The ARNs `bedrock:InvokeModelWithResponseStream` needs for `modelId`: an inference profile
 * needs the profile and the foundation model in each region it routes to (a `global.` profile
 * also the region-less foundation-model ARN); a foundation model id needs its own ARN.
 */
export function modelArns(project: Project, partition: string, account: string): string[] {
  const id = project.modelId;
  if (id.startsWith('arn:')) return [id];
  const profile = PROFILE_PREFIX.exec(id);
  if (!profile) return [`arn:${partition}:bedrock:${project.region}::foundation-model/${id}`];
  const base = id.slice(profile[0].length);
  return [
    `arn:${partition}:bedrock:${project.region}:${account}:inference-profile/${id}`,
    ...project.modelRegions.map((r) => `arn:${partition}:bedrock:${r}::foundation-model/${base}`),
    ...(profile[1] === 'global' ? [`arn:${partition}:bedrock:::foundation-model/${base}`] : []),
  ];
}

export class RustFunction extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);
    const { project, service } = props;
    const stack = Stack.of(this);
    const zip = path.join(project.lambdaDir, service, 'bootstrap.zip');
    if (!existsSync(zip)) {
      throw new Error(`${zip} is missing: run \`make build\` first (cargo lambda build --output-format zip)`);
    }
    const name = resourceName(project, service);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${name}`,
      retention: logs.RetentionDays.TWO_WEEKS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeCheckov(logGroup, [
      { id: 'CKV_AWS_158', reason: 'Logs hold no prompt text (not logged unless configured); AWS-owned encryption applies.' },
    ]);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${name}: Bedrock on the project's model, its SSM path, its log group`,
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['bedrock:InvokeModelWithResponseStream'],
        resources: modelArns(project, stack.partition, stack.account),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ssm:GetParametersByPath'],
        resources: [stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: configPath(project).slice(1) })],
      }),
    );

    this.function = new lambda.Function(this, 'Function', {
      functionName: name,
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: project.arch === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(zip),
      memorySize: 256,
      timeout: props.timeout,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      reservedConcurrentExecutions: project.reservedConcurrency || undefined,
      environment: { CONFIG_SSM_PATH: configPath(project), ...props.environment },
    });
    acknowledgeCheckov(this.function, [
      { id: 'CKV_AWS_116', reason: 'Invoked by API Gateway and a Function URL, which get the error; a DLQ would hold nothing to retry.' },
      { id: 'CKV_AWS_117', reason: 'Calls only public AWS endpoints (Bedrock, SSM, API Gateway); a VPC would add NAT cost and cold-start time.' },
      { id: 'CKV_AWS_173', reason: 'The environment holds an SSM path and timeouts, no secrets.' },
      { id: 'CKV_AWS_272', reason: 'Code signing needs a signing profile per account; the zip is built and deployed by the same Makefile.' },
    ]);
  }
}
