// Assertions on the synthesized stacks of this project (test/synth.ts) that hold whichever
// strategies it has. The same tests run in every generated combination, so what they expect
// is derived from the strategies present (lib/app.ts discovers them) and from their service
// manifests; what one strategy alone does is tested in its own file under test/strategies/,
// which a project has exactly when it has the strategy.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../lib/app.js';
import { deployPath, loadProject, PROJECT_ROOT, resourceName, routerRule } from '../lib/project.js';
import { actions, alertsTopic, applies, conditionKeys, resolve, samplePseudo, Synth, type Request, type Statement } from './synth.js';

const synth = new Synth();
beforeAll(() => synth.load());
afterAll(() => synth.cleanup());

/** The service folders of this project (those with a manifest). */
const serviceFolders = () =>
  readdirSync(path.join(PROJECT_ROOT, 'services')).filter((s) => existsSync(path.join(PROJECT_ROOT, 'services', s, 'Cargo.toml')));

/**
 * The second function a service declares in `[package.metadata.genai-scaffold.worker]` (its
 * name within the stage), which runs its generations; none for a service that runs in one.
 */
const workerOf = (service: string): string | undefined => synth.project.services[service].worker?.function;

/** Every function of the project: each strategy's own, and its worker; `name` within the stage. */
const functions = () =>
  synth.strategies.flatMap(({ service }) => [service, workerOf(service) ?? []].flat().map((name) => ({ service, name })));

