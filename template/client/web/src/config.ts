// The stage's configuration, fetched at run time from /config.json (served by `make dev` and by
// the CDN), so one build of the app serves every stage.
import { isRecord } from './protocol';

export interface Limits {
  maxPromptBytes: number;
  maxTokens: number;
  defaultMaxTokens: number;
}

export interface AppConfig {
  stage: string;
  region: string;
  model: string;
  limits: Limits;
  /** Strategy name (a folder under src/strategies) to its absolute endpoint URL. */
  strategies: Record<string, string>;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Resolves an endpoint against the page: the CDN gives paths, the local stack full URLs. A
 * strategy's client turns the URL into what its transport needs (ws/wss for a WebSocket).
 */
export function resolveEndpoint(url: string, page: string): string {
  return new URL(url, page).toString();
}

function positive(value: unknown, name: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw new ConfigError(`config.json: limits.${name} must be a positive integer`);
}

/** Checks the document's shape; `page` is the URL the app was loaded from. */
export function parseConfig(document: unknown, page: string): AppConfig {
  if (!isRecord(document)) throw new ConfigError('config.json is not a JSON object');
  const { stage, region, model, limits, strategies } = document;
  if (typeof stage !== 'string' || typeof region !== 'string' || typeof model !== 'string') {
    throw new ConfigError('config.json needs string fields stage, region and model');
  }
  if (!isRecord(limits)) throw new ConfigError('config.json has no limits object');
  if (!isRecord(strategies)) throw new ConfigError('config.json has no strategies object');
  const endpoints: Record<string, string> = {};
  for (const [name, entry] of Object.entries(strategies)) {
    if (!isRecord(entry) || typeof entry.url !== 'string') {
      throw new ConfigError(`config.json: strategies.${name}.url must be a string`);
    }
    endpoints[name] = resolveEndpoint(entry.url, page);
  }
  return {
    stage,
    region,
    model,
    limits: {
      maxPromptBytes: positive(limits.maxPromptBytes, 'maxPromptBytes'),
      maxTokens: positive(limits.maxTokens, 'maxTokens'),
      defaultMaxTokens: positive(limits.defaultMaxTokens, 'defaultMaxTokens'),
    },
    strategies: endpoints,
  };
}

/** Fetches and checks /config.json next to the page. */
export async function loadConfig(page: string, fetchImpl: typeof fetch = fetch): Promise<AppConfig> {
  const url = new URL('/config.json', page);
  let response: Response;
  try {
    response = await fetchImpl(url, { cache: 'no-store' });
  } catch (error) {
    throw new ConfigError(`cannot reach ${url.toString()}: ${String(error)}. Is the stack running (make dev)?`);
  }
  if (!response.ok) {
    throw new ConfigError(`${url.toString()} answered ${response.status}; deploy the frontend (make deploy-frontend) or run make dev`);
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch {
    throw new ConfigError(`${url.toString()} is not JSON`);
  }
  return parseConfig(document, page);
}
