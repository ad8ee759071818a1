// WebSocket strategy (services/realtime-ws): an API Gateway WebSocket API in front of two
// functions made from the one binary (services/realtime-ws/src/lib.rs says how they share it).
//
// Every route ($connect, $disconnect, $default, generate) invokes the connection function,
// synchronously: API Gateway's WebSocket integration timeout is 29 s and cannot be raised
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). A message is
// checked there and handed to the generation function with Lambda's Invoke API
// (InvocationType=Event, https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html),
// which runs the answer for up to its own 5-minute timeout, posting every frame to
// @connections itself. The generation function carries the concurrency cap; the connection
// function does not, so ten running answers never throttle a new connection (the stage's
// throttle bounds it instead).
import { App, ArnFormat, Aws, CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { acknowledgeCheckov, acknowledgeNag } from '../acknowledge.js';
import { accessLogGroup } from '../access-logs.js';
import { alarmOnAny } from '../alarms.js';
import { Project, resourceName } from '../project.js';
import { originSecretHeader } from '../origin-secret.js';
import { publish, published } from '../publish.js';
import { RustFunction } from '../rust-function.js';
import { Strategy } from '../strategy.js';

const service = 'realtime-ws';

class RealtimeWsStack extends Stack {
  constructor(app: App, project: Project) {
    super(app, resourceName(project, service), {
      description: `${project.name} ${project.stage}: WebSocket strategy (API Gateway WebSocket API)`,
    });
    // The generation function, as the service declares it ([package.metadata.genai-scaffold.worker]).
    const worker = project.services[service].worker;
    if (!worker) throw new Error(`services/${service}/Cargo.toml declares no worker: its generations run there`);
    // Named, not referenced, in the connection function's grant and environment: the
    // generation function's failure destination refers to the connection function, and a
    // reference back would be a dependency cycle.
    const generatorName = resourceName(project, worker.function);
    const generatorArn = this.formatArn({ service: 'lambda', resource: 'function', resourceName: generatorName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const { function: fn } = new RustFunction(this, 'Service', {
      project,
      service,
      description: 'WebSocket strategy: answers the routes, hands each generation to the generation function',
      capped: false,
      callsModel: false,
      environment: { [worker.env]: generatorName },
    });
    // Asynchronous invocations of that one function, and nothing else.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [generatorArn] }));

    const { function: generator } = new RustFunction(this, 'Generations', {
      project,
      service,
      worker: true,
      description: 'WebSocket strategy: runs one generation per invocation, posting every frame to @connections',
    });
    // Never retried: a retry would post the answer again from seq 0. An event that waited a
    // minute (the cap was full) is dropped. Either way Lambda sends the record to the
    // connection function, which posts the protocol's error frame
    // (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html); the
    // record is sent with the generation function's role.
    new lambda.EventInvokeConfig(this, 'GenerationsAsync', {
      function: generator,
      retryAttempts: worker.retries,
      maxEventAge: Duration.seconds(worker['max-event-age-seconds']),
      onFailure: { bind: () => ({ destination: fn.functionArn }) },
    });
    generator.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));

    // The generation function's ledger: it records each generation (its key, `generationId`,
    // and an expiry, `expiresAt`: services/realtime-ws/src/lib.rs, Ledger) before running it,
    // so a copy of an event Lambda delivers twice runs nothing
    // (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). One write per answer,
    // billed per request; records expire after a day (TTL deletes are free) and nothing in it
    // outlives the stage.
    const ledger = new dynamodb.Table(this, 'GenerationsLedger', {
      partitionKey: { name: 'generationId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const ephemeral = 'Records live a day and only stop a duplicate event from running twice; a backup would restore nothing anyone needs.';
    acknowledgeNag(ledger, [{ id: 'AwsSolutions-DDB3', reason: ephemeral }]);
    acknowledgeCheckov(ledger, [
      { id: 'CKV_AWS_28', reason: ephemeral },
      { id: 'CKV_AWS_119', reason: 'Records hold generation ids and expiry times, no prompt or answer; DynamoDB encrypts them at rest with an AWS-owned key.' },
    ]);
    generator.addEnvironment(worker['ledger-env'], ledger.tableName);
    // The conditional write, on this table only: the function never reads or deletes.
    generator.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [ledger.tableArn] }));

    const integration = new WebSocketLambdaIntegration('Routes', fn);
    const api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: resourceName(project, service),
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration },
      disconnectRouteOptions: { integration },
      defaultRouteOptions: { integration },
    });
    api.addRoute('generate', { integration });

    const accessLogs = accessLogGroup(this);
    const stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: api,
      stageName: project.stage,
      autoDeploy: true,
      throttle: { rateLimit: 20, burstLimit: 40 },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
    // Frames go to this stage's connections only: the answers from the generation function,
    // errors about a message or a failed generation from the connection function.
    for (const poster of [fn, generator]) {
      poster.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['execute-api:ManageConnections'],
          resources: [
            `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.apiId}/${stage.stageName}/POST/@connections/*`,
          ],
        }),
      );
    }
    acknowledgeNag(this, [
      {
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${this.getLogicalId(api.node.defaultChild as CfnElement)}>/${stage.stageName}/POST/@connections/*]`,
        reason: 'Connection ids are only known at run time: the grant is POST on @connections/* of this API and stage.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason: 'The demo app is public behind CloudFront; $connect checks the CDN\'s origin secret and the browser Origin against the allow-list.',
      },
    ]);

    alarmOnAny(
      this,
      project,
      'websocket-execution-errors',
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: 'ExecutionError',
        dimensionsMap: { ApiId: api.apiId, Stage: stage.stageName },
      }),
      'The WebSocket API failed to call its function',
    );

    publish(this, project, 'websocket/domain', `${api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`);
  }
}

export const strategy: Strategy = {
  service,
  createStack: (app, project) => new RealtimeWsStack(app, project),
  cdnBehavior(scope: Construct, project: Project, router: cloudfront.IFunction) {
    return {
      origin: new origins.HttpOrigin(published(scope, project, 'websocket/domain'), {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        customHeaders: originSecretHeader(scope, project),
      }),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // The handshake headers, and Origin for $connect's allow-list; Host stays the API's.
      originRequestPolicy: new cloudfront.OriginRequestPolicy(scope, 'WebSocketHeaders', {
        comment: 'WebSocket handshake through CloudFront',
        headerBehavior: cloudfront.OriginRequestHeaderBehavior.allowList(
          'Sec-WebSocket-Key',
          'Sec-WebSocket-Version',
          'Sec-WebSocket-Extensions',
          'Sec-WebSocket-Protocol',
          'Origin',
        ),
      }),
      // /ws is the stage root on the API: the router rewrites it to /<stage>.
      functionAssociations: [{ function: router, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    };
  },
};
