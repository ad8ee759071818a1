// The CloudFront Function, run as CloudFront runs it: the file's code with the stage and the
// strategies filled in, `handler(event)` called on a viewer-request event.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routerCode } from '../lib/cdn-stack.js';

interface Request {
  uri: string;
}
interface Response {
  statusCode: number;
}
type Handler = (event: { request: Request }) => Request | Response;

function router(strategies: string[]): Handler {
  const code = routerCode('prod', strategies);
  return new Function(`${code}\nreturn handler;`)() as Handler;
}

const all = router(['websocket', 'sse', 'rest']);
const route = (handler: Handler, uri: string) => handler({ request: { uri } });

describe('router', () => {
  it('sends /ws and /ws/ to the WebSocket stage root', () => {
    expect(route(all, '/ws')).toEqual({ uri: '/prod' });
    expect(route(all, '/ws/')).toEqual({ uri: '/prod' });
    expect(route(all, '/ws/other')).toMatchObject({ statusCode: 404 });
  });

  it('leaves SSE paths to the Function URL as they are', () => {
    expect(route(all, '/sse')).toEqual({ uri: '/sse' });
    expect(route(all, '/sse/')).toEqual({ uri: '/sse/' });
  });

  it('maps /api/generate to the REST stage resource', () => {
    expect(route(all, '/api/generate')).toEqual({ uri: '/prod/generate' });
  });

  it('serves files by name, index.html for /, and 404 on any other path that is not a file', () => {
    expect(route(all, '/config.json')).toEqual({ uri: '/config.json' });
    expect(route(all, '/assets/index-abc.js')).toEqual({ uri: '/assets/index-abc.js' });
    expect(route(all, '/')).toEqual({ uri: '/index.html' });
    expect(route(all, '/history')).toMatchObject({ statusCode: 404 });
  });

  it('answers 404 on the path of a strategy the project lacks', () => {
    const sseOnly = router(['sse']);
    expect(route(sseOnly, '/ws')).toMatchObject({ statusCode: 404 });
    expect(route(sseOnly, '/api/generate')).toMatchObject({ statusCode: 404 });
    expect(route(sseOnly, '/sse')).toEqual({ uri: '/sse' });
    expect(route(router(['websocket']), '/sse/')).toMatchObject({ statusCode: 404 });
  });

  it('fits CloudFront Functions: ES5 syntax, under the 10 KB code limit', () => {
    const code = routerCode('prod', ['websocket', 'sse', 'rest']);
    expect(code.length).toBeLessThan(10 * 1024);
    expect(code).not.toMatch(/\b(const|let|class|import|export)\b|=>|`/);
    expect(readFileSync(new URL('../functions/router.js', import.meta.url), 'utf8')).toContain('__STAGE__');
  });
});
