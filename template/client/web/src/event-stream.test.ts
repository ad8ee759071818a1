import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError } from './protocol';
import { ATTEMPTS, postEvents, readEvents, type PostOptions } from './event-stream';

const STREAM =
  'id: 0\nevent: chunk\ndata: {"text":"Grüße, "}\n\n' +
  ': ping\n\n' +
  'id: 1\nevent: chunk\ndata: {"text":"naïve 🌍"}\n\n' +
  'event: complete\ndata: {"status":"done"}\n\n';

function body(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

async function collect(parts: Uint8Array[]) {
  const events: { id?: string; event?: string; data: string }[] = [];
  await readEvents(body(parts), ({ id, event, data }) => events.push({ id, event, data }));
  return events;
}

describe('readEvents', () => {
  it('reads the same events wherever the network splits the bytes, even inside a character', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    const whole = await collect([bytes]);
    expect(whole).toEqual([
      { id: '0', event: 'chunk', data: '{"text":"Grüße, "}' },
      { id: '1', event: 'chunk', data: '{"text":"naïve 🌍"}' },
      { id: undefined, event: 'complete', data: '{"status":"done"}' },
    ]);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      expect(await collect([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(whole);
    }
    const oneByOne = Array.from(bytes, (byte) => Uint8Array.of(byte));
    expect(await collect(oneByOne)).toEqual(whole);
  });

  it('cancels the body when the handler rejects an event', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: chunk\ndata: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    await expect(
      readEvents(stream, () => {
        throw new Error('bad event');
      }),
    ).rejects.toThrow('bad event');
    expect(cancelled).toBe(true);
  });
});

const COMPLETE =
  'event: complete\ndata: {"status":"done","usage":{"promptTokens":3,"completionTokens":2,"totalTokens":5},' +
  '"metrics":{"firstTokenMs":40,"totalMs":90,"coldStart":false},"stopReason":"end_turn"}\n\n';

/** A response whose body streams `parts` and then ends. */
function eventStream(...parts: string[]): Response {
  const encoder = new TextEncoder();
  return new Response(body(parts.map((part) => encoder.encode(part))), {
    headers: { 'content-type': 'text/event-stream' },
  });
}

/** Stubs fetch with answers given in turn, and returns the stub to inspect the requests. */
function answering(...answers: (Response | Error)[]) {
  const stub = vi.fn<typeof fetch>(() => {
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  });
  vi.stubGlobal('fetch', stub);
  return stub;
}

async function ask(url = 'https://app.example/events', options?: PostOptions) {
  const chunks: string[] = [];
  const completion = await postEvents(
    url,
    { prompt: 'hi', maxTokens: 20 },
    { onChunk: (text) => chunks.push(text) },
    new AbortController().signal,
    options,
  );
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

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('postEvents', () => {
  it('POSTs the JSON request and yields the chunks in order, skipping pings, then the completion', async () => {
    const fetchStub = answering(
      eventStream('id: 0\nevent: chunk\ndata: {"text":"Hel"}\n\n: ping\n\n', 'id: 1\nevent: chunk\ndata: {"text":"lo"}\n\n', COMPLETE),
    );
    const { chunks, completion } = await ask('https://app.example/events', {
      headers: (sent) => Promise.resolve({ 'x-body-length': String(sent.length) }),
    });
    expect(chunks).toEqual(['Hel', 'lo']);
    expect(completion).toEqual({
      text: 'Hello',
      usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
      metrics: { firstTokenMs: 40, totalMs: 90, modelLatencyMs: undefined, coldStart: false },
      stopReason: 'end_turn',
    });
    const [url, init] = fetchStub.mock.calls[0];
    expect(url).toBe('https://app.example/events');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual({ prompt: 'hi', maxTokens: 20 });
    // A strategy's own headers are computed from the exact body sent.
    expect(init?.headers).toEqual({
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'x-body-length': String(String(init?.body).length),
    });
  });

  it("reports the protocol's error event with its code", async () => {
    answering(
      eventStream(
        'id: 0\nevent: chunk\ndata: {"text":"Once"}\n\n',
        'event: error\ndata: {"error":{"code":"MODEL_ERROR","message":"the model failed","statusCode":502}}\n\n',
      ),
    );
    const error = await failure(ask());
    expect(error.code).toBe('MODEL_ERROR');
    expect(error.message).toBe('the model failed');
  });

  it('rejects a chunk out of sequence', async () => {
    answering(eventStream('id: 0\nevent: chunk\ndata: {"text":"a"}\n\n', 'id: 2\nevent: chunk\ndata: {"text":"c"}\n\n'));
    expect((await failure(ask())).code).toBe('SEQUENCE');
  });

  it("reads an error answered before the stream from the protocol's JSON body, without retrying", async () => {
    const fetchStub = answering(
      new Response(JSON.stringify({ error: { code: 'BAD_REQUEST', message: 'prompt is required', statusCode: 400 } }), {
        status: 400,
        headers: { 'content-type': 'application/json' },
      }),
    );
    const error = await failure(ask());
    expect([error.code, error.statusCode]).toEqual(['BAD_REQUEST', 400]);
    expect(fetchStub).toHaveBeenCalledTimes(1);
  });

  it('retries a connection that fails before the first chunk', async () => {
    const fetchStub = answering(new TypeError('Failed to fetch'), eventStream('id: 0\nevent: chunk\ndata: {"text":"ok"}\n\n', COMPLETE));
    expect((await ask()).completion.text).toBe('ok');
    expect(fetchStub).toHaveBeenCalledTimes(2);
  });

  it(`gives up with NETWORK after ${ATTEMPTS} failed connections`, async () => {
    vi.useFakeTimers();
    const fetchStub = answering(...Array.from({ length: ATTEMPTS }, () => new TypeError('Failed to fetch')));
    const answer = failure(ask());
    // The backoff between attempts, without waiting it out.
    await vi.runAllTimersAsync();
    const error = await answer;
    expect(error.code).toBe('NETWORK');
    expect(fetchStub).toHaveBeenCalledTimes(ATTEMPTS);
  });

  it('reports a stream that breaks off after text has arrived, rather than asking again', async () => {
    const fetchStub = answering(eventStream('id: 0\nevent: chunk\ndata: {"text":"Once"}\n\n'));
    const error = await failure(ask());
    expect(error.code).toBe('NETWORK');
    expect(fetchStub).toHaveBeenCalledTimes(1);
  });
});
