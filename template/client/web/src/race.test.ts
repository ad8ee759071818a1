import { describe, expect, it } from 'vitest';
import type { AppConfig } from './config';
import { ProtocolError, type Completion } from './protocol';
import { race, type Lane } from './race';
import type { StrategyClient } from './strategies/types';

const completion: Completion = {
  text: 'hi',
  usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
  metrics: { firstTokenMs: 1, totalMs: 2 },
};

/** A client that sends `chunks` chunks `gapMs` apart, then completes; aborting rejects it. */
function client(name: string, chunks: number, gapMs: number): StrategyClient {
  return {
    name,
    label: name,
    summary: `sends ${chunks} chunks`,
    order: 0,
    run: (_url, _request, handlers, signal) =>
      new Promise((resolve, reject) => {
        let sent = 0;
        const tick = setInterval(() => {
          if (sent === chunks) {
            clearInterval(tick);
            resolve(completion);
            return;
          }
          sent += 1;
          handlers.onChunk('x');
        }, gapMs);
        signal.addEventListener('abort', () => {
          clearInterval(tick);
          reject(ProtocolError.client('CANCELLED', 'cancelled'));
        });
      }),
  };
}

const config = { strategies: { silent: '/silent', steady: '/steady' } } as unknown as AppConfig;

describe('race', () => {
  it('gives up on a request that goes silent, and not on one that keeps streaming', async () => {
    const lanes = new Map<string, Lane>();
    const result = await race({
      // Never a word vs. a chunk every 20 ms for longer than the stall limit in all.
      clients: [client('silent', 0, 10_000), client('steady', 10, 20)],
      config,
      request: { prompt: 'x' },
      mode: 'parallel',
      runs: 1,
      signal: new AbortController().signal,
      onLane: (strategy, lane) => lanes.set(strategy, lane),
      stallMs: 100,
    });
    expect(lanes.get('silent')?.status).toBe('error');
    expect(result.errors).toEqual([expect.objectContaining({ strategy: 'silent', code: 'CLIENT_TIMEOUT' })]);
    expect(lanes.get('steady')?.status).toBe('done');
    expect(result.samples.map((s) => s.strategy)).toEqual(['steady']);
  });

  it('reports Stop as cancelled, not as a timeout', async () => {
    const stop = new AbortController();
    const lanes = new Map<string, Lane>();
    const running = race({
      clients: [client('silent', 0, 10_000)],
      config,
      request: { prompt: 'x' },
      mode: 'parallel',
      runs: 1,
      signal: stop.signal,
      onLane: (strategy, lane) => lanes.set(strategy, lane),
      stallMs: 1_000,
    });
    stop.abort();
    const result = await running;
    expect(result.errors).toEqual([expect.objectContaining({ code: 'CANCELLED' })]);
    expect(lanes.get('silent')?.status).toBe('cancelled');
  });

  it("times a connection's handshake as connect, outside the first run's first-chunk time", async () => {
    // A WebSocket-like client: opening takes 300 ms the first time, nothing once open.
    let open = false;
    const socketLike: StrategyClient = {
      ...client('steady', 3, 20),
      connect: async () => {
        if (!open) await new Promise((resolve) => setTimeout(resolve, 300));
        open = true;
      },
    };
    const lanes: Lane[] = [];
    const result = await race({
      clients: [socketLike],
      config,
      request: { prompt: 'x' },
      mode: 'sequential',
      runs: 2,
      signal: new AbortController().signal,
      onLane: (_strategy, lane) => lanes.push(lane),
    });
    const [first, second] = result.samples;
    expect(first.connectMs).toBeGreaterThanOrEqual(290);
    // The first chunk comes 20 ms into the request: the handshake is not in it.
    expect(first.firstChunkMs).toBeLessThan(200);
    expect(second.connectMs).toBeLessThan(50);
    expect(lanes.find((l) => l.run === 1 && l.status === 'done')?.connectMs).toBe(first.connectMs);
  });

  it('runs an uncounted warm-up first when asked, and shows it as run 0', async () => {
    const lanes: Lane[] = [];
    const result = await race({
      clients: [client('steady', 2, 5)],
      config,
      request: { prompt: 'x' },
      mode: 'parallel',
      runs: 2,
      warmUp: true,
      signal: new AbortController().signal,
      onLane: (_strategy, lane) => lanes.push(lane),
    });
    expect(result.samples.map((s) => s.run)).toEqual([1, 2]);
    expect(lanes.filter((l) => l.status === 'done').map((l) => l.run)).toEqual([0, 1, 2]);
  });

  it('gives up on a connection that never opens, as on a silent answer', async () => {
    const hanging: StrategyClient = { ...client('steady', 1, 5), connect: () => new Promise(() => {}) };
    const result = await race({
      clients: [hanging],
      config,
      request: { prompt: 'x' },
      mode: 'parallel',
      runs: 1,
      signal: new AbortController().signal,
      onLane: () => {},
      stallMs: 100,
    });
    expect(result.errors).toEqual([expect.objectContaining({ code: 'CLIENT_TIMEOUT' })]);
  });
});
