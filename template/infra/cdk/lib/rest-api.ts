// What every REST API of the project is, whichever strategy's: a Regional endpoint with stage
// throttling, access logs and optional tracing; API Gateway's own errors (throttling, a body
// that fails validation, a timeout) in PROTOCOL.md's error shape; and the request body checked
// before the function runs. Kept here so that the APIs cannot drift apart.
import { Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { acknowledgeCheckov, acknowledgeNag } from './acknowledge.js';
import { accessLogGroup } from './access-logs.js';
import { Project, resourceName } from './project.js';

/**
 * The service's REST API, public behind CloudFront (its function refuses requests without the
 * CDN's origin secret): Regional, throttled per stage, access-logged, traced when the stage
 * asks (TRACING=on), answering its own errors in the protocol's shape. `noCache` says why the
 * stage caches nothing, for checkov.
 */
export function restApi(stack: Stack, project: Project, service: string, noCache: string): apigw.RestApi {
  const accessLogs = accessLogGroup(stack);
  const api = new apigw.RestApi(stack, 'Api', {
    restApiName: resourceName(project, service),
    endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
    cloudWatchRole: false,
    deployOptions: {
      stageName: project.stage,
      throttlingRateLimit: 20,
      throttlingBurstLimit: 40,
      // X-Ray costs per trace recorded: on when the stage asks (TRACING=on, see the README).
      tracingEnabled: project.tracing,
      accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
      accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
    },
  });
  protocolErrors(api);
  acknowledgeCheckov(api.deploymentStage, [
    { id: 'CKV_AWS_120', reason: noCache },
    { id: 'CKV_AWS_73', reason: 'X-Ray costs per trace recorded: TRACING=on turns it on (see the README).' },
  ]);
  acknowledgeNag(stack, [
    { id: 'AwsSolutions-APIG3', reason: 'WAF costs money at rest; stage throttling and the function concurrency cap bound abuse. Add a WebACL for production.' },
    { id: 'AwsSolutions-APIG4', reason: 'The demo app is public behind CloudFront, and the function refuses requests without the CDN\'s origin secret; add an authorizer for user accounts.' },
    { id: 'AwsSolutions-APIG6', reason: 'Execution logging needs an account-wide API Gateway role; access logs are on and the function logs every request.' },
    { id: 'AwsSolutions-COG4', reason: 'No user pool: the demo app is public behind CloudFront.' },
  ]);
  return api;
}

/** The checkov acknowledgement of a method without an authorizer, for `acknowledgeCheckov`. */
export const NO_AUTHORIZER = {
  id: 'CKV_AWS_59',
  reason: 'The demo app is public behind CloudFront, and the function refuses requests without the CDN\'s origin secret; add an authorizer for user accounts.',
};

/** Gateway errors in PROTOCOL.md's shape: { "error": { message, code, statusCode } }. */
const GATEWAY_ERRORS: [apigw.ResponseType, string, string][] = [
  [apigw.ResponseType.BAD_REQUEST_BODY, '400', 'BAD_REQUEST'],
  [apigw.ResponseType.REQUEST_TOO_LARGE, '413', 'PAYLOAD_TOO_LARGE'],
  [apigw.ResponseType.THROTTLED, '429', 'THROTTLED'],
  [apigw.ResponseType.INTEGRATION_TIMEOUT, '504', 'TIMEOUT'],
  [apigw.ResponseType.DEFAULT_5XX, '500', 'INTERNAL_ERROR'],
];

/** Answers API Gateway's own errors in the protocol's shape instead of its `{"message"}`. */
function protocolErrors(api: apigw.RestApi): void {
  for (const [type, statusCode, code] of GATEWAY_ERRORS) {
    api.addGatewayResponse(`Error${code}`, {
      type,
      statusCode,
      templates: {
        'application/json': `{ "error": { "message": $context.error.messageString, "code": "${code}", "statusCode": ${statusCode} } }`,
      },
    });
  }
}

/**
 * The method options that validate PROTOCOL.md's request body ({ prompt, system?, maxTokens?,
 * temperature? }), so API Gateway answers a malformed one with BAD_REQUEST without invoking
 * the function.
 */
export function validatedBody(api: apigw.RestApi): Pick<apigw.MethodOptions, 'requestValidator' | 'requestModels'> {
  const body = api.addModel('GenerateRequest', {
    contentType: 'application/json',
    schema: {
      schema: apigw.JsonSchemaVersion.DRAFT4,
      type: apigw.JsonSchemaType.OBJECT,
      required: ['prompt'],
      properties: {
        prompt: { type: apigw.JsonSchemaType.STRING, minLength: 1 },
        system: { type: apigw.JsonSchemaType.STRING },
        maxTokens: { type: apigw.JsonSchemaType.INTEGER, minimum: 1 },
        temperature: { type: apigw.JsonSchemaType.NUMBER, minimum: 0, maximum: 1 },
      },
    },
  });
  return {
    requestValidator: api.addRequestValidator('Body', { validateRequestBody: true, validateRequestParameters: true }),
    requestModels: { 'application/json': body },
  };
}
