import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import sse from './index';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('sse client', () => {
  it("sends the body's SHA-256, which CloudFront's origin access control needs to sign the POST", async () => {
    const fetchStub = vi.fn<typeof fetch>(() =>
      Promise.resolve(
        new Response(
          'event: complete\ndata: {"usage":{"promptTokens":1,"completionTokens":0,"totalTokens":1},' +
            '"metrics":{"firstTokenMs":0,"totalMs":1}}\n\n',
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      ),
    );
    vi.stubGlobal('fetch', fetchStub);
    await sse.run('https://d111.cloudfront.net/sse', { prompt: 'Grüße 🌍' }, { onChunk: () => undefined }, new AbortController().signal);
    const [, init] = fetchStub.mock.calls[0];
    const body = String(init?.body);
    expect(init?.headers).toMatchObject({
      'x-amz-content-sha256': createHash('sha256').update(body, 'utf8').digest('hex'),
    });
  });
});
