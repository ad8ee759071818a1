// Assertions on the synthesized stacks of this project, with placeholder zips standing in for
// `make build`. The same tests run in every generated combination, so "present exactly when
// the strategy is" is checked against the service folders this project has.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, discoverStrategies } from '../lib/app.js';
import { loadProject, parseOrigins, PROJECT_ROOT, Project } from '../lib/project.js';
import { Strategy } from '../lib/strategy.js';

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

const SERVICES = { websocket: 'realtime-ws', sse: 'stream-sse', rest: 'sync-api' } as const;
const has = (service: string) => existsSync(path.join(PROJECT_ROOT, 'services', service, 'Cargo.toml'));

let project: Project;
let strategies: Strategy[];
let templates: Map<string, Template>;

function template(part: string): Template {
  const found = templates.get(`${project.name}-${project.stage}-${part}`);
  if (!found) throw new Error(`no stack ${part}`);
  return found;
}

/** Every resource of `type` in every stack (logical ids repeat across stacks). */
function resources(type: string): Resource[] {
  return [...templates.values()].flatMap((t) => Object.values(t.findResources(type)) as Resource[]);
}

/** Where the synthesized stacks and the placeholder zips go; removed after the tests. */
let scratch: string;

/** The settings a deploy of these tests' stage gives. */
function settings(): Record<string, string> {
  return {
    STAGE: 'test',
    OWNER: 'dev@example.com',
    LAMBDA_DIR: path.join(scratch, 'lambda'),
    ALLOWED_ORIGINS: 'http://localhost:5173, https://app.example.com/',
    ALERT_EMAIL: 'ops@example.com',
    BUDGET_USD: '20',
  };
}

