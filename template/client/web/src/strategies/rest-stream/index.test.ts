import { afterEach, describe, expect, it, vi } from 'vitest';
import restStream from './index';

const EVENTS =
  'id: 0\nevent: chunk\ndata: {"text":"Streamed "}\n\n' +
  ': ping\n\n' +
  'id: 1\nevent: chunk\ndata: {"text":"through REST"}\n\n' +
  'event: complete\ndata: {"status":"done","usage":{"promptTokens":4,"completionTokens":3,"totalTokens":7},' +
  '"metrics":{"firstTokenMs":120,"totalMs":480},"stopReason":"end_turn"}\n\n';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('rest-stream client', () => {
  it('POSTs the JSON request to its route and yields the chunks, then the completion', async () => {
    const bytes = new TextEncoder().encode(EVENTS);
    const fetchStub = vi.fn<typeof fetch>(() =>
      Promise.resolve(
        new Response(
          // Cut mid-event, as the network may.
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(bytes.slice(0, 30));
              controller.enqueue(bytes.slice(30));
              controller.close();
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      ),
    );
    vi.stubGlobal('fetch', fetchStub);
    const chunks: string[] = [];
    const request = { prompt: 'Why stream?', maxTokens: 64, temperature: 0.2 };
    const completion = await restStream.run(
      'https://d111.cloudfront.net/stream',
      request,
      { onChunk: (text) => chunks.push(text) },
      new AbortController().signal,
    );
    expect(chunks).toEqual(['Streamed ', 'through REST']);
    expect(completion.text).toBe('Streamed through REST');
    expect(completion.usage.completionTokens).toBe(3);
    expect(completion.metrics).toMatchObject({ firstTokenMs: 120, totalMs: 480 });
    expect(completion.stopReason).toBe('end_turn');

    expect(fetchStub).toHaveBeenCalledTimes(1);
    const [url, init] = fetchStub.mock.calls[0];
    expect(url).toBe('https://d111.cloudfront.net/stream');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual(request);
    // The CDN adds the origin secret on its way to the REST API: the page adds nothing to sign.
    expect(init?.headers).toEqual({ 'content-type': 'application/json', accept: 'text/event-stream' });
  });
});
