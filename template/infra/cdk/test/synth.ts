// This project's app, synthesized for the tests with placeholder zips standing in for `make
// build`. Each test file synthesizes its own (stacks.test.ts for what every project has, and
// under strategies/ one file per strategy, present exactly when the strategy is), so this file
// names no strategy: it works from the strategies lib/app.ts discovers.
//
//   const synth = new Synth();
//   beforeAll(() => synth.load());
//   afterAll(() => synth.cleanup());
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import { buildApp, discoverStrategies } from '../lib/app.js';
import { deployPath, loadProject, Project, resourceName } from '../lib/project.js';
import { Strategy } from '../lib/strategy.js';

export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** A CloudFront origin as the distribution's template writes it. */
export interface Origin {
  Id: string;
  DomainName: unknown;
  S3OriginConfig?: unknown;
  OriginCustomHeaders?: unknown;
}

/** A CloudFront behavior as the distribution's template writes it (the default has no PathPattern). */
export interface Behavior {
  PathPattern?: string;
  TargetOriginId: string;
  FunctionAssociations?: unknown[];
  Compress?: boolean;
}

export interface DistributionConfig {
  Origins: Origin[];
  DefaultCacheBehavior: Behavior;
  CacheBehaviors?: Behavior[];
  DefaultRootObject?: string;
  WebACLId: { 'Fn::If': [string, unknown, unknown] };
}

/** A Lambda function of a stack: its logical id and properties. */
export interface LambdaFunction {
  id: string;
  properties: {
    FunctionName: string;
    Timeout?: number;
    MemorySize?: number;
    Role: { 'Fn::GetAtt': [string, string] };
    Environment?: { Variables: Record<string, unknown> };
    ReservedConcurrentExecutions?: number;
  };
}

/** An alarm's action: the stage's alerts topic, whose ARN the stack reads from SSM. */
export const alertsTopic = Match.objectLike({ Ref: Match.stringLikeRegexp('alertstopicarn') });

/** A statement's actions, always a list. */
export const actions = (statement: Statement): string[] => ([] as string[]).concat(statement.Action);

/** A statement of a resource policy as a template writes it. */
export interface PolicyStatement extends Statement {
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** The pseudo parameters of a sample deploy of this app: one account, the project's region. */
export function samplePseudo(region: string): Record<string, string> {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return { 'AWS::Partition': partition, 'AWS::Region': region, 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };
}

/**
 * A template value as CloudFormation gives it with these pseudo parameters: Ref of a pseudo
 * parameter, Fn::Join and Fn::Sub of them resolved; any other Ref (a resource, a parameter) kept.
 */
export function resolve(value: unknown, pseudo: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, pseudo));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if (typeof object.Ref === 'string' && object.Ref in pseudo) return pseudo[object.Ref];
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    const resolved = resolve(parts, pseudo) as unknown[];
    if (resolved.every((p) => typeof p === 'string')) return resolved.join(separator);
  }
  if (typeof object['Fn::Sub'] === 'string') {
    const text = object['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (whole, name: string) => pseudo[name] ?? whole);
    if (!text.includes('${')) return text;
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolve(v, pseudo)]));
}

/** A request to a resource, as IAM evaluates it against the resource's policy. */
export interface Request {
  /** The calling service's principal, e.g. cloudwatch.amazonaws.com. */
  service: string;
  action: string;
  /** The resource as the policy's statements name it (a template value). */
  resource: unknown;
  /** The request's condition keys (e.g. aws:SourceArn), any case. */
  context: Record<string, string>;
}

