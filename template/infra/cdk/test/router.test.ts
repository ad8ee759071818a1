// The CloudFront Function, run as CloudFront runs it: the file's code with the stage and the
// router rules filled in, `handler(event)` called on a viewer-request event. The rules here
// are made up, since the router knows no strategy; the last tests read the project's own.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { routerCode } from '../lib/cdn-stack.js';
import { PROJECT_ROOT, routerRule, type RouterRule } from '../lib/project.js';

interface Request {
  uri: string;
}
interface Response {
  statusCode: number;
}
type Handler = (event: { request: Request }) => Request | Response;

function router(rules: RouterRule[]): Handler {
  const code = routerCode('prod', rules);
  return new Function(`${code}\nreturn handler;`)() as Handler;
}

const socket: RouterRule = { prefix: '/sock', originPath: '/{stage}', exact: true };
const stream: RouterRule = { prefix: '/stream', originPath: '/stream', exact: false };
const rpc: RouterRule = { prefix: '/rpc', originPath: '/{stage}', exact: false };
const all = router([socket, stream, rpc]);
const route = (handler: Handler, uri: string) => handler({ request: { uri } });

describe('router', () => {
  it('sends an exact prefix, with or without its slash, to the origin path, and 404s below it', () => {
    expect(route(all, '/sock')).toEqual({ uri: '/prod' });
    expect(route(all, '/sock/')).toEqual({ uri: '/prod' });
    expect(route(all, '/sock/other')).toMatchObject({ statusCode: 404 });
  });

  it('keeps what comes after a prefix that is not exact', () => {
    expect(route(all, '/stream')).toEqual({ uri: '/stream' });
    expect(route(all, '/stream/')).toEqual({ uri: '/stream/' });
    expect(route(all, '/rpc/ask')).toEqual({ uri: '/prod/ask' });
  });

  it('matches whole path segments only', () => {
    expect(route(all, '/streams')).toMatchObject({ statusCode: 404 });
    expect(route(all, '/rpcs/ask')).toMatchObject({ statusCode: 404 });
  });

  it('serves files by name, index.html for /, and 404 on any other path that is not a file', () => {
    expect(route(all, '/config.json')).toEqual({ uri: '/config.json' });
    expect(route(all, '/assets/index-abc.js')).toEqual({ uri: '/assets/index-abc.js' });
    expect(route(all, '/')).toEqual({ uri: '/index.html' });
    expect(route(all, '/history')).toMatchObject({ statusCode: 404 });
  });

  it('answers 404 on the path of a strategy the project lacks', () => {
    const streamOnly = router([stream]);
    expect(route(streamOnly, '/sock')).toMatchObject({ statusCode: 404 });
    expect(route(streamOnly, '/rpc/ask')).toMatchObject({ statusCode: 404 });
    expect(route(streamOnly, '/stream')).toEqual({ uri: '/stream' });
  });
});

describe("the project's router rules", () => {
  const services = readdirSync(path.join(PROJECT_ROOT, 'services'));
  const rules = services.map((service) => routerRule(service));
  const declaredRoute = (service: string) =>
    /^route = "([^"]+)"$/m.exec(readFileSync(path.join(PROJECT_ROOT, 'services', service, 'Cargo.toml'), 'utf8'))?.[1];

  it("send each service's PROTOCOL.md path to its origin, and no prefix takes another's paths", () => {
    const handler = router(rules);
    services.forEach((service, i) => {
      const at = declaredRoute(service);
      expect(at, service).toBeDefined();
      const sent = route(handler, at as string);
      expect(sent, service).toHaveProperty('uri');
      for (const other of rules.filter((_, j) => j !== i)) {
        expect(at === other.prefix || (at as string).startsWith(`${other.prefix}/`), service).toBe(false);
      }
    });
  });

  it('fit CloudFront Functions: ES5 syntax, under the 10 KB code limit', () => {
    const code = routerCode('prod', rules);
    expect(code.length).toBeLessThan(10 * 1024);
    expect(code).not.toMatch(/\b(const|let|class|import|export)\b|=>|`/);
    expect(readFileSync(new URL('../functions/router.js', import.meta.url), 'utf8')).toContain('__ROUTES__');
  });
});
