// REST streaming strategy (services/stream-rest): an API Gateway REST API whose Lambda proxy
// integration is in STREAM response transfer mode, so the service's Server-Sent Events reach
// the browser as it writes them instead of once the answer ends
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode.html).
// API Gateway's own errors (throttling, a body that fails validation) come back in the
// protocol's error shape, as on the REST strategy's API.
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { acknowledgeCheckov } from '../acknowledge.js';
import { alarmOnAny } from '../alarms.js';
import { Declaration, Project, resourceName } from '../project.js';
import { originSecretHeader } from '../origin-secret.js';
import { publish, published } from '../publish.js';
import { NO_AUTHORIZER, restApi, validatedBody } from '../rest-api.js';
import { RustFunction } from '../rust-function.js';
import { Strategy } from '../strategy.js';

const service = 'stream-rest';

/** How the service's `cdn` rule names the API's stage in its origin path. */
const STAGE = '/{stage}';

/**
 * The API resource the CDN's router sends the service's route to (functions/router.js): its
 * origin path with the stage taken off and, unless the rule is exact, what follows the prefix.
 */
function resourcePath(declared: Declaration): string {
  const rule = declared.cdn;
  if (!rule?.['origin-path'].startsWith(STAGE)) {
    throw new Error(`services/${service} must declare a cdn rule whose origin-path starts with ${STAGE}, the API's stage`);
  }
  const asked = rule['origin-path'] + (rule.exact ? '' : declared.route.slice(rule.prefix.length));
  return asked.slice(STAGE.length) || '/';
}

class StreamRestStack extends Stack {
  constructor(app: App, project: Project) {
    super(app, resourceName(project, service), {
      description: `${project.name} ${project.stage}: REST streaming strategy (API Gateway REST API, response streaming)`,
    });
    const declared = project.services[service];
    const { function: fn } = new RustFunction(this, 'Service', {
      project,
      service,
      description: 'REST streaming strategy: streams Bedrock answers as Server-Sent Events',
    });

    // Regional: an edge-optimized endpoint ends a stream after 30 s without a byte, a
    // Regional one after 5 minutes (response-transfer-mode.html, "Idle timeouts"). No
    // compression and no caching: both need the whole response, which a streamed integration
    // never has (response-transfer-mode.html, "Considerations").
    const api = restApi(this, project, service, 'Every answer is generated anew, and a streamed integration cannot be cached (response-transfer-mode.html).');
    const resource = api.root.resourceForPath(resourcePath(declared));
    // STREAM makes API Gateway call InvokeWithResponseStream (the integration's URI is
    // .../2021-11-15/functions/<arn>/response-streaming-invocations) and pass on the bytes as
    // they come; the runtime writes the prelude it expects (services/stream-rest/src/main.rs,
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/response-transfer-mode-lambda.html).
    // A streamed integration may wait up to 15 minutes, past the 29 s a buffered one gets
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/response-streaming-http.html):
    // it waits as long as the function may run (its declared timeout), so the gateway never
    // cuts off a stream the function is still writing. The invoke permission CDK adds
    // (lambda:InvokeFunction) is what InvokeWithResponseStream needs
    // (https://docs.aws.amazon.com/lambda/latest/dg/API_InvokeWithResponseStream.html).
    const integration = new apigw.LambdaIntegration(fn, {
      responseTransferMode: apigw.ResponseTransferMode.STREAM,
      timeout: Duration.seconds(declared['timeout-seconds']),
    });
    const stream = resource.addMethod('POST', integration, validatedBody(api));
    // CORS preflights for the origins in allowed-origins: the function answers them, from the
    // same list it checks every request against (PROTOCOL.md, "Browsers on other origins"). It
    // writes every response through the streaming runtime, so they share the integration.
    resource.addMethod('OPTIONS', integration);
    acknowledgeCheckov(stream, [NO_AUTHORIZER]);

    alarmOnAny(this, project, `${declared.strategy}-5xx`, api.metricServerError(), 'The REST streaming API answered 5XX');

    publish(this, project, `${declared.strategy}/domain`, `${api.restApiId}.execute-api.${this.region}.${this.urlSuffix}`);
  }
}

export const strategy: Strategy = {
  service,
  createStack: (app, project) => new StreamRestStack(app, project),
  cdnBehavior(scope: Construct, project: Project, router: cloudfront.IFunction) {
    return {
      origin: new origins.HttpOrigin(published(scope, project, `${project.services[service].strategy}/domain`), {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        // CloudFront's response timeout bounds the wait for the first byte and every gap
        // between two bytes, not the whole response
        // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout):
        // the service sends a keep-alive every 10 s while the model is silent, so the default
        // 30 s holds a stream of any length, and a stuck origin still fails in 30 s.
        readTimeout: Duration.seconds(30),
        customHeaders: originSecretHeader(scope, project),
      }),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      // Compression would buffer the stream; events must reach the browser as written.
      compress: false,
      // The route is the API stage's resource the service's cdn rule names: the router rewrites it.
      functionAssociations: [{ function: router, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    };
  },
};
