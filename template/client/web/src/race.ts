// Sends one prompt through every chosen strategy, all at once or one after another, N times,
// and reports progress per strategy as it streams.
import type { AppConfig } from './config';
import { sampleOf, type Sample } from './metrics';
import { asProtocolError, ProtocolError, type Completion, type GenerateRequest } from './protocol';
import type { StrategyClient } from './strategies/types';

export type Mode = 'parallel' | 'sequential';

/**
 * How long a request may go without a word (no first chunk, or no next one) before the page
 * gives up on it: an answer that never comes ends in an error, not a spinner. Longer than the
 * services' own limits (REST answers or fails within API Gateway's 29 s; a model that stalls
 * mid-stream gets the protocol's error first), so it only fires when nothing will arrive.
 */
export const STALL_MS = 60_000;

/** A point of the race chart: ms since the request, characters received so far. */
export type Point = [number, number];

/** One strategy's panel. */
export interface Lane {
  status: 'waiting' | 'streaming' | 'done' | 'error' | 'cancelled';
  run: number;
  /** How long opening the client's connection took before this run's clock started. */
  connectMs?: number;
  text: string;
  points: Point[];
  completion?: Completion;
  error?: { code: string; message: string };
}

export interface RaceOptions {
  clients: StrategyClient[];
  config: AppConfig;
  request: GenerateRequest;
  mode: Mode;
  runs: number;
  /**
   * Run once more first, uncounted (run 0): it meets the cold instances and opens the
   * connections, so the counted runs compare warm strategies.
   */
  warmUp?: boolean;
  signal: AbortSignal;
  onLane(strategy: string, lane: Lane): void;
  now?: () => number;
  /** Overrides {@link STALL_MS} (tests). */
  stallMs?: number;
}

export interface RaceResult {
  samples: Sample[];
  errors: { strategy: string; run: number; code: string; message: string }[];
}

/** `work`, or CANCELLED as soon as `signal` aborts: a wait that Stop or a stall may end. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = () => reject(ProtocolError.client('CANCELLED', 'cancelled'));
    if (signal.aborted) {
      cancel();
      return;
    }
    signal.addEventListener('abort', cancel, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', cancel));
  });
}

export async function race(options: RaceOptions): Promise<RaceResult> {
  const { clients, config, request, mode, runs, signal, onLane } = options;
  const now = options.now ?? (() => performance.now());
  const result: RaceResult = { samples: [], errors: [] };

  const stallMs = options.stallMs ?? STALL_MS;

  const one = async (client: StrategyClient, run: number): Promise<void> => {
    const url = config.strategies[client.name];
    const lane: Lane = { status: 'waiting', run, text: '', points: [[0, 0]] };
    onLane(client.name, { ...lane });
    // This request's own signal: the race's Stop, or a stall.
    const perRequest = new AbortController();
    const stop = () => perRequest.abort();
    signal.addEventListener('abort', stop);
    let stalled = false;
    const onStall = () => {
      stalled = true;
      perRequest.abort();
    };
    let timer = setTimeout(onStall, stallMs);
    let firstChunkAt: number | undefined;
    try {
      // The connection first, timed on its own: the clock times the answer only, so the
      // first WebSocket run is not charged with the handshake the others never make.
      if (client.connect) {
        const connecting = now();
        await untilAborted(client.connect(url, perRequest.signal), perRequest.signal);
        lane.connectMs = Math.round(now() - connecting);
        onLane(client.name, { ...lane });
      }
      const startedAt = now();
      const completion = await client.run(
        url,
        request,
        {
          onChunk(text) {
            clearTimeout(timer);
            timer = setTimeout(onStall, stallMs);
            const at = now();
            firstChunkAt ??= at;
            lane.status = 'streaming';
            lane.text += text;
            lane.points = [...lane.points, [at - startedAt, lane.text.length]];
            onLane(client.name, { ...lane });
          },
        },
        perRequest.signal,
      );
      const endedAt = now();
      // The warm-up run is shown, never counted.
      if (run > 0) {
        result.samples.push({ ...sampleOf(client.name, run, startedAt, firstChunkAt, endedAt, completion), connectMs: lane.connectMs });
      }
      onLane(client.name, { ...lane, status: 'done', text: completion.text, completion });
    } catch (thrown) {
      const error = stalled
        ? ProtocolError.client('CLIENT_TIMEOUT', `no answer for ${Math.round(stallMs / 1000)} s; the request was given up`)
        : asProtocolError(thrown);
      const status = error.code === 'CANCELLED' ? 'cancelled' : 'error';
      result.errors.push({ strategy: client.name, run, code: error.code, message: error.message });
      onLane(client.name, { ...lane, status, error: { code: error.code, message: error.message } });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  };

  for (let run = options.warmUp ? 0 : 1; run <= runs && !signal.aborted; run += 1) {
    if (mode === 'parallel') {
      await Promise.all(clients.map((client) => one(client, run)));
    } else {
      for (const client of clients) {
        if (signal.aborted) break;
        await one(client, run);
      }
    }
  }
  return result;
}
