// The REST streaming strategy (lib/strategies/stream-rest.ts): its API, whose integration
// streams, and its path on the CDN. A project has this file exactly when it has
// services/stream-rest; what every strategy does is tested in ../stacks.test.ts.
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routerCode } from '../../lib/cdn-stack.js';
import { routerRule } from '../../lib/project.js';
import { alertsTopic, samplePseudo, Synth, type Behavior, type Origin } from '../synth.js';

const service = 'stream-rest';

const synth = new Synth();
beforeAll(() => synth.load());
afterAll(() => synth.cleanup());

interface Method {
  HttpMethod: string;
  ResourceId: unknown;
  RequestValidatorId?: unknown;
  Integration: { Type: string; Uri: unknown; ResponseTransferMode?: string; TimeoutInMillis?: number };
}

/** The API's methods. */
const methods = () => Object.values(synth.template(service).findResources('AWS::ApiGateway::Method')).map((m) => m.Properties as Method);

/** The logical id of the API's one RestApi. */
const apiId = () => {
  const apis = Object.keys(synth.template(service).findResources('AWS::ApiGateway::RestApi'));
  expect(apis).toHaveLength(1);
  return apis[0];
};

/** The ResourceId a method on `path` of the API has: the root's, or a Resource's under it. */
function resourceId(path: string): unknown {
  let id: unknown = { 'Fn::GetAtt': [apiId(), 'RootResourceId'] };
  const resources = Object.entries(synth.template(service).findResources('AWS::ApiGateway::Resource'));
  for (const part of path.split('/').filter(Boolean)) {
    const found = resources.find(([, r]) => r.Properties.PathPart === part && JSON.stringify(r.Properties.ParentId) === JSON.stringify(id));
    if (!found) throw new Error(`the API has no resource ${path}`);
    id = { Ref: found[0] };
  }
  return id;
}

describe('rest-stream', () => {
  it('records X-Ray traces only when the stage asks (TRACING=on)', () => {
    synth.template(service).hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    const traced = synth.synthesize({ ...synth.settings(), TRACING: 'on' });
    const stack = [...traced.entries()].find(([name]) => name.endsWith(`-${service}`))?.[1];
    expect(stack, 'the REST streaming stack').toBeDefined();
    stack!.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
  });

  it('streams: every method invokes the function with response streaming, as long as it may run', () => {
    const { id } = synth.lambda(service, service);
    const declared = synth.project.services[service];
    const found = methods();
    expect(found.map((m) => m.HttpMethod).sort()).toEqual(['OPTIONS', 'POST']);
    for (const { HttpMethod, Integration } of found) {
      // A buffered integration would hold every event until the answer ends; STREAM with the
      // InvokeWithResponseStream URI is the pair AWS supports (response-transfer-mode-lambda.html).
      expect(Integration.Type, HttpMethod).toBe('AWS_PROXY');
      expect(Integration.ResponseTransferMode, HttpMethod).toBe('STREAM');
      expect(Integration.Uri, HttpMethod).toEqual({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':apigateway:',
            { Ref: 'AWS::Region' },
            ':lambda:path/2021-11-15/functions/',
            { 'Fn::GetAtt': [id, 'Arn'] },
            '/response-streaming-invocations',
          ],
        ],
      });
      // The gateway waits as long as the function may run, its declared timeout.
      expect(Integration.TimeoutInMillis, HttpMethod).toBe(declared['timeout-seconds'] * 1000);
    }
  });

  it("answers POST where the CDN's router sends the route, body validated", () => {
    const { project } = synth;
    const rule = routerRule(project, service);
    expect(rule, `services/${service} declares a cdn rule`).toBeDefined();
    const handler = new Function(`${routerCode(project.stage, [rule!])}\nreturn handler;`)() as (event: { request: { uri: string } }) => { uri?: string };
    const asked = handler({ request: { uri: project.services[service].route } }).uri;
    const stage = `/${project.stage}`;
    expect(asked === stage || asked?.startsWith(`${stage}/`), `the router sends ${project.services[service].route} to ${asked}`).toBe(true);
    const at = resourceId(asked!.slice(stage.length) || '/');
    const post = methods().find((m) => m.HttpMethod === 'POST');
    expect(post?.ResourceId).toEqual(at);
    expect(post?.RequestValidatorId).toBeDefined();
    synth.template(service).hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    // The function answers CORS preflights (a browser sends them without credentials).
    synth.template(service).hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS', AuthorizationType: 'NONE', ResourceId: at });
  });

  it('Regional, throttled, access-logged, uncached, uncompressed, errors in protocol shape', () => {
    const api = synth.template(service);
    // An edge-optimized endpoint would end a stream after 30 s without a byte.
    api.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    // Caching and compression need the whole response, which a stream never has.
    for (const rest of Object.values(api.findResources('AWS::ApiGateway::RestApi'))) {
      expect(rest.Properties.MinimumCompressionSize).toBeUndefined();
    }
    for (const stage of Object.values(api.findResources('AWS::ApiGateway::Stage'))) {
      expect(stage.Properties.CacheClusterEnabled ?? false).toBe(false);
      for (const setting of stage.Properties.MethodSettings ?? []) expect(setting.CachingEnabled ?? false).toBe(false);
    }
    api.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: Match.anyValue() })]),
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    for (const [type, code] of [
      ['THROTTLED', 'THROTTLED'],
      ['BAD_REQUEST_BODY', 'BAD_REQUEST'],
      ['INTEGRATION_TIMEOUT', 'TIMEOUT'],
    ]) {
      api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp(`"code": "${code}"`) },
      });
    }
  });

  it('lets API Gateway invoke the function for its own methods only', () => {
    const { id } = synth.lambda(service, service);
    const template = synth.template(service);
    const stages = Object.keys(template.findResources('AWS::ApiGateway::Stage'));
    expect(stages).toHaveLength(1);
    // The source ARN as it reads once deployed, the API and its stage named.
    const named = { ...samplePseudo(synth.project.region), [apiId()]: '<api>', [stages[0]]: '<stage>' };
    const sourceArn = (value: unknown) => {
      const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      return parts.map((p) => (typeof p === 'string' ? p : (named[(p as { Ref: string }).Ref] ?? JSON.stringify(p)))).join(separator);
    };
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => p.Properties);
    for (const permission of permissions) {
      expect(permission.FunctionName).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
      expect(permission.Principal).toBe('apigateway.amazonaws.com');
      // InvokeWithResponseStream needs lambda:InvokeFunction
      // (https://docs.aws.amazon.com/lambda/latest/dg/API_InvokeWithResponseStream.html).
      expect(permission.Action).toBe('lambda:InvokeFunction');
    }
    // Each of this API's methods on its stage (and the console's test invocations of them),
    // never another API, stage or method.
    const api = `arn:${named['AWS::Partition']}:execute-api:${synth.project.region}:${named['AWS::AccountId']}:<api>`;
    expect(permissions.map((p) => sourceArn(p.SourceArn)).sort()).toEqual(
      ['<stage>', 'test-invoke-stage'].flatMap((stage) => ['OPTIONS', 'POST'].map((method) => `${api}/${stage}/${method}/`)).sort(),
    );
  });

  it('alarms when the API answers 5XX', () => {
    synth.template(service).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
      AlarmActions: [alertsTopic],
    });
  });
});

