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
import { acknowledgeCheckov, acknowledgeNag } from './acknowledge.js';
import { alarmOnAny } from './alarms.js';
import { originSecrets } from './origin-secret.js';
import { configPath, Project, resourceName } from './project.js';

export interface RustFunctionProps {
  project: Project;
  /** The service folder under services/, also the binary name. */
  service: string;
  /**
   * Whether this is the worker the service declares (a second function of its binary, named
   * and limited by `[package.metadata.genai-scaffold.worker]`) rather than its own function.
   */
  worker?: boolean;
  /** Whether the project's concurrency cap (RESERVED_CONCURRENCY) applies; default true. */
  capped?: boolean;
  /** Whether it calls the model (is granted Bedrock); default true. */
  callsModel?: boolean;
  description: string;
  /** Settings beyond SSM's and those the declaration gives (e.g. the worker's name). */
  environment?: Record<string, string>;
}

const INVOKE = ['bedrock:InvokeModelWithResponseStream'];

/**
 * What `bedrock:InvokeModelWithResponseStream` needs for the project's model, as the deploy
 * model gives it (infra/project.py says why): the model's ARN, and for an inference profile
 * its foundation model in any region, only for requests made through this profile
 * (`bedrock:InferenceProfileArn`), so the foundation model cannot be called directly.
 * `account` fills the ARN's `${AWS::AccountId}`.
 */
export function bedrockStatements(project: Project, account: string): iam.PolicyStatement[] {
  const { arn, foundationModelArn } = project.model;
  const modelArn = arn.replace('${AWS::AccountId}', account);
  const invoke = new iam.PolicyStatement({ actions: INVOKE, resources: [modelArn] });
  if (!foundationModelArn) return [invoke];
  return [
    invoke,
    new iam.PolicyStatement({
      actions: INVOKE,
      resources: [foundationModelArn],
      conditions: { StringEquals: { 'bedrock:InferenceProfileArn': modelArn } },
    }),
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
    const declared = project.services[service];
    const worker = props.worker ? declared.worker : undefined;
    if (props.worker && !worker) throw new Error(`services/${service}/Cargo.toml declares no worker`);
    // The deploy model has checked every function name against Lambda's limit.
    const name = resourceName(project, worker?.function ?? service);
    const limits = worker ?? declared;
    const callsModel = props.callsModel ?? true;
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
      description: callsModel ? `${name}: Bedrock on the project's model, its SSM path, its log group` : `${name}: its SSM path, its log group`,
    });
    logGroup.grantWrite(role);
    const bedrock = (account: string) => (callsModel ? bedrockStatements(project, account) : []);
    for (const statement of bedrock(stack.account)) role.addToPolicy(statement);
    // cdk-nag names a resource with its references as `<AWS::AccountId>`: the same statements
    // written that way name the wildcard resources to acknowledge.
    for (const statement of bedrock('<AWS::AccountId>')) {
      for (const resource of statement.resources.filter((r) => r.includes('*'))) {
        acknowledgeNag(role, [
          {
            id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
            reason: "The profile's foundation model in any region it routes to, only through that profile (bedrock:InferenceProfileArn).",
          },
        ]);
      }
    }
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
      memorySize: limits['memory-mb'],
      timeout: Duration.seconds(limits['timeout-seconds']),
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      reservedConcurrentExecutions: props.capped === false ? undefined : project.reservedConcurrency || undefined,
      environment: {
        [project.configEnv]: configPath(project),
        // A service that declares `origin-secret` refuses every request without the CDN's
        // secret; deployed without this variable, it refuses every request
        // (crates/genai/src/config.rs).
        ...(declared['origin-secret'] && !worker ? { [project.originSecret.env]: originSecrets(this, project) } : {}),
        ...props.environment,
      },
    });
    acknowledgeCheckov(this.function, [
      { id: 'CKV_AWS_116', reason: 'Invoked by API Gateway and a Function URL, which get the error; a DLQ would hold nothing to retry.' },
      { id: 'CKV_AWS_117', reason: 'Calls only public AWS endpoints (Bedrock, SSM, API Gateway); a VPC would add NAT cost and cold-start time.' },
      { id: 'CKV_AWS_173', reason: 'The environment holds an SSM path, timeouts and, on the WebSocket and REST functions, the CDN\'s origin secret, which only shows that a request came through CloudFront; Lambda encrypts it at rest with its AWS-managed key.' },
      { id: 'CKV_AWS_272', reason: 'Code signing needs a signing profile per account; the zip is built and deployed by the same Makefile.' },
    ]);
    if (props.capped === false) {
      acknowledgeCheckov(this.function, [
        { id: 'CKV_AWS_115', reason: 'Answers WebSocket routes in milliseconds and calls no model; the stage throttle bounds it, and a cap shared with the generations would let running answers refuse new connections.' },
      ]);
    }
    // A failed invocation, or one refused at the concurrency cap.
    const alarm = worker?.function ?? service;
    alarmOnAny(this, project, `${alarm}-errors`, this.function.metricErrors(), `${name} failed an invocation`);
    alarmOnAny(this, project, `${alarm}-throttles`, this.function.metricThrottles(), `${name} refused an invocation at its concurrency cap`);
  }
}
