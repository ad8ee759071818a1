// What every stack needs to know about the project: the deploy model infra/project.py reads
// and checks (the answers, the services' declarations, the settings), so the CDK app parses
// neither the record nor a manifest and checks no setting itself, and the names derived from it.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

/** The project root: infra/cdk/lib/../../.. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A service's declaration: `[package.metadata.genai-scaffold]` of services/<service>/Cargo.toml. */
export interface Declaration {
  /** The strategy's key, also its web client's folder under client/web/src/strategies. */
  strategy: string;
  trigger: string;
  transport: string;
  /** Its path on the app's origin (PROTOCOL.md), written to /config.json. */
  route: string;
  routes?: string[];
  /** Its function's limits, deployed and local. */
  'timeout-seconds': number;
  'memory-mb': number;
  /** Whether its function refuses a request without the CDN's origin secret (a public API URL). */
  'origin-secret': boolean;
  /** A second function made from the binary, which runs the generations. */
  worker?: {
    function: string;
    /** The variable that gives the service's function the worker's name. */
    env: string;
    /** The variable that gives the worker its ledger table, where it records each event it runs. */
    'ledger-env': string;
    'timeout-seconds': number;
    'memory-mb': number;
    /** Lambda's retries of a failed asynchronous invocation. */
    retries: number;
    /** Longest an event may wait in Lambda's queue. */
    'max-event-age-seconds': number;
  };
  /** How the CDN's router sends its paths to its origin; none when they need no rewrite. */
  cdn?: { prefix: string; 'origin-path': string; exact: boolean };
}

/** The deploy model (infra/project.py show): what every stack needs to know about the project. */
export interface Project {
  /** Project name, the prefix of every stack and resource name. */
  name: string;
  /** Stage (`make deploy-all STAGE=prod`), part of every name. */
  stage: string;
  /** Who deployed it (`OWNER`), tagged on every resource. */
  owner: string;
  region: string;
  arch: 'arm64' | 'x86_64';
  /**
   * The model the services invoke (`id`) and what invoking it needs: `arn`, with
   * `${AWS::AccountId}` for CloudFormation to fill, and for an inference profile its foundation
   * model in any region (`foundationModelArn`), allowed through the profile only.
   */
  model: { id: string; foundationModel: string | null; arn: string; foundationModelArn: string | null };
  /** Where `make build` put the zips: <dir>/<service>/bootstrap.zip. */
  lambdaDir: string;
  /** Cap on concurrent executions per function (0: no reservation). */
  reservedConcurrency: number;
  /** Browser origins allowed besides the CDN's own URL (`ALLOWED_ORIGINS`, kept per stage). */
  allowedOrigins: string[];
  /** Where the stage's alarms and budget mail (`ALERT_EMAIL`, kept per stage). */
  alertEmail: string | null;
  /** Monthly cost budget of the account in USD (`BUDGET_USD`, kept per stage; needs `ALERT_EMAIL`). */
  budgetUsd: number | null;
  /** X-Ray traces of the APIs that can record them (`TRACING=on`, kept per stage). */
  tracing: boolean;
  /** The variable that gives every function `paths.config` (crates/genai's `config-env`). */
  configEnv: string;
  /**
   * The origin secret's variable on a function that declares `origin-secret`, and the header
   * CloudFront sends it in (crates/genai's `origin-secret-env` and `origin-secret-header`).
   */
  originSecret: { env: string; header: string };
  /** The request limits by SSM name (crates/genai's `[package.metadata.genai-scaffold.limits]`). */
  limits: Record<'max-prompt-bytes' | 'max-tokens' | 'default-max-tokens', number>;
  /** SSM paths: the services' settings (`config`), what stacks hand each other (`deploy`). */
  paths: { config: string; deploy: string; settings: string };
  /** Each service folder's declaration. */
  services: Record<string, Declaration>;
}

/**
 * The project as infra/project.py reads and checks it from the answers file, the service
 * manifests and `env` (the Makefile's settings). A setting that breaks a rule fails the synth
 * with project.py's message, the same in both IaC flavors.
 */
export function loadProject(env: NodeJS.ProcessEnv = process.env, root = PROJECT_ROOT): Project {
  try {
    const json = execFileSync('python3', [path.join(root, 'infra', 'project.py'), 'show'], {
      env: env as NodeJS.ProcessEnv,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    return JSON.parse(json) as Project;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || `infra/project.py show failed: ${String(error)}`);
  }
}

/** `<project>-<stage>-<part>`: stack names, function names. */
export function resourceName(project: Project, part: string): string {
  return `${project.name}-${project.stage}-${part}`;
}

/** The SSM path the services read their configuration from (at init). */
export function configPath(project: Project): string {
  return project.paths.config;
}

/** The SSM path where stacks publish what later stacks and deploy-frontend need. */
export function deployPath(project: Project): string {
  return project.paths.deploy;
}

/** How the CDN's router sends a strategy's paths to its origin (PROTOCOL.md's paths). */
export interface RouterRule {
  /** The path on the app's origin that is the strategy's, with everything below it. */
  prefix: string;
  /** What the origin is asked for instead; `{stage}` is the API's stage. */
  originPath: string;
  /** Only `prefix` and `prefix/` are the strategy's; a path further below answers 404. */
  exact: boolean;
}

/** A service's router rule, as it declares it; none when its paths need no rewrite. */
export function routerRule(project: Project, service: string): RouterRule | undefined {
  const rule = project.services[service]?.cdn;
  return rule && { prefix: rule.prefix, originPath: rule['origin-path'], exact: rule.exact };
}