/** Whether CloudFront's path pattern (`*` any characters, `?` one) matches `at`. */
const matches = (pattern: string, at: string) =>
  new RegExp(`^${pattern.replace(/[.+^$(){}|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(at);

describe('least privilege', () => {
  const scoped = /^(bedrock|execute-api|ssm):/;

  it('grants no bedrock, execute-api or ssm action on Resource "*"', () => {
    let checked = 0;
    for (const statement of synth.statements().flat()) {
      if (!actions(statement).some((a) => scoped.test(a))) continue;
      checked += 1;
      expect(([] as unknown[]).concat(statement.Resource), JSON.stringify(statement)).not.toContain('*');
    }
    // Every strategy has a function with a Bedrock statement, and every function an SSM one.
    expect(checked).toBeGreaterThanOrEqual(2 * synth.strategies.length);
  });

  it("grants Bedrock on the model's profile, and on its foundation model through that profile only", () => {
    const { project } = synth;
    const modelId = project.model.id;
    const base = project.model.foundationModel;
    const profile = project.model.foundationModelArn !== null;
    const policies = synth
      .statements()
      .map((policy) => policy.filter((s) => actions(s).some((a) => a.startsWith('bedrock:'))))
      .filter((bedrock) => bedrock.length > 0);
    // One function per strategy calls the model: the service's own, or the worker it hands its
    // generations to.
    expect(policies).toHaveLength(synth.strategies.length);
    for (const bedrock of policies) {
      for (const statement of bedrock) expect(statement.Action).toBe('bedrock:InvokeModelWithResponseStream');
      const text = (s: Statement) => JSON.stringify(s.Resource);
      if (modelId.startsWith('arn:')) {
        expect(bedrock.map((s) => s.Resource)).toEqual([modelId]);
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
      const invoked = bedrock.find((s) => text(s).includes(`:inference-profile/${modelId}`));
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
    const { project } = synth;
    const deployed = synth.resources('AWS::Lambda::Function');
    // One function per strategy, and one more per worker its manifest declares.
    expect(deployed.map((fn) => fn.Properties?.FunctionName).sort()).toEqual(
      functions()
        .map(({ name }) => resourceName(project, name))
        .sort(),
    );
    // A service with a worker answers its routes in a function that calls no model; the cap
    // it would share with the worker would let running answers throttle every new request.
    const uncapped = synth.strategies.filter(({ service }) => workerOf(service)).map(({ service }) => resourceName(project, service));
    for (const fn of deployed) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'provided.al2023',
        Architectures: [project.arch],
        LoggingConfig: { LogFormat: 'JSON' },
      });
      const name = fn.Properties?.FunctionName as string;
      expect(fn.Properties?.ReservedConcurrentExecutions, name).toBe(uncapped.includes(name) ? undefined : project.reservedConcurrency);
    }
    for (const group of synth.resources('AWS::Logs::LogGroup')) {
      expect(group.Properties?.RetentionInDays).toBe(14);
    }
  });
});

describe('strategies', () => {
  it('has a stack for each service folder, besides config and cdn, and no other', () => {
    const expected = ['config', ...serviceFolders(), 'cdn'].map((part) => resourceName(synth.project, part));
    expect([...synth.templates.keys()].sort()).toEqual(expected.sort());
  });

  it('deploys each function, route and worker as its service declares', () => {
    // The stacks read every one of these from the declaration (the deploy model): a value
    // written in a strategy file instead fails here.
    const { project } = synth;
    for (const { service } of synth.strategies) {
      const declared = project.services[service];
      const own = synth.lambda(service, service).properties;
      expect([own.Timeout, own.MemorySize], service).toEqual([declared['timeout-seconds'], declared['memory-mb']]);
      // What make deploy-frontend turns into /config.json's entry for the strategy.
      synth.template(service).hasResourceProperties('AWS::SSM::Parameter', {
        Name: `${deployPath(project)}/${declared.strategy}/path`,
        Value: declared.route,
      });
      const { worker } = declared;
      if (!worker) continue;
      const runs = synth.lambda(service, worker.function).properties;
      expect([runs.Timeout, runs.MemorySize], worker.function).toEqual([worker['timeout-seconds'], worker['memory-mb']]);
      // The service's function names its worker in the variable the service reads.
      expect(own.Environment?.Variables[worker.env], service).toBe(resourceName(project, worker.function));
      synth.template(service).hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: worker.retries,
        MaximumEventAgeInSeconds: worker['max-event-age-seconds'],
      });
    }
    expect(synth.strategies.length).toBeGreaterThan(0);
  });
});

describe('cdn', () => {
  it('keeps the bucket private and TLS-only', () => {
    const cdn = synth.template('cdn');
    cdn.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    cdn.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('serves the PROTOCOL.md path of each strategy present, and only those', () => {
    const config = synth.distribution();
    expect(config.DefaultRootObject).toBe('index.html');
    // /config.json and the app come from the bucket; each strategy's origin is the endpoint
    // its stack published in SSM, read when the CDN deploys.
    const origins = new Map(config.Origins.map((o) => [o.Id, o]));
    expect(origins.get(config.DefaultCacheBehavior.TargetOriginId)).toHaveProperty('S3OriginConfig');
    // Every other behavior goes to the origin of one strategy present (each file under
    // test/strategies/ lists its strategy's path patterns)...
    const owners = (pattern: string) =>
      synth.strategies.filter(({ service }) => synth.behaviors(service).some((b) => b.PathPattern === pattern)).map((s) => s.service);
    for (const behavior of config.CacheBehaviors ?? []) {
      expect(owners(behavior.PathPattern as string), behavior.PathPattern).toHaveLength(1);
    }
    // ...and the path of each (PROTOCOL.md's, in /config.json) reaches its origin: CloudFront
    // takes the first behavior whose pattern matches.
    for (const { service } of synth.strategies) {
      const { route } = synth.project.services[service];
      const first = (config.CacheBehaviors ?? []).find((b) => matches(b.PathPattern as string, route));
      expect(synth.origins(service).map((o) => o.Id), `${route} goes to ${first?.TargetOriginId ?? 'the default behavior'}`).toContain(
        first?.TargetOriginId,
      );
    }
  });

  it('reads only what the stacks of this app published, and what infra/ scripts made', () => {
    const { project } = synth;
    // The WAF's web ACL (infra/waf.py) and the origin secret (infra/origin_secret.py).
    const made = ['waf/acl-arn', 'origin/secret'].map((key) => `${deployPath(project)}/${key}`);
    const published = synth.publishedParameters();
    for (const name of synth.readParameters('cdn').values()) {
      expect([...published, ...made], name).toContain(name);
    }
    for (const { service } of synth.strategies) {
      expect(synth.origins(service).length, `origins from what ${service} published`).toBeGreaterThan(0);
    }
  });

  it('runs the router on every behavior but those of a strategy whose manifest declares no rule for it', () => {
    // The router does the stage rewrites, the 404 for absent strategies and / to index.html; a
    // service whose paths need no rewrite declares no [package.metadata.genai-scaffold.cdn].
    const config = synth.distribution();
    expect((config.DefaultCacheBehavior.FunctionAssociations ?? []).length, 'default').toBeGreaterThan(0);
    for (const { service } of synth.strategies) {
      const ruled = routerRule(synth.project, service) !== undefined;
      for (const behavior of synth.behaviors(service)) {
        expect((behavior.FunctionAssociations ?? []).length > 0, behavior.PathPattern).toBe(ruled);
      }
    }
  });

  it('sends security headers and publishes the allowed origin for the services', () => {
    const cdn = synth.template('cdn');
    cdn.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          ContentSecurityPolicy: Match.objectLike({ ContentSecurityPolicy: Match.stringLikeRegexp("default-src 'self'") }),
          StrictTransportSecurity: Match.objectLike({ AccessControlMaxAgeSec: 63072000 }),
        }),
      }),
    });
    cdn.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/${synth.project.name}/test/config/allowed-origins`,
      Value: {
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(',http://localhost:5173,https://app.example.com$')])],
      },
    });
  });

  it('starts the configuration with the model and the limits crates/genai declares', () => {
    // The services apply the same limits when the stage names none (crates/genai's build.rs).
    const config = synth.template('config');
    const expected = { 'model-id': synth.project.model.id, ...Object.fromEntries(Object.entries(synth.project.limits).map(([k, v]) => [k, String(v)])) };
    for (const [name, value] of Object.entries(expected)) {
      config.hasResourceProperties('AWS::SSM::Parameter', { Name: `/${synth.project.name}/test/config/${name}`, Value: value });
    }
    expect(Object.keys(synth.project.limits).sort()).toEqual(['default-max-tokens', 'max-prompt-bytes', 'max-tokens']);
  });

  it('fails the synth with the deploy model\'s message on a setting that breaks its rule', () => {
    // The rules are infra/project.py's, the same in both flavors (infra/tests/test_project.py).
    const env = { PATH: process.env.PATH };
    expect(() => loadProject({ ...env, ALLOWED_ORIGINS: 'https://*.example.com' })).toThrow(/error: ALLOWED_ORIGINS entry/);
    expect(() => loadProject({ ...env, STAGE: 'Prod' })).toThrow(/error: STAGE 'Prod'/);
    expect(() => loadProject({ ...env, BUDGET_USD: '0', ALERT_EMAIL: 'ops@example.com' })).toThrow(/error: BUDGET_USD '0'/);
  });
});