/** `*` any characters, `?` one; `ignoreCase` for actions. */
const glob = (pattern: string, value: string, ignoreCase = false) =>
  new RegExp(`^${pattern.replace(/[.+^$(){}|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'i' : '').test(value);

/** ArnLike and ArnEquals: each of the six colon-separated parts matched on its own. */
function arnLike(pattern: string, arn: string): boolean {
  const parts = (s: string) => {
    const split = s.split(':');
    return [...split.slice(0, 5), split.slice(5).join(':')];
  };
  const [p, a] = [parts(pattern), parts(arn)];
  return p.length === 6 && a.length === 6 && p.every((part, i) => glob(part, a[i]));
}

const OPERATORS: Record<string, (expected: string, actual: string) => boolean> = {
  StringEquals: (e, a) => e === a,
  StringLike: (e, a) => glob(e, a),
  ArnEquals: arnLike,
  ArnLike: arnLike,
  Bool: (e, a) => e.toLowerCase() === a.toLowerCase(),
};

/** The condition keys a statement tests, lowercase. */
export const conditionKeys = (statement: PolicyStatement): string[] =>
  Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys).map((k) => k.toLowerCase()));

/**
 * Whether `statement` applies to `request`: its principal, action, resource and every condition
 * match. A statement this cannot evaluate (NotPrincipal, an operator it does not know, a value
 * left unresolved) throws, so a test never passes on a guess.
 */
export function applies(statement: PolicyStatement, request: Request): boolean {
  for (const unsupported of ['NotPrincipal', 'NotAction', 'NotResource']) {
    if (unsupported in statement) throw new Error(`cannot evaluate ${unsupported}: ${JSON.stringify(statement)}`);
  }
  const principal = statement.Principal as string | { AWS?: unknown; Service?: unknown } | undefined;
  const listed = (v: unknown) => ([] as unknown[]).concat(v ?? []);
  const anyone = principal === '*' || (typeof principal === 'object' && listed(principal.AWS).includes('*'));
  if (!anyone && !(typeof principal === 'object' && listed(principal.Service).includes(request.service))) return false;
  if (!actions(statement).some((a) => glob(a, request.action, true))) return false;
  const resources = listed(statement.Resource);
  if (!resources.some((r) => r === '*' || JSON.stringify(r) === JSON.stringify(request.resource))) return false;
  const context = Object.fromEntries(Object.entries(request.context).map(([k, v]) => [k.toLowerCase(), v]));
  for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
    const test = OPERATORS[operator];
    if (!test) throw new Error(`cannot evaluate condition operator ${operator}: ${JSON.stringify(statement)}`);
    for (const [key, expected] of Object.entries(keys)) {
      const values = listed(expected);
      if (!values.every((v) => typeof v === 'string')) throw new Error(`unresolved value of ${key}: ${JSON.stringify(expected)}`);
      const actual = context[key.toLowerCase()];
      if (actual === undefined || !(values as string[]).some((v) => test(v, actual))) return false;
    }
  }
  return true;
}

/** An alarm action of a stack, followed to the topic it notifies and that topic's policy. */
export interface AlarmAction {
  /** The stack of the alarm, and the alarm's name. */
  stack: string;
  alarmName: string;
  /** The SSM parameter the stack reads the topic's ARN from when it deploys. */
  parameter: string;
  /** The stack that published that parameter, the topic it holds and the topic's statements. */
  topicStack: string;
  topic: unknown;
  statements: PolicyStatement[];
}

interface Loaded {
  scratch: string;
  project: Project;
  strategies: Strategy[];
  templates: Map<string, Template>;
}

export class Synth {
  private loaded?: Loaded;

  /** Discovers the strategies, writes a placeholder zip for each, synthesizes every stack. */
  async load(): Promise<void> {
    const scratch = mkdtempSync(path.join(tmpdir(), 'stacks-test-'));
    const project = loadProject(settings(scratch));
    const strategies = await discoverStrategies(project);
    for (const { service } of strategies) {
      mkdirSync(path.join(scratch, 'lambda', service), { recursive: true });
      writeFileSync(path.join(scratch, 'lambda', service, 'bootstrap.zip'), 'placeholder');
    }
    this.loaded = { scratch, project, strategies, templates: new Map() };
    this.loaded.templates = this.synthesize(this.settings());
  }

  /** Removes the synthesized stacks and the placeholder zips. */
  cleanup(): void {
    if (this.loaded) rmSync(this.loaded.scratch, { recursive: true, force: true });
    this.loaded = undefined;
  }

  private get state(): Loaded {
    if (!this.loaded) throw new Error('Synth.load() has not run: call it in beforeAll');
    return this.loaded;
  }

  /** Where the synthesized stacks and the placeholder zips go; removed by cleanup(). */
  get scratch(): string {
    return this.state.scratch;
  }

  get project(): Project {
    return this.state.project;
  }

  /** The strategies present, as lib/app.ts discovers them. */
  get strategies(): Strategy[] {
    return this.state.strategies;
  }

  /** Every stack, by stack name. */
  get templates(): Map<string, Template> {
    return this.state.templates;
  }

  /** The settings a deploy of these tests' stage gives. */
  settings(): NodeJS.ProcessEnv {
    return settings(this.scratch);
  }

  /** Every stack of the app built with `env`, by stack name. */
  synthesize(env: NodeJS.ProcessEnv): Map<string, Template> {
    const app = buildApp(loadProject(env), this.strategies, { outdir: mkdtempSync(path.join(this.scratch, 'cdk.out-')) });
    return new Map(
      app.node.children.filter((c): c is Stack => c instanceof Stack).map((s) => [s.stackName, Template.fromStack(s)]),
    );
  }

  /** The stack `<project>-<stage>-<part>`: config, cdn or a strategy's service. */
  template(part: string): Template {
    const found = this.templates.get(resourceName(this.project, part));
    if (!found) throw new Error(`no stack ${part}`);
    return found;
  }

  /** Every resource of `type` in every stack (logical ids repeat across stacks). */
  resources(type: string): Resource[] {
    return [...this.templates.values()].flatMap((t) => Object.values(t.findResources(type)) as Resource[]);
  }

  /** The statements of every IAM policy, one list per policy. */
  statements(): Statement[][] {
    return this.resources('AWS::IAM::Policy').map((p) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
  }

  /** The function `<project>-<stage>-<name>` of the stack `part`. */
  lambda(part: string, name: string): LambdaFunction {
    const functionName = resourceName(this.project, name);
    const found = Object.entries(this.template(part).findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.FunctionName === functionName,
    );
    if (!found) throw new Error(`no function ${functionName} in stack ${part}`);
    return { id: found[0], properties: found[1].Properties };
  }

  /**
   * Every alarm of every stack, with each of its actions followed to the topic it notifies: the
   * action is the ARN the stack reads from an SSM parameter when it deploys, the parameter is
   * one another stack of the app publishes with the topic's ARN, and the topic's resource
   * policies are that stack's TopicPolicy resources naming it. An action this cannot follow
   * fails the test.
   */
  alarmActions(): AlarmAction[] {
    const found: AlarmAction[] = [];
    for (const [stack, template] of this.templates) {
      const parameters = (template.toJSON().Parameters ?? {}) as Record<string, { Type: string; Default?: string }>;
      for (const [id, alarm] of Object.entries(template.findResources('AWS::CloudWatch::Alarm'))) {
        const { AlarmName: alarmName, AlarmActions: alarmActions } = alarm.Properties as { AlarmName?: unknown; AlarmActions?: unknown[] };
        if (typeof alarmName !== 'string') throw new Error(`${stack}: alarm ${id} has no literal AlarmName`);
        for (const action of alarmActions ?? []) {
          const ref = (action as { Ref?: string }).Ref;
          const parameter = ref === undefined ? undefined : parameters[ref];
          if (!parameter || parameter.Type !== 'AWS::SSM::Parameter::Value<String>' || !parameter.Default) {
            throw new Error(`${stack}: action ${JSON.stringify(action)} of alarm ${alarmName} is not read from an SSM parameter`);
          }
          found.push({ stack, alarmName, parameter: parameter.Default, ...this.topicPublishedAs(parameter.Default) });
        }
      }
    }
    return found;
  }

  /** The topic whose ARN a stack of the app publishes as the SSM parameter `name`, and its policy. */
  private topicPublishedAs(name: string): { topicStack: string; topic: unknown; statements: PolicyStatement[] } {
    for (const [topicStack, template] of this.templates) {
      const published = Object.values(template.findResources('AWS::SSM::Parameter')).find((p) => p.Properties.Name === name);
      if (!published) continue;
      const topic = published.Properties.Value as { Ref?: string };
      if (!topic.Ref || template.toJSON().Resources[topic.Ref]?.Type !== 'AWS::SNS::Topic') {
        throw new Error(`${topicStack}: ${name} holds ${JSON.stringify(topic)}, not a topic of the stack`);
      }
      const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy'))
        .filter((p) => (p.Properties.Topics as unknown[]).some((t) => JSON.stringify(t) === JSON.stringify(topic)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as PolicyStatement[]);
      return { topicStack, topic, statements };
    }
    throw new Error(`no stack of the app publishes ${name}`);
  }

  /** The CDN's distribution. */
  distribution(): DistributionConfig {
    return Object.values(this.template('cdn').findResources('AWS::CloudFront::Distribution'))[0].Properties.DistributionConfig;
  }

  /** The SSM parameters a stack reads when it deploys: template parameter id to parameter name. */
  readParameters(part: string): Map<string, string> {
    const parameters = (this.template(part).toJSON().Parameters ?? {}) as Record<string, { Type: string; Default?: string }>;
    return new Map(
      Object.entries(parameters)
        .filter(([, p]) => p.Type === 'AWS::SSM::Parameter::Value<String>' && p.Default?.startsWith(`${deployPath(this.project)}/`))
        .map(([id, p]) => [id, p.Default as string]),
    );
  }

  /** The SSM parameters the stack `part` writes, or every stack when no part is given, by name. */
  publishedParameters(part?: string): string[] {
    const templates = part === undefined ? [...this.templates.values()] : [this.template(part)];
    return templates.flatMap((t) => Object.values(t.findResources('AWS::SSM::Parameter')).map((p) => p.Properties.Name as string));
  }

  /** The template parameter of stack `part` that CloudFormation fills from `<deploy path>/<key>`. */
  readParameter(part: string, key: string): string | undefined {
    const name = `${deployPath(this.project)}/${key}`;
    return [...this.readParameters(part)].find(([, n]) => n === name)?.[0];
  }

  /**
   * The CDN origins of the strategy deployed by the stack `service`: those whose endpoint the
   * CDN reads from a parameter that stack published.
   */
  origins(service: string): Origin[] {
    const published = new Set(this.publishedParameters(service));
    const ids = [...this.readParameters('cdn')].filter(([, name]) => published.has(name)).map(([id]) => id);
    return this.distribution().Origins.filter((o) => ids.some((id) => JSON.stringify(o.DomainName).includes(`"Ref":"${id}"`)));
  }

  /**
   * Expects `service` to take requests through the CDN only (`required`) or not: its function
   * reads the origin secret from SSM when it deploys, and CloudFront sends the first value to
   * its origin; or neither.
   */
  expectOriginSecret(service: string, required: boolean): void {
    const variable = this.lambda(service, service).properties.Environment?.Variables[this.project.originSecret.env];
    const origins = this.origins(service);
    expect(origins).toHaveLength(1);
    if (!required) {
      expect(variable).toBeUndefined();
      for (const origin of origins) expect(origin.OriginCustomHeaders, origin.Id).toBeUndefined();
      return;
    }
    const parameter = this.readParameter(service, 'origin/secret');
    expect(parameter).toBeDefined();
    expect(variable).toEqual({ Ref: parameter });
    const sent = this.readParameter('cdn', 'origin/secret');
    expect(sent).toBeDefined();
    for (const origin of origins) {
      expect(origin.OriginCustomHeaders, origin.Id).toEqual([
        { HeaderName: this.project.originSecret.header, HeaderValue: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: sent }] }] } },
      ]);
    }
  }

  /** The CDN behaviors that send requests to the origins of the stack `service`. */
  behaviors(service: string): Behavior[] {
    const ids = new Set(this.origins(service).map((o) => o.Id));
    return (this.distribution().CacheBehaviors ?? []).filter((b) => ids.has(b.TargetOriginId));
  }
}

/** A deploy's settings, as the Makefile passes them (PATH: project.py runs as `python3`). */
function settings(scratch: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    STAGE: 'test',
    OWNER: 'dev@example.com',
    LAMBDA_DIR: path.join(scratch, 'lambda'),
    ALLOWED_ORIGINS: 'http://localhost:5173, https://app.example.com/',
    ALERT_EMAIL: 'ops@example.com',
    BUDGET_USD: '20',
  };
}
