// The REST strategy (lib/strategies/sync-api.ts): its API and its path on the CDN. A project
// has this file exactly when it has services/sync-api; what every strategy does is tested in
// ../stacks.test.ts.
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsTopic, Synth } from '../synth.js';

const service = 'sync-api';

const synth = new Synth();
beforeAll(() => synth.load());
afterAll(() => synth.cleanup());

describe('rest', () => {
  it('records X-Ray traces only when the stage asks (TRACING=on)', () => {
    synth.template(service).hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: false });
    const traced = synth.synthesize({ ...synth.settings(), TRACING: 'on' });
    const stack = [...traced.entries()].find(([name]) => name.endsWith(`-${service}`))?.[1];
    expect(stack, 'the REST stack').toBeDefined();
    stack!.hasResourceProperties('AWS::ApiGateway::Stage', { TracingEnabled: true });
  });

  it('POST /generate validated, throttled, access-logged, errors in protocol shape', () => {
    const rest = synth.template(service);
    rest.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'generate' });
    rest.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', RequestValidatorId: Match.anyValue() });
    // The function answers CORS preflights (a browser sends them without credentials).
    rest.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'OPTIONS',
      AuthorizationType: 'NONE',
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
    rest.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: Match.anyValue() })]),
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    rest.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"code": "THROTTLED"') },
    });
  });

  it('alarms when the API answers 5XX', () => {
    synth.template(service).hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5XXError', AlarmActions: [alertsTopic] });
  });
});

describe('rest on the cdn', () => {
  it('serves /api/* from the API domain its stack published, through the router', () => {
    const behaviors = synth.behaviors(service);
    expect(behaviors.map((b) => b.PathPattern)).toEqual(['/api/*']);
    const domain = synth.readParameter('cdn', 'rest/domain');
    expect(domain).toBeDefined();
    expect(synth.origins(service).map((o) => o.DomainName)).toEqual([{ Ref: domain }]);
    // /api/generate is /<stage>/generate on the API: the router rewrites it.
    for (const behavior of behaviors) expect(behavior.FunctionAssociations, behavior.PathPattern).toHaveLength(1);
  });

  it('answers only requests through the CDN: the origin secret from SSM, sent by CloudFront', () => {
    synth.expectOriginSecret(service, true);
  });
});
