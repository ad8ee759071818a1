import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError } from '../../protocol';
import { Connection, KEEPALIVE_MS, type WebSocketConstructor } from './connection';
import { socketUrl } from './index';

const usage = { promptTokens: 3, completionTokens: 4, totalTokens: 7 };
const metrics = { firstTokenMs: 10, totalMs: 40 };

/** A stand-in for the browser's WebSocket: it records what is sent and lets the test answer. */
class FakeSocket {
  static last: FakeSocket;
  readyState = 0;
  sent: { requestId: string; action: string; tailInSuccess?: boolean }[] = [];
  closed?: number;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as FakeSocket['sent'][number]);
  }
  close(code: number) {
    this.closed = code;
  }
  frame(value: object) {
    this.onmessage?.({ data: JSON.stringify(value) });
  }
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const Socket = FakeSocket as unknown as WebSocketConstructor;

async function sent(socket: () => FakeSocket, count: number) {
  while ((socket()?.sent.length ?? 0) < count) await new Promise((r) => setTimeout(r, 0));
  return socket().sent;
}

describe('websocket Connection', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('connects ahead of the first request, which then uses that socket and opens none', async () => {
    const connection = new Connection('ws://test/ws', Socket);
    await connection.connect(new AbortController().signal);
    const opened = FakeSocket.last;
    expect(opened.readyState).toBe(1);
    expect(opened.sent).toEqual([]);
    const answer = connection.request({ prompt: 'x' }, { onChunk: () => {} }, new AbortController().signal);
    const [message] = await sent(() => FakeSocket.last, 1);
    expect(FakeSocket.last).toBe(opened);
    opened.frame({ type: 'chunk', requestId: message.requestId, seq: 0, payload: { text: 'hi' } });
    opened.frame({ type: 'success', requestId: message.requestId, seq: 1, payload: { text: 'hi', usage, metrics } });
    expect((await answer).text).toBe('hi');
  });

  it("pings an idle socket before API Gateway's idle timeout, and stops after a drop", async () => {
    vi.useFakeTimers();
    const connection = new Connection('ws://stack/ws', Socket);
    const answer = connection.request({ prompt: 'p' }, { onChunk: () => {} }, new AbortController().signal);
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.last;
    const [message] = socket.sent;
    socket.frame({ type: 'success', requestId: message.requestId, seq: 0, payload: { text: '', usage, metrics } });
    await answer;
    await vi.advanceTimersByTimeAsync(KEEPALIVE_MS - 1000);
    expect(socket.sent.map((m) => m.action)).toEqual(['generate']);
    await vi.advanceTimersByTimeAsync(KEEPALIVE_MS);
    expect(socket.sent.map((m) => m.action)).toEqual(['generate', 'ping']);
    socket.drop(1001);
    await vi.advanceTimersByTimeAsync(3 * KEEPALIVE_MS);
    expect(socket.sent.map((m) => m.action)).toEqual(['generate', 'ping']);
  });

  it('tells interleaved requests apart by requestId and checks seq per request', async () => {
    const connection = new Connection('ws://stack/ws', Socket);
    const texts = { a: '', b: '' };
    const a = connection.request({ prompt: 'a' }, { onChunk: (t) => (texts.a += t) }, new AbortController().signal);
    const b = connection.request({ prompt: 'b' }, { onChunk: (t) => (texts.b += t) }, new AbortController().signal);
    const [first, second] = await sent(() => FakeSocket.last, 2);
    expect(first.action).toBe('generate');
    expect(first.requestId).not.toBe(second.requestId);
    const socket = FakeSocket.last;
    socket.frame({ type: 'chunk', requestId: second.requestId, seq: 0, payload: { text: 'B1' } });
    socket.frame({ type: 'chunk', requestId: first.requestId, seq: 0, payload: { text: 'A1' } });
    socket.frame({ type: 'chunk', requestId: first.requestId, seq: 1, payload: { text: 'A2' } });
    socket.frame({ type: 'success', requestId: first.requestId, seq: 2, payload: { text: 'A1A2', usage, metrics } });
    socket.frame({ type: 'success', requestId: second.requestId, seq: 1, payload: { text: 'B1', usage, metrics } });
    await expect(a).resolves.toMatchObject({ text: 'A1A2', usage, metrics });
    await expect(b).resolves.toMatchObject({ text: 'B1' });
    expect(texts).toEqual({ a: 'A1A2', b: 'B1' });
    expect(connection.inFlight).toBe(0);
  });

  it("appends the success frame's tail, also when the text outgrew the frame", async () => {
    const connection = new Connection('ws://stack/ws', Socket);
    let live = '';
    const answer = connection.request({ prompt: 'p' }, { onChunk: (t) => (live += t) }, new AbortController().signal);
    const [message] = await sent(() => FakeSocket.last, 1);
    expect(message.tailInSuccess).toBe(true);
    const { requestId } = message;
    FakeSocket.last.frame({ type: 'chunk', requestId, seq: 0, payload: { text: 'Once' } });
    FakeSocket.last.frame({
      type: 'success',
      requestId,
      seq: 1,
      payload: { text: '', textInChunks: true, tail: ' upon a time', usage, metrics },
    });
    await expect(answer).resolves.toMatchObject({ text: 'Once upon a time', usage });
    expect(live).toBe('Once upon a time');
  });

  it.each([
    ['a gap', [0, 2]],
    ['a reorder', [1, 0]],
    ['a repeat', [0, 0]],
  ])('shows %s in seq as a SEQUENCE error', async (_name, seqs) => {
    const connection = new Connection('ws://stack/ws', Socket);
    const answer = connection.request({ prompt: 'p' }, { onChunk: () => {} }, new AbortController().signal);
    const [message] = await sent(() => FakeSocket.last, 1);
    for (const seq of seqs) {
      FakeSocket.last.frame({ type: 'chunk', requestId: message.requestId, seq, payload: { text: 'x' } });
    }
    await expect(answer).rejects.toMatchObject({ code: 'SEQUENCE' });
  });

  it("passes the protocol's error frame through with its code", async () => {
    const connection = new Connection('ws://stack/ws', Socket);
    const answer = connection.request({ prompt: 'p' }, { onChunk: () => {} }, new AbortController().signal);
    const [message] = await sent(() => FakeSocket.last, 1);
    FakeSocket.last.frame({
      type: 'error',
      requestId: message.requestId,
      payload: { code: 'THROTTLED', message: 'slow down', statusCode: 429 },
    });
    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ code: 'THROTTLED', message: 'slow down', statusCode: 429 });
  });

  it('fails requests in flight when the connection drops, and reconnects for the next one', async () => {
    const connection = new Connection('ws://stack/ws', Socket);
    const answer = connection.request({ prompt: 'p' }, { onChunk: () => {} }, new AbortController().signal);
    await sent(() => FakeSocket.last, 1);
    const dropped = FakeSocket.last;
    dropped.drop(1006);
    await expect(answer).rejects.toMatchObject({ code: 'NETWORK', message: expect.stringContaining('1006') });
    const next = connection.request({ prompt: 'q' }, { onChunk: () => {} }, new AbortController().signal);
    const [message] = await sent(() => FakeSocket.last, 1);
    expect(FakeSocket.last).not.toBe(dropped);
    FakeSocket.last.frame({ type: 'success', requestId: message.requestId, seq: 0, payload: { text: '', usage, metrics } });
    await expect(next).resolves.toMatchObject({ usage });
  });

  it('cancel rejects with CANCELLED and closes a socket nobody else uses', async () => {
    const connection = new Connection('ws://stack/ws', Socket);
    const controller = new AbortController();
    const answer = connection.request({ prompt: 'p' }, { onChunk: () => {} }, controller.signal);
    await sent(() => FakeSocket.last, 1);
    controller.abort();
    await expect(answer).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(FakeSocket.last.closed).toBe(1000);
  });
});

describe('socketUrl', () => {
  it('opens the endpoint config.json gives on the WebSocket scheme of its http scheme', () => {
    expect(socketUrl('https://d111.cloudfront.net/ws')).toBe('wss://d111.cloudfront.net/ws');
    expect(socketUrl('http://127.0.0.1:8080/ws')).toBe('ws://127.0.0.1:8080/ws');
    expect(socketUrl('wss://example.com/ws')).toBe('wss://example.com/ws');
  });
});