describe('origin secret', () => {
  /** The origin secret's variable (crates/genai's `origin-secret-env`) on a strategy's own function: set when it refuses calls not from the CDN. */
  const secret = (service: string) => synth.lambda(service, service).properties.Environment?.Variables[synth.project.originSecret.env];

  it('is checked by exactly the functions whose service declares it', () => {
    for (const { service } of synth.strategies) {
      expect(secret(service) !== undefined, service).toBe(synth.project.services[service]['origin-secret']);
    }
  });

  it('reaches each function that checks it from SSM when it deploys', () => {
    for (const { service } of synth.strategies.filter((s) => secret(s.service) !== undefined)) {
      const parameter = synth.readParameter(service, 'origin/secret');
      expect(parameter, service).toBeDefined();
      expect(synth.template(service).toJSON().Parameters[parameter!].Type).toBe('AWS::SSM::Parameter::Value<String>');
      expect(secret(service), service).toEqual({ Ref: parameter });
    }
  });

  it('is sent by CloudFront to the origins of the strategies that check it only, the first value', () => {
    const parameter = synth.readParameter('cdn', 'origin/secret');
    const sent = new Set(
      synth.strategies.filter((s) => secret(s.service) !== undefined).flatMap((s) => synth.origins(s.service).map((o) => o.Id)),
    );
    for (const origin of synth.distribution().Origins) {
      if (sent.has(origin.Id)) {
        expect(origin.OriginCustomHeaders, origin.Id).toEqual([
          { HeaderName: synth.project.originSecret.header, HeaderValue: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: parameter }] }] } },
        ]);
      } else {
        expect(origin.OriginCustomHeaders, origin.Id).toBeUndefined();
      }
    }
  });
});

