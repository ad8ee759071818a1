// SSE strategy: POST the request, read `chunk` events until `complete` or `error`
// (PROTOCOL.md, "Server-Sent Events"). Like the original sample's EventSource, a connection that
// fails before the first chunk is retried a few times with backoff; once text has arrived, a
// failure is reported rather than silently re-asked.
import { ProtocolError, asProtocolError, isRecord, readMetrics, readUsage, type Completion, type GenerateRequest } from '../../protocol';
import type { StrategyClient, StreamHandlers } from '../types';
import { readEvents } from './events';

/** Attempts before giving up on a connection that fails before the first chunk. */
export const ATTEMPTS = 3;
const BACKOFF_MS = 250;

/**
 * CloudFront's Origin Access Control signs requests to the Function URL, and signing a POST body
 * needs its SHA-256 from the client. Browsers have SubtleCrypto on secure origins only (https and
 * localhost), which are the only places the signature is needed.
 */
async function contentSha256(body: string): Promise<Record<string, string>> {
  if (!globalThis.crypto?.subtle) return {};
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
  const hex = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
  return { 'x-amz-content-sha256': hex };
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    throw ProtocolError.client('BAD_RESPONSE', `an SSE event is not JSON: ${data.slice(0, 80)}`);
  }
}

/** A failure worth another attempt: the connection, not the service, went wrong. */
class Retryable extends Error {}

async function attempt(
  url: string,
  body: string,
  handlers: StreamHandlers,
  signal: AbortSignal,
  started: { value: boolean },
): Promise<Completion> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(await contentSha256(body)) },
      body,
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    throw new Retryable(error instanceof Error ? error.message : String(error));
  }
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) {
    // An error before the stream: the protocol's `{ "error": ... }` body and HTTP status.
    const text = await response.text();
    let document: unknown = null;
    try {
      document = JSON.parse(text) as unknown;
    } catch {
      if (response.status >= 500) throw new Retryable(`HTTP ${response.status}`);
    }
    throw ProtocolError.fromBody(isRecord(document) ? document.error : null, `HTTP ${response.status}`);
  }
  if (!response.body) throw ProtocolError.client('BAD_RESPONSE', 'the event stream has no body');
  let text = '';
  let expected = 0;
  let completion: Completion | undefined;
  await readEvents(response.body, (event) => {
    if (completion) return;
    const data = parseData(event.data);
    switch (event.event) {
      case 'chunk': {
        if (event.id !== String(expected)) {
          throw ProtocolError.client('SEQUENCE', `chunk id ${event.id ?? '(none)'} where ${expected} was due`);
        }
        expected += 1;
        const piece = isRecord(data) && typeof data.text === 'string' ? data.text : '';
        started.value = true;
        text += piece;
        handlers.onChunk(piece);
        break;
      }
      case 'complete': {
        if (!isRecord(data)) throw ProtocolError.client('BAD_RESPONSE', 'the complete event is not an object');
        completion = {
          text,
          usage: readUsage(data.usage),
          metrics: readMetrics(data.metrics),
          stopReason: typeof data.stopReason === 'string' ? data.stopReason : undefined,
        };
        break;
      }
      case 'error':
        throw ProtocolError.fromBody(isRecord(data) ? data.error : null, 'error event');
      default:
      // Unknown event names are additions to the protocol: skip them.
    }
  });
  if (completion) return completion;
  if (!started.value) throw new Retryable('the stream ended before any event');
  throw ProtocolError.client('NETWORK', 'the stream ended before the answer completed');
}

function run(url: string, request: GenerateRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<Completion> {
  return withRetries(url, request, handlers, signal).catch((error: unknown) => {
    throw asProtocolError(error);
  });
}

async function withRetries(
  url: string,
  request: GenerateRequest,
  handlers: StreamHandlers,
  signal: AbortSignal,
): Promise<Completion> {
  const body = JSON.stringify(request);
  const started = { value: false };
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(url, body, handlers, signal, started);
    } catch (error) {
      if (!(error instanceof Retryable) || started.value) throw error;
      if (n >= ATTEMPTS) {
        throw ProtocolError.client('NETWORK', `no answer after ${ATTEMPTS} attempts: ${error.message}`);
      }
      await sleep(BACKOFF_MS * 2 ** (n - 1), signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

const sse: StrategyClient = {
  name: 'sse',
  label: 'SSE (Function URL)',
  summary: 'streams chunks over one HTTP response',
  order: 2,
  run,
};
export default sse;
