// Every strategy client this project has, in Node, against the real local stack: the same code
// the page runs, over real sockets, to the real service binaries and the fake Bedrock.
import { WebSocket as NodeWebSocket } from 'ws';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/config';
import { ProtocolError, type Completion, type GenerateRequest } from '../../src/protocol';
import { clients } from '../../src/strategies/registry';
import type { StrategyClient } from '../../src/strategies/types';

// Node 20 has no global WebSocket; `ws` implements the browser's interface.
globalThis.WebSocket ??= NodeWebSocket as unknown as typeof WebSocket;

const base = inject('stackUrl');
let config: AppConfig;

beforeAll(async () => {
  config = await loadConfig(base);
});

async function ask(client: StrategyClient, request: GenerateRequest, signal = new AbortController().signal) {
  const chunks: string[] = [];
  const completion = await client.run(config.strategies[client.name], request, { onChunk: (t) => chunks.push(t) }, signal);
  return { chunks, completion };
}

async function failure(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => new Error('expected the request to fail'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

async function bedrock(): Promise<{ calls: number; hangups: number }> {
  const status = (await (await fetch(new URL('/_local/status', base))).json()) as {
    bedrock: { calls: number; hangups: number };
  };
  return status.bedrock;
}

describe('strategy clients against the local stack', () => {
  it('config.json serves exactly the strategies whose folders this project has', () => {
    expect(Object.keys(config.strategies).sort()).toEqual(clients.map((c) => c.name).sort());
  });

  it('every strategy streams the same text with usage and server metrics', async () => {
    const answers: Completion[] = [];
    for (const client of clients) {
      const { chunks, completion } = await ask(client, { prompt: 'Compare the strategies [tokens=40]', maxTokens: 100 });
      expect(chunks.join(''), client.name).toBe(completion.text);
      expect(completion.text.length).toBeGreaterThan(0);
      expect(completion.usage.completionTokens).toBe(40);
      expect(completion.metrics.firstTokenMs).toBeLessThanOrEqual(completion.metrics.totalMs);
      expect(completion.stopReason).toBe('end_turn');
      answers.push(completion);
    }
    for (const answer of answers) {
      expect(answer.text).toBe(answers[0].text);
      expect(answer.usage).toEqual(answers[0].usage);
    }
  });

  it.each([
    ['[fault=throttle]', 'THROTTLED'],
    ['[fault=access-denied]', 'MODEL_ACCESS_DENIED'],
    ['[fault=stream-error] [after=5]', 'MODEL_ERROR'],
  ])('a Bedrock fault %s reaches every client as %s', async (directive, code) => {
    for (const client of clients) {
      const error = await failure(ask(client, { prompt: `fail ${directive}` }));
      expect(error.code, client.name).toBe(code);
    }
  });

  it('a bad request is answered with BAD_REQUEST and never reaches the model', async () => {
    const before = await bedrock();
    for (const client of clients) {
      const error = await failure(ask(client, { prompt: 'too long', maxTokens: config.limits.maxTokens + 1 }));
      expect(error.code, client.name).toBe('BAD_REQUEST');
    }
    expect((await bedrock()).calls).toBe(before.calls);
  });

  it('cancelling a stream rejects with CANCELLED and stops the model', async () => {
    for (const client of clients.filter((c) => !c.buffered)) {
      const before = await bedrock();
      const controller = new AbortController();
      const chunks: string[] = [];
      const answer = client.run(
        config.strategies[client.name],
        { prompt: 'a long one [tokens=2000] [tps=50]', maxTokens: 2000 },
        {
          onChunk(text) {
            chunks.push(text);
            controller.abort();
          },
        },
        controller.signal,
      );
      expect((await failure(answer)).code, client.name).toBe('CANCELLED');
      // The fake counts a client that leaves before the end of its answer.
      await expect.poll(async () => (await bedrock()).hangups, { timeout: 10_000 }).toBeGreaterThan(before.hangups);
    }
  });
});
