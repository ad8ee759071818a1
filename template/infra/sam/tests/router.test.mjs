// The CloudFront Function of cdn.yaml, run as CloudFront runs it: its inline code with the
// stage and the strategies filled in, handler(event) on a viewer-request event.
// `node --test tests/router.test.mjs` (make check-synth).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

function router(strategies) {
  const lines = readFileSync(new URL('../cdn.yaml', import.meta.url), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === 'FunctionCode: !Sub |') + 1;
  const indent = lines[start].length - lines[start].trimStart().length;
  const end = lines.findIndex((l, i) => i > start && l.trim() !== '' && l.length - l.trimStart().length < indent);
  const code = lines
    .slice(start, end)
    .map((l) => l.slice(indent))
    .join('\n')
    .replace('${Stage}', 'prod')
    .replace('${Strategies}', strategies.join(','));
  return new Function(`${code}\nreturn handler;`)();
}

const all = router(['websocket', 'sse', 'rest']);
const route = (handler, uri) => handler({ request: { uri } });

test('sends /ws and /ws/ to the WebSocket stage root', () => {
  assert.deepEqual(route(all, '/ws'), { uri: '/prod' });
  assert.deepEqual(route(all, '/ws/'), { uri: '/prod' });
  assert.equal(route(all, '/ws/other').statusCode, 404);
});

test('leaves SSE paths to the Function URL and maps /api/generate to the REST stage', () => {
  assert.deepEqual(route(all, '/sse/'), { uri: '/sse/' });
  assert.deepEqual(route(all, '/api/generate'), { uri: '/prod/generate' });
});

test('serves files by name, index.html for /, and 404 on any other path that is not a file', () => {
  assert.deepEqual(route(all, '/config.json'), { uri: '/config.json' });
  assert.deepEqual(route(all, '/'), { uri: '/index.html' });
  assert.equal(route(all, '/history').statusCode, 404);
});

test('answers 404 on the path of a strategy the project lacks', () => {
  const sseOnly = router(['sse']);
  assert.equal(route(sseOnly, '/ws').statusCode, 404);
  assert.equal(route(sseOnly, '/api/generate').statusCode, 404);
  assert.deepEqual(route(sseOnly, '/sse'), { uri: '/sse' });
});
