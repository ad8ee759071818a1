// What every stack needs to know about the project: its answers (read from the project's
// .genai-scaffold.toml, so the IaC never restates them), the stage, and the names derived
// from both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

/** The project root: infra/cdk/lib/../../.. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Project {
  /** Project name, the prefix of every stack and resource name. */
  name: string;
  /** Stage (`make deploy-all STAGE=prod`), part of every name. */
  stage: string;
  /** Who deployed it (`OWNER`), tagged on every resource. */
  owner: string;
  region: string;
  /** The Bedrock model or inference-profile id the services invoke. */
  modelId: string;
  arch: 'arm64' | 'x86_64';
  /** Where `make build` put the zips: <dir>/<service>/bootstrap.zip. */
  lambdaDir: string;
  /** Cap on concurrent executions per function (0: no reservation). */
  reservedConcurrency: number;
  /** Browser origins allowed besides the CDN's own URL (`ALLOWED_ORIGINS`, comma separated). */
  allowedOrigins: string[];
  /** Where the stage's alarms and budget mail (`ALERT_EMAIL`). */
  alertEmail?: string;
  /** Monthly cost budget of the account in USD (`BUDGET_USD`, needs `ALERT_EMAIL`). */
  budgetUsd?: number;
}

/** An origin as browsers send it: scheme, host and an optional port; no path, no wildcard. */
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$/;

/** `ALLOWED_ORIGINS` as a list, each entry checked, so a typo fails the synth, not the page. */
export function parseOrigins(value: string | undefined): string[] {
  const origins = (value ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter((o) => o !== '');
  for (const origin of origins) {
    if (!ORIGIN.test(origin)) {
      throw new Error(
        `ALLOWED_ORIGINS entry '${origin}' is not an origin: write scheme://host[:port] in lowercase, ` +
          'e.g. http://localhost:5173 (no path, no wildcard)',
      );
    }
  }
  return origins;
}

/** Reads the flat `key = "value"` lines of .genai-scaffold.toml (tables are skipped). */
export function readAnswers(file: string): Record<string, string> {
  const answers: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('[')) break;
    const match = /^([a-z_]+)\s*=\s*"([^"]*)"\s*$/.exec(line);
    if (match) answers[match[1]] = match[2];
  }
  return answers;
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

/**
 * The string, number and boolean lines of a table of a service's manifest (services/<service>/
 * Cargo.toml): `[package.metadata.genai-scaffold]`, or with `name` its subtable
 * `[package.metadata.genai-scaffold.<name>]`, values as written (arrays are skipped); none when
 * the manifest lacks the table.
 */
export function manifestTable(service: string, name?: string, root = PROJECT_ROOT): Record<string, string> | undefined {
  const header = name ? `[package.metadata.genai-scaffold.${name}]` : '[package.metadata.genai-scaffold]';
  let values: Record<string, string> | undefined;
  let inTable = false;
  for (const line of readFileSync(path.join(root, 'services', service, 'Cargo.toml'), 'utf8').split('\n')) {
    if (line.startsWith('[')) {
      inTable = line.trim() === header;
      if (inTable) values ??= {};
      continue;
    }
    const match = inTable ? /^([a-z-]+)\s*=\s*(?:"([^"]*)"|(true|false|-?[0-9]+))\s*$/.exec(line) : null;
    if (match && values) values[match[1]] = match[2] ?? match[3];
  }
  return values;
}

/**
 * A service's router rule, as its manifest declares it in
 * `[package.metadata.genai-scaffold.cdn]`; none when its paths need no rewrite.
 */
export function routerRule(service: string, root = PROJECT_ROOT): RouterRule | undefined {
  const values = manifestTable(service, 'cdn', root) ?? {};
  if (Object.keys(values).length === 0) return undefined;
  const { prefix, 'origin-path': originPath, exact } = values;
  if (!prefix || !originPath || !exact) {
    const file = path.join(root, 'services', service, 'Cargo.toml');
    throw new Error(`${file}: [package.metadata.genai-scaffold.cdn] needs prefix, origin-path and exact`);
  }
  return { prefix, originPath, exact: exact === 'true' };
}

/** The project as configured by the answers file and the environment the Makefile sets. */
export function loadProject(env: NodeJS.ProcessEnv = process.env, root = PROJECT_ROOT): Project {
  const answers = readAnswers(path.join(root, '.genai-scaffold.toml'));
  for (const key of ['name', 'region', 'model_id', 'arch']) {
    if (!answers[key]) {
      throw new Error(`.genai-scaffold.toml has no ${key}; regenerate the project or add the line`);
    }
  }
  const stage = env.STAGE ?? 'dev';
  if (!/^[a-z][a-z0-9-]{0,15}$/.test(stage)) {
    throw new Error(`STAGE '${stage}' must be lowercase letters, digits and dashes (at most 16)`);
  }
  const reserved = Number(env.RESERVED_CONCURRENCY ?? '10');
  if (!Number.isInteger(reserved) || reserved < 0) {
    throw new Error(`RESERVED_CONCURRENCY '${env.RESERVED_CONCURRENCY}' must be 0 or a positive integer`);
  }
  const alertEmail = env.ALERT_EMAIL || undefined;
  if (alertEmail !== undefined && !/^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/.test(alertEmail)) {
    throw new Error(`ALERT_EMAIL '${alertEmail}' must be one email address`);
  }
  const budgetUsd = env.BUDGET_USD ? Number(env.BUDGET_USD) : undefined;
  if (budgetUsd !== undefined && !(Number.isFinite(budgetUsd) && budgetUsd > 0)) {
    throw new Error(`BUDGET_USD '${env.BUDGET_USD}' must be a positive amount of US dollars, e.g. 20`);
  }
  if (budgetUsd !== undefined && !alertEmail) {
    throw new Error('BUDGET_USD needs ALERT_EMAIL: the budget mails its alerts to that address');
  }
  return {
    name: answers.name,
    stage,
    owner: env.OWNER || 'unknown',
    region: env.AWS_REGION ?? answers.region,
    modelId: env.MODEL_ID ?? answers.model_id,
    arch: (env.ARCH ?? answers.arch) === 'x86_64' ? 'x86_64' : 'arm64',
    lambdaDir: path.resolve(root, env.LAMBDA_DIR ?? 'target/lambda'),
    reservedConcurrency: reserved,
    allowedOrigins: parseOrigins(env.ALLOWED_ORIGINS),
    alertEmail,
    budgetUsd,
  };
}

/** `<project>-<stage>-<part>`: stack names, function names. */
export function resourceName(project: Project, part: string): string {
  return `${project.name}-${project.stage}-${part}`;
}

/** The SSM path the services read their configuration from (at init). */
export function configPath(project: Project): string {
  return `/${project.name}/${project.stage}/config`;
}

/** The SSM path where stacks publish what later stacks and deploy-frontend need. */
export function deployPath(project: Project): string {
  return `/${project.name}/${project.stage}/deploy`;
}
