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
    Role: { 'Fn::GetAtt': [string, string] };
    Environment?: { Variables: Record<string, unknown> };
    ReservedConcurrentExecutions?: number;
  };
}

/** An alarm's action: the stage's alerts topic, whose ARN the stack reads from SSM. */
export const alertsTopic = Match.objectLike({ Ref: Match.stringLikeRegexp('alertstopicarn') });

/** A statement's actions, always a list. */
export const actions = (statement: Statement): string[] => ([] as string[]).concat(statement.Action);

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
    const strategies = await discoverStrategies();
    for (const { service } of strategies) {
      mkdirSync(path.join(scratch, 'lambda', service), { recursive: true });
      writeFileSync(path.join(scratch, 'lambda', service, 'bootstrap.zip'), 'placeholder');
    }
    const project = loadProject(settings(scratch));
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
  settings(): Record<string, string> {
    return settings(this.scratch);
  }

  /** Every stack of the app built with `env`, by stack name. */
  synthesize(env: Record<string, string>): Map<string, Template> {
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
    const variable = this.lambda(service, service).properties.Environment?.Variables.ORIGIN_SECRET;
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
        { HeaderName: 'x-origin-verify', HeaderValue: { 'Fn::Select': [0, { 'Fn::Split': [',', { Ref: sent }] }] } },
      ]);
    }
  }

  /** The CDN behaviors that send requests to the origins of the stack `service`. */
  behaviors(service: string): Behavior[] {
    const ids = new Set(this.origins(service).map((o) => o.Id));
    return (this.distribution().CacheBehaviors ?? []).filter((b) => ids.has(b.TargetOriginId));
  }
}

function settings(scratch: string): Record<string, string> {
  return {
    STAGE: 'test',
    OWNER: 'dev@example.com',
    LAMBDA_DIR: path.join(scratch, 'lambda'),
    ALLOWED_ORIGINS: 'http://localhost:5173, https://app.example.com/',
    ALERT_EMAIL: 'ops@example.com',
    BUDGET_USD: '20',
  };
}