/** Every stack of the app built with `env`, by stack name. */
function synthesize(env: Record<string, string>): Map<string, Template> {
  const app = buildApp(loadProject(env), strategies, { outdir: mkdtempSync(path.join(scratch, 'cdk.out-')) });
  return new Map(
    app.node.children.filter((c): c is Stack => c instanceof Stack).map((s) => [s.stackName, Template.fromStack(s)]),
  );
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'stacks-test-'));
  for (const service of Object.values(SERVICES)) {
    mkdirSync(path.join(scratch, 'lambda', service), { recursive: true });
    writeFileSync(path.join(scratch, 'lambda', service, 'bootstrap.zip'), 'placeholder');
  }
  project = loadProject(settings());
  strategies = await discoverStrategies();
  templates = synthesize(settings());
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The statements of every IAM policy, one list per policy. */
function statements(): Statement[][] {
  return resources('AWS::IAM::Policy').map((p) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actions = (statement: Statement) => ([] as string[]).concat(statement.Action);

describe('least privilege', () => {
  const scoped = /^(bedrock|execute-api|ssm):/;

  it('grants no bedrock, execute-api or ssm action on Resource "*"', () => {
    let checked = 0;
    for (const statement of statements().flat()) {
      if (!actions(statement).some((a) => scoped.test(a))) continue;
      checked += 1;
      expect(([] as unknown[]).concat(statement.Resource), JSON.stringify(statement)).not.toContain('*');
    }
    // Every function has a Bedrock and an SSM statement.
    expect(checked).toBeGreaterThanOrEqual(2 * Object.values(SERVICES).filter(has).length);
  });

  it("grants Bedrock on the model's profile, and on its foundation model through that profile only", () => {
    const profile = /^(us|us-gov|eu|apac|jp|au|ca|global)\./.exec(project.modelId);
    const base = project.modelId.slice(profile?.[0].length ?? 0);
    const policies = statements()
      .map((policy) => policy.filter((s) => actions(s).some((a) => a.startsWith('bedrock:'))))
      .filter((bedrock) => bedrock.length > 0);
    expect(policies).toHaveLength(Object.values(SERVICES).filter(has).length);
    for (const bedrock of policies) {
      for (const statement of bedrock) expect(statement.Action).toBe('bedrock:InvokeModelWithResponseStream');
      const text = (s: Statement) => JSON.stringify(s.Resource);
      if (project.modelId.startsWith('arn:')) {
        expect(bedrock.map((s) => s.Resource)).toEqual([project.modelId]);
        continue;
      }
      if (!profile) {
        expect(bedrock).toHaveLength(1);
        expect(text(bedrock[0])).toContain(`:bedrock:${project.region}::foundation-model/${base}`);
        expect(bedrock[0].Condition).toBeUndefined();
        continue;
      }
      // The profile itself, unconditionally; the foundation model in any region (a new
      // destination region included) only when the request comes through that profile.
      expect(bedrock).toHaveLength(2);
      const invoked = bedrock.find((s) => text(s).includes(`:inference-profile/${project.modelId}`));
      expect(invoked, JSON.stringify(bedrock)).toBeDefined();
      expect(invoked!.Condition).toBeUndefined();
      const foundation = bedrock.find((s) => text(s).includes(`:bedrock:*::foundation-model/${base}`));
      expect(foundation, JSON.stringify(bedrock)).toBeDefined();
      expect(foundation!.Condition).toEqual({ StringEquals: { 'bedrock:InferenceProfileArn': invoked!.Resource } });
      for (const statement of bedrock.filter((s) => text(s).includes('foundation-model/'))) {
        expect(statement.Condition, JSON.stringify(statement)).toEqual(foundation!.Condition);
      }
    }
  });

  it('caps concurrency and keeps logs two weeks for every function', () => {
    const functions = resources('AWS::Lambda::Function');
    // The WebSocket strategy runs as two functions (a connection and a generation function).
    expect(functions).toHaveLength(Object.values(SERVICES).filter(has).length + Number(has(SERVICES.websocket)));
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'provided.al2023',
        Architectures: [project.arch],
        LoggingConfig: { LogFormat: 'JSON' },
      });
      // The WebSocket routes' function calls no model; the cap it would share with the
      // generations would let ten answers throttle every new connection.
      const routesOnly = fn.Properties?.FunctionName === `${project.name}-test-${SERVICES.websocket}`;
      expect(fn.Properties?.ReservedConcurrentExecutions).toBe(routesOnly ? undefined : project.reservedConcurrency);
    }
    for (const group of resources('AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBe(14);
    }
  });
});

