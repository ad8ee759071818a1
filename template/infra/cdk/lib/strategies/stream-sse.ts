// SSE strategy (services/stream-sse): a Lambda Function URL in RESPONSE_STREAM mode with
// AWS_IAM auth, so only CloudFront (Origin Access Control, signed requests) can call it.
import { App, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { alarmOnAny } from '../alarms.js';
import { ImportedFunctionUrl } from '../imported-function-url.js';
import { Project, resourceName } from '../project.js';
import { publish, published } from '../publish.js';
import { RustFunction } from '../rust-function.js';
import { Strategy } from '../strategy.js';

const service = 'stream-sse';

class StreamSseStack extends Stack {
  constructor(app: App, project: Project) {
    super(app, resourceName(project, service), {
      description: `${project.name} ${project.stage}: SSE strategy (Lambda Function URL, response streaming)`,
    });
    const { function: fn } = new RustFunction(this, 'Service', {
      project,
      service,
      description: 'SSE strategy: streams Bedrock answers as Server-Sent Events',
    });
    const url = fn.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
    alarmOnAny(this, project, 'sse-5xx', fn.metric('Url5xxCount'), 'The SSE Function URL answered 5XX');
    publish(this, project, 'sse/url', url.url);
    publish(this, project, 'sse/function-arn', fn.functionArn);
  }
}

export const strategy: Strategy = {
  service,
  createStack: (app, project) => new StreamSseStack(app, project),
  cdnBehavior(scope: Construct, project: Project) {
    const url = new ImportedFunctionUrl(scope, 'SseFunctionUrl', {
      url: published(scope, project, 'sse/url'),
      functionArn: published(scope, project, 'sse/function-arn'),
    });
    return {
      // Grants cloudfront.amazonaws.com lambda:InvokeFunctionUrl and lambda:InvokeFunction,
      // both scoped to this distribution by SourceArn.
      origin: origins.FunctionUrlOrigin.withOriginAccessControl(url),
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      // Compression would buffer the stream; events must reach the browser as written.
      compress: false,
    };
  },
};
