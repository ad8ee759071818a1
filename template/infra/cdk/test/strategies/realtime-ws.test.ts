// The WebSocket strategy (lib/strategies/realtime-ws.ts): its API, its two functions and its
// path on the CDN. A project has this file exactly when it has services/realtime-ws; what
// every strategy does is tested in ../stacks.test.ts.
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions, alertsTopic, Synth, type Statement } from '../synth.js';

const service = 'realtime-ws';

const synth = new Synth();
beforeAll(() => synth.load());
afterAll(() => synth.cleanup());

describe('websocket', () => {
  it('routes, throttled stage', () => {
    const ws = synth.template(service);
    ws.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const keys = Object.values(ws.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(['$connect', '$default', '$disconnect', 'generate']);
    ws.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('routes answered at once, generations started asynchronously, failures told to the client', () => {
    const ws = synth.template(service);
    const worker = synth.project.services[service].worker;
    expect(worker, 'services/realtime-ws declares its generation function').toBeDefined();
    const routes = synth.lambda(service, service);
    const generations = synth.lambda(service, worker!.function);
    // Every route is a synchronous call of the routes' function: no invocation-type header,
    // which AWS documents for REST non-proxy integrations only.
    for (const integration of Object.values(ws.findResources('AWS::ApiGatewayV2::Integration'))) {
      expect(integration.Properties.RequestParameters).toBeUndefined();
      expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(routes.id);
    }
    // API Gateway stops waiting for a route's answer at 29 s.
    expect(routes.properties.Timeout).toBeLessThanOrEqual(29);
    // Retries and queue age as the service declares them (../stacks.test.ts); the record of a
    // failure goes to the routes' function, which tells the client.
    ws.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    ws.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: generations.id },
      Qualifier: '$LATEST',
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [routes.id, 'Arn'] } } },
    });
    // lambda:InvokeFunction: the routes' function on the generation function alone, and the
    // generation function (sending its failure records) on the routes' function alone.
    const invokes = Object.values(ws.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => actions(s).some((a) => a.startsWith('lambda:')))
        .map((s) => ({ roles: JSON.stringify(policy.Properties.Roles), statement: s })),
    );
    expect(invokes).toHaveLength(2);
    for (const { statement } of invokes) {
      expect(statement.Action).toBe('lambda:InvokeFunction');
      expect(([] as unknown[]).concat(statement.Resource)).toHaveLength(1);
    }
    const generatorArn = `:function:${synth.project.name}-test-${worker!.function}`;
    const fromRoutes = invokes.find(({ roles }) => roles.includes(routes.properties.Role['Fn::GetAtt'][0]));
    expect(JSON.stringify(fromRoutes?.statement.Resource)).toContain(generatorArn);
    const fromGenerations = invokes.find(({ roles }) => roles.includes(generations.properties.Role['Fn::GetAtt'][0]));
    expect(fromGenerations?.statement.Resource).toEqual({ 'Fn::GetAtt': [routes.id, 'Arn'] });
  });

  it('a ledger table the generation function may only put to, named in its declared variable', () => {
    const ws = synth.template(service);
    const worker = synth.project.services[service].worker!;
    const generations = synth.lambda(service, worker.function);
    const tables = Object.entries(ws.findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(1);
    const [id, table] = tables[0];
    // On-demand, records expire, deleted with the stack.
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.KeySchema).toEqual([{ AttributeName: 'generationId', KeyType: 'HASH' }]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.DeletionPolicy).toBe('Delete');
    expect(generations.properties.Environment?.Variables[worker['ledger-env']]).toEqual({ Ref: id });
    // Only the generation function's role reaches the table, with PutItem on it alone.
    const grants = Object.values(ws.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => actions(s).some((a) => a.startsWith('dynamodb:')))
        .map((s) => ({ roles: JSON.stringify(policy.Properties.Roles), statement: s })),
    );
    expect(grants).toHaveLength(1);
    expect(grants[0].roles).toContain(generations.properties.Role['Fn::GetAtt'][0]);
    expect(grants[0].statement.Action).toBe('dynamodb:PutItem');
    expect(grants[0].statement.Resource).toEqual({ 'Fn::GetAtt': [id, 'Arn'] });
  });

  it('alarms when the API fails to call its function', () => {
    synth.template(service).hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionError', AlarmActions: [alertsTopic] });
  });
});

describe('websocket on the cdn', () => {
  it('serves /ws and /ws/* from the API domain its stack published, through the router', () => {
    const behaviors = synth.behaviors(service);
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(['/ws', '/ws/*']);
    const domain = synth.readParameter('cdn', 'websocket/domain');
    expect(domain).toBeDefined();
    expect(synth.origins(service).map((o) => o.DomainName)).toEqual([{ Ref: domain }]);
    // /ws is the stage root on the API: the router rewrites it to /<stage>.
    for (const behavior of behaviors) expect(behavior.FunctionAssociations, behavior.PathPattern).toHaveLength(1);
  });

  it('forwards the WebSocket handshake headers', () => {
    synth.template('cdn').hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: Match.arrayWith(['Sec-WebSocket-Key', 'Sec-WebSocket-Version']) },
      }),
    });
  });

  it('answers only requests through the CDN: the origin secret from SSM, sent by CloudFront', () => {
    synth.expectOriginSecret(service, true);
  });
});