describe('waf', () => {
  it('uses the web ACL whose ARN infra/waf.py published in SSM, none when it published `none`', () => {
    const cdn = synth.template('cdn').toJSON();
    const parameters = cdn.Parameters as Record<string, { Type: string; Default?: string }>;
    const [name, parameter] = Object.entries(parameters).find(([, p]) => p.Default === `/${synth.project.name}/test/deploy/waf/acl-arn`)!;
    expect(parameter.Type).toBe('AWS::SSM::Parameter::Value<String>');
    const [condition, then, otherwise] = synth.distribution().WebACLId['Fn::If'];
    expect([then, otherwise]).toEqual([{ Ref: name }, { Ref: 'AWS::NoValue' }]);
    expect(cdn.Conditions[condition]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: name }, 'none'] }] });
  });
});

describe('alarms', () => {
  const alarms = () => synth.resources('AWS::CloudWatch::Alarm').map((a) => a.Properties as Record<string, unknown>);

  it('mails ALERT_EMAIL from one topic per stage, published for the other stacks', () => {
    const config = synth.template('config');
    config.hasResourceProperties('AWS::SNS::Topic', { TopicName: `${synth.project.name}-test-alerts` });
    config.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    config.hasResourceProperties('AWS::SSM::Parameter', { Name: `/${synth.project.name}/test/deploy/alerts/topic-arn` });
  });

  it('keeps a monthly budget of BUDGET_USD that mails at 80 % spent and at a forecast over it', () => {
    synth.template('config').hasResourceProperties('AWS::Budgets::Budget', {
      Budget: Match.objectLike({ BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 20, Unit: 'USD' } }),
      NotificationsWithSubscribers: [
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'ACTUAL', Threshold: 80 }) }),
        Match.objectLike({ Notification: Match.objectLike({ NotificationType: 'FORECASTED', Threshold: 100 }) }),
      ],
    });
    expect(() => loadProject({ PATH: process.env.PATH, BUDGET_USD: '20' })).toThrow(/needs ALERT_EMAIL/);
  });

  it('alarms on every function error and throttle, and on each gateway failing, to the topic', () => {
    const { project } = synth;
    const perFunction = new Set<string>();
    for (const { service, name } of functions()) {
      for (const metric of ['Errors', 'Throttles']) {
        const alarmName = resourceName(project, `${name}-${metric.toLowerCase()}`);
        perFunction.add(alarmName);
        synth.template(service).hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: alarmName,
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Threshold: 1,
          AlarmActions: [alertsTopic],
        });
      }
    }
    // Each strategy stack alarms on its gateway too (its file under test/strategies/ says on
    // which metric).
    for (const { service } of synth.strategies) {
      const gateway = Object.values(synth.template(service).findResources('AWS::CloudWatch::Alarm')).filter(
        (a) => !perFunction.has(a.Properties.AlarmName),
      );
      expect(gateway.length, service).toBeGreaterThan(0);
      for (const alarm of gateway) {
        synth.template(service).hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: alarm.Properties.AlarmName, AlarmActions: [alertsTopic] });
      }
    }
    expect(alarms().every((a) => a.TreatMissingData === 'notBreaching')).toBe(true);
  });

  // A topic policy replaces SNS's default one, so CloudWatch may publish an alarm only if the
  // policy allows it; else every alarm action fails ("no resource-based policy allows the
  // SNS:Publish action") and no mail ever comes.
  it("lets CloudWatch publish every alarm's notification to its topic, over TLS only, for the stage's alarms only", () => {
    const { project } = synth;
    const pseudo = samplePseudo(project.region);
    const account = pseudo['AWS::AccountId'];
    const alarmArn = (name: string, owner = account) => `arn:${pseudo['AWS::Partition']}:cloudwatch:${project.region}:${owner}:alarm:${name}`;
    const walked = synth.alarmActions();
    // Every strategy stack alarms (on its functions and its gateway), so none may be missed.
    for (const { service } of synth.strategies) {
      const stack = resourceName(project, service);
      expect(walked.filter((a) => a.stack === stack).length, `alarm actions of ${stack}`).toBeGreaterThan(0);
    }
    for (const action of walked) {
      const what = `${action.stack}: ${action.alarmName} -> ${action.parameter} (${action.topicStack})`;
      const statements = action.statements.map((s) => resolve(s, pseudo) as typeof s);
      const publish = (context: Record<string, string>): Request => ({
        service: 'cloudwatch.amazonaws.com',
        action: 'sns:Publish',
        resource: action.topic,
        context: { 'aws:SourceArn': alarmArn(action.alarmName), 'aws:SourceAccount': account, 'aws:SecureTransport': 'true', ...context },
      });
      const decide = (request: Request) => ({
        // Allowed by a statement scoped to the alarm's source (confused deputy), not just to CloudWatch.
        allowed: statements.some(
          (s) => s.Effect === 'Allow' && applies(s, request) && ['aws:sourcearn', 'aws:sourceaccount'].every((k) => conditionKeys(s).includes(k)),
        ),
        denied: statements.some((s) => s.Effect === 'Deny' && applies(s, request)),
      });
      expect(decide(publish({})), what).toEqual({ allowed: true, denied: false });
      // TLS only: the same request over plain HTTP is refused.
      expect(decide(publish({ 'aws:SecureTransport': 'false' })).denied, `${what}, without TLS`).toBe(true);
      // Another stage's alarm, or an alarm of another account, may not publish.
      const other = `${project.name}-x${project.stage}-errors`;
      expect(decide(publish({ 'aws:SourceArn': alarmArn(other) })).allowed, `${what}, from ${other}`).toBe(false);
      const elsewhere = '210987654321';
      expect(decide(publish({ 'aws:SourceArn': alarmArn(action.alarmName, elsewhere), 'aws:SourceAccount': elsewhere })).allowed, `${what}, from ${elsewhere}`).toBe(false);
    }
  });
});

describe('cdk-nag', () => {
  // `cdk synth` fails on an unacknowledged error only; a warning would pass it silently.
  it('leaves no AwsSolutions finding unacknowledged, error or warning', () => {
    const outdir = mkdtempSync(path.join(synth.scratch, 'cdk.out-'));
    const assembly = buildApp(synth.project, synth.strategies, { outdir }).synth();
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
    for (const t of synth.templates.values()) {
      const roles = Object.values(t.findResources('AWS::IAM::Role'));
      for (const role of roles) {
        expect(role.Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'Owner', Value: 'dev@example.com' },
            { Key: 'project', Value: synth.project.name },
            { Key: 'stage', Value: 'test' },
          ]),
        );
      }
    }
  });
});
