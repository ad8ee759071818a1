// The sample's clients, each asked once through `origin` (host:port, which they reach as
// https:// and wss://), for the strategies in `keys` (comma separated). Prints a line per
// client; exits 1 when one did not answer, with what it got.
const [origin, keys] = process.argv.slice(2);
const { GenAIClient } = await import('./shared/api-clients/index.ts');

// The sample's own wiring: its index.ts gives each client its path under the CDN's domain.
const client = new GenAIClient({ cloudfront: origin, websocket: '', sse: '', rest: '' });
const clients = { websocket: client.wsClient, sse: client.sseClient, rest: client.restClient };
const LIMIT_MS = 60_000;

let failed = 0;
for (const key of keys.split(',')) {
  const chunks = [];
  const errors = [];
  const started = Date.now();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${LIMIT_MS / 1000} s`)), LIMIT_MS);
  });
  try {
    const answer = await Promise.race([
      clients[key].generate(
        { prompt: 'Tell me a story' },
        { onChunk: (_source, text) => chunks.push(text), onError: (error) => errors.push(error.message) },
      ),
      timeout,
    ]);
    if (!answer.text || chunks.length === 0 || errors.length > 0) {
      throw new Error(`text ${JSON.stringify(answer.text.slice(0, 40))}, ${chunks.length} chunks, errors: ${errors.join('; ') || 'none'}`);
    }
    console.log(`[ok  ] the sample's ${key} client: ${chunks.length} chunks, ${answer.text.length} characters, ${Date.now() - started} ms`);
  } catch (error) {
    failed += 1;
    console.log(`[FAIL] the sample's ${key} client: ${error?.message ?? JSON.stringify(error)}`);
  } finally {
    clearTimeout(timer);
  }
}
client.disconnect();
process.exit(failed ? 1 : 0);
