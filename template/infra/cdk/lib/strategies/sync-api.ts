// REST strategy (services/sync-api): an API Gateway REST API with POST /generate. The service
// answers before the 29 s integration timeout (its REST_DEADLINE_MS), and API Gateway's own
// errors (throttling, a body that fails validation) come back in the protocol's error shape.
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { acknowledgeCheckov } from '../acknowledge.js';
import { alarmOnAny } from '../alarms.js';
import { Project, resourceName } from '../project.js';
import { originSecretHeader } from '../origin-secret.js';
import { publish, published } from '../publish.js';
import { NO_AUTHORIZER, restApi, validatedBody } from '../rest-api.js';
import { RustFunction } from '../rust-function.js';
import { Strategy } from '../strategy.js';

const service = 'sync-api';

class SyncApiStack extends Stack {
  constructor(app: App, project: Project) {
    super(app, resourceName(project, service), {
      description: `${project.name} ${project.stage}: REST strategy (API Gateway REST API)`,
    });
    const { function: fn } = new RustFunction(this, 'Service', {
      project,
      service,
      description: 'REST strategy: one Bedrock answer per request',
    });

    const api = restApi(this, project, service, 'Every answer is generated anew; caching would return one prompt\'s answer for another.');
    const resource = api.root.addResource('generate');
    const integration = new apigw.LambdaIntegration(fn);
    const generate = resource.addMethod('POST', integration, validatedBody(api));
    // CORS preflights for the origins in allowed-origins: the function answers them, from the
    // same list it checks every request against (PROTOCOL.md, "Browsers on other origins").
    resource.addMethod('OPTIONS', integration);
    acknowledgeCheckov(generate, [NO_AUTHORIZER]);

    alarmOnAny(this, project, 'rest-5xx', api.metricServerError(), 'The REST API answered 5XX');

    publish(this, project, 'rest/domain', `${api.restApiId}.execute-api.${this.region}.${this.urlSuffix}`);
  }
}

export const strategy: Strategy = {
  service,
  createStack: (app, project) => new SyncApiStack(app, project),
  cdnBehavior(scope: Construct, project: Project, router: cloudfront.IFunction) {
    return {
      origin: new origins.HttpOrigin(published(scope, project, 'rest/domain'), {
        protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        readTimeout: Duration.seconds(30),
        customHeaders: originSecretHeader(scope, project),
      }),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      // /api/generate is /<stage>/generate on the API: the router rewrites it.
      functionAssociations: [{ function: router, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    };
  },
};
