// WebSocket strategy (services/realtime-ws): an API Gateway WebSocket API.
//
// $connect and $disconnect invoke the function synchronously ($connect answers 403 to an
// origin outside the allow-list). Messages ($default, generate) invoke it asynchronously
// (X-Amz-Invocation-Type: Event): the service posts every frame to @connections itself, so a
// generation may run past API Gateway's 29 s integration timeout and the client never sees
// "Endpoint request timed out".
import { App, Aws, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../acknowledge.js';
import { accessLogGroup } from '../access-logs.js';
import { alarmOnAny } from '../alarms.js';
import { Project, resourceName } from '../project.js';
import { originSecretHeader, originSecrets } from '../origin-secret.js';
import { publish, published } from '../publish.js';
import { RustFunction } from '../rust-function.js';
import { Strategy } from '../strategy.js';

const service = 'realtime-ws';

class RealtimeWsStack extends Stack {
  constructor(app: App, project: Project) {
    super(app, resourceName(project, service), {
      description: `${project.name} ${project.stage}: WebSocket strategy (API Gateway WebSocket API)`,
    });
    const { function: fn } = new RustFunction(this, 'Service', {
      project,
      service,
      description: 'WebSocket strategy: streams Bedrock answers to @connections',
      // Generations outlive the 29 s integration timeout; the function's own limit bounds them.
      timeout: Duration.minutes(5),
      // $connect refuses a handshake without it: one that did not come through the CDN.
      environment: { ORIGIN_SECRET: originSecrets(this, project) },
    });

    const sync = new WebSocketLambdaIntegration('Connection', fn);
    const api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: resourceName(project, service),
      routeSelectionExpression: '$request.body.action',
      connectRouteOptions: { integration: sync },
      disconnectRouteOptions: { integration: sync },
    });
    const messages = new apigwv2.CfnIntegration(this, 'MessageIntegration', {
      apiId: api.apiId,
      integrationType: 'AWS_PROXY',
      integrationUri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${fn.functionArn}/invocations`,
      requestParameters: { 'integration.request.header.X-Amz-Invocation-Type': "'Event'" },
    });
    for (const routeKey of ['$default', 'generate']) {
      new apigwv2.CfnRoute(this, routeKey === '$default' ? 'DefaultRoute' : 'GenerateRoute', {
        apiId: api.apiId,
        routeKey,
        target: `integrations/${messages.ref}`,
      });
    }
    fn.addPermission('MessageRoutes', {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.apiId}/${project.stage}/*`,
    });

    const accessLogs = accessLogGroup(this);
    const stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: api,
      stageName: project.stage,
      autoDeploy: true,
      throttle: { rateLimit: 20, burstLimit: 40 },
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(accessLogs) },
    });
    // Frames go to this stage's connections only.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['execute-api:ManageConnections'],
        resources: [
          `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${Aws.ACCOUNT_ID}:${api.apiId}/${stage.stageName}/POST/@connections/*`,
        ],
      }),
    );
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
  name: 'websocket',
  service,
  path: '/ws',
  createStack: (app, project) => new RealtimeWsStack(app, project),
  cdnRoute(scope: Construct, project: Project, router: cloudfront.IFunction) {
    return {
      pathPatterns: ['/ws', '/ws/*'],
      behavior: {
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
      },
    };
  },
};
