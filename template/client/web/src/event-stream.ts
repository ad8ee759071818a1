// Server-Sent Events over fetch (PROTOCOL.md, "Server-Sent Events"): POST the request, read
// `chunk` events until `complete` or `error`. Every strategy whose answer is an event stream
// reads it here, so they differ only in where the request goes, not in how the page reads it.
//
// Like a browser's EventSource, a connection that fails before the first chunk is retried a few
// times with backoff; once text has arrived, a failure is reported rather than silently
// re-asked.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ProtocolError, asProtocolError, isRecord, readMetrics, readUsage, type Completion, type GenerateRequest } from './protocol';
import type { StreamHandlers } from './strategies/types';

/** Attempts before giving up on a connection that fails before the first chunk. */
export const ATTEMPTS = 3;
const BACKOFF_MS = 250;

/** What a strategy adds to the shared request. */
export interface PostOptions {
  /**
   * Headers the request needs besides the JSON body's type and the accepted event stream,
   * computed from the exact body sent (a signature's hash of it, say).
   */
  headers?(body: string): Promise<Record<string, string>>;
}

/**
 * Reads a text/event-stream body with eventsource-parser, whose events may be split anywhere
 * across network chunks, even inside a UTF-8 character. Calls `onEvent` for each event, in
 * order, until the body ends; comments (`: ping`) are no events. If `onEvent` throws, the body
 * is cancelled (the server sees the client leave) and the error is rethrown.
 */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: EventSourceMessage) => void,
): Promise<void> {
  const parser = createParser({ onEvent });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
}

/**
 * Sends one request to `url` and reads its event stream: `onChunk` for each chunk, in order;
 * resolves with the completion or rejects with a `ProtocolError` (`CANCELLED` after `signal`
 * aborts).
 */
export function postEvents(
  url: string,
  request: GenerateRequest,
  handlers: StreamHandlers,
  signal: AbortSignal,
  options: PostOptions = {},
): Promise<Completion> {
  return withRetries(url, request, handlers, signal, options).catch((error: unknown) => {
    throw asProtocolError(error);
  });
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
  options: PostOptions,
  started: { value: boolean },
): Promise<Completion> {
  let response: Response;
  try {
    const extra = (await options.headers?.(body)) ?? {};
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...extra },
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

async function withRetries(
  url: string,
  request: GenerateRequest,
  handlers: StreamHandlers,
  signal: AbortSignal,
  options: PostOptions,
): Promise<Completion> {
  const body = JSON.stringify(request);
  const started = { value: false };
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(url, body, handlers, signal, options, started);
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