describe('strategies', () => {
  it('has each strategy stack exactly when the project has its service', () => {
    for (const service of Object.values(SERVICES)) {
      expect(templates.has(`${project.name}-${project.stage}-${service}`), service).toBe(has(service));
    }
  });

  it.runIf(has(SERVICES.sse))('sse: Function URL with AWS_IAM auth and RESPONSE_STREAM', () => {
    template(SERVICES.sse).hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
  });

  it.runIf(has(SERVICES.websocket))('websocket: routes, throttled stage', () => {
    const ws = template(SERVICES.websocket);
    ws.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
    const keys = Object.values(ws.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
    expect(keys.sort()).toEqual(['$connect', '$default', '$disconnect', 'generate']);
    ws.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it.runIf(has(SERVICES.websocket))('websocket: routes answered at once, generations started asynchronously, never retried', () => {
    const ws = template(SERVICES.websocket);
    const functions = ws.findResources('AWS::Lambda::Function');
    const named = (name: string) => {
      const found = Object.entries(functions).find(([, f]) => f.Properties.FunctionName === `${project.name}-test-${name}`);
      if (!found) throw new Error(`no function ${name}`);
      return { id: found[0], properties: found[1].Properties };
    };
    const routes = named(SERVICES.websocket);
    const generations = named(`${SERVICES.websocket}-generate`);
    // Every route is a synchronous call of the routes' function: no invocation-type header,
    // which AWS documents for REST non-proxy integrations only.
    for (const integration of Object.values(ws.findResources('AWS::ApiGatewayV2::Integration'))) {
      expect(integration.Properties.RequestParameters).toBeUndefined();
      expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(routes.id);
    }
    expect(routes.properties.Timeout).toBeLessThanOrEqual(29);
    expect(generations.properties.Timeout).toBe(300);
    expect(routes.properties.Environment.Variables.GENERATE_FUNCTION).toBe(generations.properties.FunctionName);
    // 0 retries (a retry would post the answer again from seq 0), a short queue, and the
    // record of a failure to the routes' function, which tells the client.
    ws.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    ws.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: generations.id },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
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
    const generatorArn = `:function:${project.name}-test-${SERVICES.websocket}-generate`;
    const fromRoutes = invokes.find(({ roles }) => roles.includes(routes.properties.Role['Fn::GetAtt'][0]));
    expect(JSON.stringify(fromRoutes?.statement.Resource)).toContain(generatorArn);
    const fromGenerations = invokes.find(({ roles }) => roles.includes(generations.properties.Role['Fn::GetAtt'][0]));
    expect(fromGenerations?.statement.Resource).toEqual({ 'Fn::GetAtt': [routes.id, 'Arn'] });
  });

  it.runIf(has(SERVICES.rest))('rest: POST /generate validated, throttled, access-logged, errors in protocol shape', () => {
    const rest = template(SERVICES.rest);
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
});

describe('cdn', () => {
  it('keeps the bucket private and TLS-only', () => {
    const cdn = template('cdn');
    cdn.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    cdn.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('serves the PROTOCOL.md path of each strategy present, and only those', () => {
    const distribution = Object.values(template('cdn').findResources('AWS::CloudFront::Distribution'))[0];
    const config = distribution.Properties.DistributionConfig;
    const patterns = (config.CacheBehaviors ?? []).map((b: { PathPattern: string }) => b.PathPattern).sort();
    const expected = [
      ...(has(SERVICES.rest) ? ['/api/*'] : []),
      ...(has(SERVICES.sse) ? ['/sse', '/sse/*'] : []),
      ...(has(SERVICES.websocket) ? ['/ws', '/ws/*'] : []),
    ].sort();
    expect(patterns).toEqual(expected);
    expect(config.DefaultRootObject).toBe('index.html');
    // /config.json and the app come from the bucket; each strategy's origin is the endpoint
    // its stack published in SSM, read when the CDN deploys.
    const origins = new Map(config.Origins.map((o: { Id: string }) => [o.Id, o]));
    expect(origins.get(config.DefaultCacheBehavior.TargetOriginId)).toHaveProperty('S3OriginConfig');
    const published = Object.values(template('cdn').toJSON().Parameters ?? {}).map((p) => (p as { Default?: string }).Default);
    const keys = { 'realtime-ws': 'websocket/domain', 'stream-sse': 'sse/url', 'sync-api': 'rest/domain' };
    for (const [service, key] of Object.entries(keys)) {
      expect(published.includes(`/${project.name}/test/deploy/${key}`), key).toBe(has(service));
    }
    // Every behavior runs the router (stage rewrites, 404 for absent strategies, / to index.html)
    // except SSE, whose Function URL answers on any path.
    for (const behavior of [config.DefaultCacheBehavior, ...(config.CacheBehaviors ?? [])]) {
      const routed = (behavior.FunctionAssociations ?? []).length > 0;
      expect(routed, behavior.PathPattern ?? 'default').toBe(!String(behavior.PathPattern).startsWith('/sse'));
    }
  });

  it.runIf(has(SERVICES.sse))('reaches the Function URL through OAC, invoke permissions scoped to the distribution', () => {
    const cdn = template('cdn');
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
    const sse = Object.values(template('cdn').findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig.CacheBehaviors.find(
      (b: { PathPattern: string }) => b.PathPattern === '/sse',
    );
    expect(sse.Compress).toBe(false);
  });

  it.runIf(has(SERVICES.websocket))('forwards the WebSocket handshake headers', () => {
    template('cdn').hasResourceProperties('AWS::CloudFront::OriginRequestPolicy', {
      OriginRequestPolicyConfig: Match.objectLike({
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: Match.arrayWith(['Sec-WebSocket-Key', 'Sec-WebSocket-Version']) },
      }),
    });
  });

  it('sends security headers and publishes the allowed origin for the services', () => {
    const cdn = template('cdn');
    cdn.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: Match.objectLike({ ContentSecurityPolicy: Match.stringLikeRegexp("default-src 'self'") }),
          StrictTransportSecurity: Match.objectLike({ AccessControlMaxAgeSec: 63072000 }),
        }),
      }),
    });
    cdn.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/${project.name}/test/config/allowed-origins`,
      Value: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(',http://localhost:5173,https://app.example.com$')])],
      },
    });
  });

  it('takes ALLOWED_ORIGINS as origins only, so a typo fails the synth', () => {
    expect(parseOrigins(undefined)).toEqual([]);
    expect(parseOrigins(' http://localhost:5173 ,')).toEqual(['http://localhost:5173']);
    for (const wrong of ['*', 'localhost:5173', 'https://app.example.com/path', 'https://*.example.com']) {
      expect(() => parseOrigins(wrong), wrong).toThrow(/ALLOWED_ORIGINS entry/);
    }
  });
});

describe('origin secret', () => {
  const name = () => `/${project.name}/test/deploy/origin/secret`;
  /** The template's parameter that CloudFormation fills from the SSM parameter `name()`. */
  const ssmParameter = (t: Template) =>
    Object.entries(t.toJSON().Parameters ?? {}).find(([, p]) => (p as { Default?: string }).Default === name())?.[0];

  it('reaches the WebSocket and REST functions from SSM when they deploy, not the SSE one', () => {
    for (const service of Object.values(SERVICES).filter(has)) {
      const t = template(service);
      const fn = Object.values(t.findResources('AWS::Lambda::Function'))[0] as Resource;
      const variables = ((fn.Properties?.Environment ?? {}) as { Variables: Record<string, unknown> }).Variables;
      if (service === SERVICES.sse) {
        // The Function URL takes only what CloudFront signed (AWS_IAM).
        expect(variables.ORIGIN_SECRET, service).toBeUndefined();
        continue;
      }
      const parameter = ssmParameter(t);
      expect(parameter, service).toBeDefined();
      expect(t.toJSON().Parameters[parameter!].Type).toBe('AWS::SSM::Parameter::Value<String>');
      expect(variables.ORIGIN_SECRET, service).toEqual({ Ref: parameter });
    }
  });

  it('is sent by CloudFront to the WebSocket and REST origins only, the first value', () => {
    const cdn = template('cdn');
    const config = Object.values(cdn.findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig;
    const behaviors = new Map<string, string>((config.CacheBehaviors ?? []).map((b: { PathPattern: string; TargetOriginId: string }) => [b.PathPattern, b.TargetOriginId]));
    const checked = new Set([behaviors.get('/ws'), behaviors.get('/api/*')].filter(Boolean));
    expect(checked.size).toBe([SERVICES.websocket, SERVICES.rest].filter(has).length);
    const parameter = ssmParameter(cdn);
    for (const origin of config.Origins as { Id: string; OriginCustomHeaders?: unknown }[]) {
      if (checked.has(origin.Id)) {
        expect(origin.OriginCustomHeaders, origin.Id).toEqual([
          { HeaderName: 'x-origin-verify', HeaderValue: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: parameter }] }] } },
        ]);
      } else {
        expect(origin.OriginCustomHeaders, origin.Id).toBeUndefined();
      }
    }
  });
});

describe('waf', () => {
  it('uses the web ACL whose ARN infra/waf.py published in SSM, none when it published `none`', () => {
    const cdn = template('cdn').toJSON();
    const parameters = cdn.Parameters as Record<string, { Type: string; Default?: string }>;
    const [name, parameter] = Object.entries(parameters).find(([, p]) => p.Default === `/${project.name}/test/deploy/waf/acl-arn`)!;
    expect(parameter.Type).toBe('AWS::SSM::Parameter::Value<String>');
    const config = Object.values(template('cdn').findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig;
    const [condition, then, otherwise] = config.WebACLId['Fn::If'];
    expect([then, otherwise]).toEqual([{ Ref: name }, { Ref: 'AWS::NoValue' }]);
    expect(cdn.Conditions[condition]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: name }, 'none'] }] });
  });
});

describe('alarms', () => {
  const alertsTopic = Match.objectLike({ Ref: Match.stringLikeRegexp('alertstopicarn') });
  const alarms = () => resources('AWS::CloudWatch::Alarm').map((a) => a.Properties as Record<string, unknown>);

  it('mails ALERT_EMAIL from one topic per stage, published for the other stacks', () => {
    const config = template('config');
    config.hasResourceProperties('AWS::SNS::Topic', { TopicName: `${project.name}-test-alerts` });
    config.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    config.hasResourceProperties('AWS::SSM::Parameter', { Name: `/${project.name}/test/deploy/alerts/topic-arn` });
  });

  it('keeps a monthly budget of BUDGET_USD that mails at 80 % spent and at a forecast over it', () => {
    template('config').hasResourceProperties('AWS::Budgets::Budget', {
      Budget: Match.objectLike({ BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 20, Unit: 'USD' } }),
      NotificationsWithSubscribers: [
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 80 }) }),
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'FORECASTED', Threshold: 100 }) }),
      ],
    });
    expect(() => loadProject({ BUDGET_USD: '20' })).toThrow(/needs ALERT_EMAIL/);
    expect(() => loadProject({ BUDGET_USD: 'lots', ALERT_EMAIL: 'ops@example.com' })).toThrow(/BUDGET_USD/);
    expect(() => loadProject({ ALERT_EMAIL: 'a@b.c, d@e.f' })).toThrow(/one email address/);
  });

  it('alarms on every function error and throttle, and on each gateway failing, to the topic', () => {
    for (const service of Object.values(SERVICES).filter(has)) {
      for (const metric of ['Errors', 'Throttles']) {
        template(service).hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: `${project.name}-test-${service}-${metric.toLowerCase()}`,
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Threshold: 1,
          AlarmActions: [alertsTopic],
        });
      }
    }
    const gateways = { 'realtime-ws': 'ExecutionError', 'stream-sse': 'Url5xxCount', 'sync-api': '5XXError' } as const;
    for (const [service, metric] of Object.entries(gateways).filter(([s]) => has(s))) {
      template(service).hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metric, AlarmActions: [alertsTopic] });
    }
    expect(alarms().every((a) => a.TreatMissingData === 'notBreaching')).toBe(true);
  });
});

describe('cdk-nag', () => {
  // `cdk synth` fails on an unacknowledged error only; a warning would pass it silently.
  it('leaves no AwsSolutions finding unacknowledged, error or warning', () => {
    const outdir = mkdtempSync(path.join(scratch, 'cdk.out-'));
    const assembly = buildApp(project, strategies, { outdir }).synth();
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const open = report.pluginReports.flatMap((plugin) =>
      plugin.violations.map((v) => `${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`),
    );
    expect(report.pluginReports.length).toBeGreaterThan(0);
    expect(open).toEqual([]);
  });
});

describe('tags', () => {
  it('tags every stack with project, stage and owner', () => {
    for (const t of templates.values()) {
      const roles = Object.values(t.findResources('AWS::IAM::Role'));
      for (const role of roles) {
        expect(role.Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'Owner', Value: 'dev@example.com' },
            { Key: 'project', Value: project.name },
            { Key: 'stage', Value: 'test' },
          ]),
        );
      }
    }
  });
});