describe('rest-stream on the cdn', () => {
  /** A behavior and an origin with what this strategy sets on them. */
  type StreamBehavior = Behavior & { CachePolicyId?: string; OriginRequestPolicyId?: string; AllowedMethods?: string[] };
  type StreamOrigin = Origin & { CustomOriginConfig?: { OriginReadTimeout?: number; OriginProtocolPolicy?: string }; ResponseCompletionTimeout?: number };

  it('serves the route from the API domain its stack published, through the router', () => {
    const { route } = synth.project.services[service];
    const behaviors = synth.behaviors(service);
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual([route, `${route}/*`]);
    const domain = synth.readParameter('cdn', `${synth.project.services[service].strategy}/domain`);
    expect(domain).toBeDefined();
    expect(synth.origins(service).map((o) => o.DomainName)).toEqual([{ Ref: domain }]);
    // The route is the stage's root on the API: the router rewrites it.
    for (const behavior of behaviors) expect(behavior.FunctionAssociations, behavior.PathPattern).toHaveLength(1);
  });

  it('passes the stream on as it comes: no caching, no compression, POST and preflights forwarded', () => {
    for (const behavior of synth.behaviors(service) as StreamBehavior[]) {
      expect(behavior.CachePolicyId, behavior.PathPattern).toBe(cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId);
      // Compression would buffer the stream.
      expect(behavior.Compress, behavior.PathPattern).toBe(false);
      expect(behavior.AllowedMethods, behavior.PathPattern).toEqual(expect.arrayContaining(['POST', 'OPTIONS']));
      // The Origin header (CORS) and the body's content type reach the function; Host stays the API's.
      expect(behavior.OriginRequestPolicyId, behavior.PathPattern).toBe(cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId);
    }
  });

  it('keeps a stream open past any single timeout, and fails a silent origin in 30 s', () => {
    for (const origin of synth.origins(service) as StreamOrigin[]) {
      // The response timeout is per gap between bytes: the service's keep-alive (10 s) resets it.
      expect(origin.CustomOriginConfig, origin.Id).toMatchObject({ OriginReadTimeout: 30, OriginProtocolPolicy: 'https-only' });
      // No cap on the whole response: the function's timeout ends a stream that runs too long.
      expect(origin.ResponseCompletionTimeout, origin.Id).toBeUndefined();
    }
  });

  it('answers only requests through the CDN: the origin secret from SSM, sent by CloudFront', () => {
    synth.expectOriginSecret(service, true);
  });
});
