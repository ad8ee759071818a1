// The CloudFront Function of cdn.yaml, run as CloudFront runs it: its inline code with the
// router's rules filled in, handler(event) on a viewer-request event. The rules here are made
// up, since the router knows no strategy; parameters.py derives the real ones from the
// services' manifests (tests/test_templates.py, and each strategy's tests/test_<service>.py). `node --test tests/router.test.mjs`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

function router(routes) {
  const lines = readFileSync(new URL('../cdn.yaml', import.meta.url), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trim() === 'FunctionCode: !Sub |') + 1;
  const indent = lines[start].length - lines[start].trimStart().length;
  const end = lines.findIndex((l, i) => i > start && l.trim() !== '' && l.length - l.trimStart().length < indent);
  const code = lines
    .slice(start, end)
    .map((l) => l.slice(indent))
    .join('\n')
    .replace('${Routes}', routes);
  return { code, handler: new Function(`${code}\nreturn handler;`)() };
}

const all = router('/sock:/prod:exact,/feed:/feed:,/rpc:/prod:').handler;
const route = (handler, uri) => handler({ request: { uri } });

test('sends an exact prefix, with or without its slash, to the origin path, and 404s below it', () => {
  assert.deepEqual(route(all, '/sock'), { uri: '/prod' });
  assert.deepEqual(route(all, '/sock/'), { uri: '/prod' });
  assert.equal(route(all, '/sock/other').statusCode, 404);
});

test('keeps what comes after a prefix that is not exact, which owns only the paths below it', () => {
  assert.deepEqual(route(all, '/feed/'), { uri: '/feed/' });
  assert.equal(route(all, '/feed').statusCode, 404);
  assert.deepEqual(route(all, '/rpc/ask'), { uri: '/prod/ask' });
  assert.equal(route(all, '/feeds').statusCode, 404);
});

test('serves files by name, index.html for /, and 404 on any other path that is not a file', () => {
  assert.deepEqual(route(all, '/config.json'), { uri: '/config.json' });
  assert.deepEqual(route(all, '/'), { uri: '/index.html' });
  assert.equal(route(all, '/history').statusCode, 404);
});

test('answers 404 on the path of a strategy the project lacks', () => {
  const feedOnly = router('/feed:/feed:').handler;
  assert.equal(route(feedOnly, '/sock').statusCode, 404);
  assert.equal(route(feedOnly, '/rpc/ask').statusCode, 404);
  assert.deepEqual(route(feedOnly, '/feed/x'), { uri: '/feed/x' });
});

test('has no rule for none, what parameters.py passes when no strategy has one', () => {
  assert.equal(route(router('none').handler, '/api/x').statusCode, 404);
});

test('fits CloudFront Functions: ES5 syntax, under the 10 KB code limit', () => {
  const { code } = router('/sock:/prod:exact');
  assert.ok(code.length < 10 * 1024, `${code.length} bytes`);
  assert.doesNotMatch(code, /\b(const|let|class|import|export)\b|=>|`/);
});
