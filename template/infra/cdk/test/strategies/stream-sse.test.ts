// The SSE strategy (lib/strategies/stream-sse.ts): its Function URL and its path on the CDN. A
// project has this file exactly when it has services/stream-sse; what every strategy does is
// tested in ../stacks.test.ts.
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertsTopic, Synth } from '../synth.js';

const service = 'stream-sse';

const synth = new Synth();
beforeAll(() => synth.load());
afterAll(() => synth.cleanup());

describe('sse', () => {
  it('Function URL with AWS_IAM auth and RESPONSE_STREAM', () => {
    synth.template(service).hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
  });

  it('alarms when the Function URL answers 5XX', () => {
    synth.template(service).hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Url5xxCount', AlarmActions: [alertsTopic] });
  });
});

describe('sse on the cdn', () => {
  it('serves /sse and /sse/* from the Function URL its stack published, without the router', () => {
    const behaviors = synth.behaviors(service);
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(['/sse', '/sse/*']);
    const url = synth.readParameter('cdn', 'sse/url');
    expect(url).toBeDefined();
    expect(synth.origins(service).map((o) => o.DomainName)).toEqual([{ 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: url }] }] }]);
    // The Function URL answers on any path: nothing to rewrite.
    for (const behavior of behaviors) expect(behavior.FunctionAssociations, behavior.PathPattern).toBeUndefined();
  });

  it('reaches the Function URL through OAC, invoke permissions scoped to the distribution', () => {
    const cdn = synth.template('cdn');
    cdn.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ OriginAccessControlOriginType: 'lambda', SigningBehavior: 'always' }),
    });
    for (const action of ['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction']) {
      cdn.hasResourceProperties('AWS::Lambda::Permission', {
        Action: action,
        Principal: 'cloudfront.amazonaws.com',
        SourceArn: Match.anyValue(),
      });
    }
    // Compression would buffer the stream.
    for (const behavior of synth.behaviors(service)) expect(behavior.Compress, behavior.PathPattern).toBe(false);
  });

  it('takes no origin secret: the Function URL takes only what CloudFront signed (AWS_IAM)', () => {
    synth.expectOriginSecret(service, false);
  });
});
