// What PROTOCOL.md asks of every REST API of the project, whichever strategy's: API Gateway's
// own errors (throttling, a body that fails validation, a timeout) in the protocol's error
// shape, and the request body checked before the function runs. Kept here so that the APIs
// cannot drift apart.
import * as apigw from 'aws-cdk-lib/aws-apigateway';

/** Gateway errors in PROTOCOL.md's shape: { "error": { message, code, statusCode } }. */
const GATEWAY_ERRORS: [apigw.ResponseType, string, string][] = [
  [apigw.ResponseType.BAD_REQUEST_BODY, '400', 'BAD_REQUEST'],
  [apigw.ResponseType.REQUEST_TOO_LARGE, '413', 'PAYLOAD_TOO_LARGE'],
  [apigw.ResponseType.THROTTLED, '429', 'THROTTLED'],
  [apigw.ResponseType.INTEGRATION_TIMEOUT, '504', 'TIMEOUT'],
  [apigw.ResponseType.DEFAULT_5XX, '500', 'INTERNAL_ERROR'],
];

/** Answers API Gateway's own errors in the protocol's shape instead of its `{"message"}`. */
export function protocolErrors(api: apigw.RestApi): void {
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
