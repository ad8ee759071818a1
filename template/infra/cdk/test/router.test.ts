// The CloudFront Function, run as CloudFront runs it: the file's code with the stage and the
// router rules filled in, `handler(event)` called on a viewer-request event. The rules here
// are made up, since the router knows no strategy; the last tests read the project's own.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routerCode } from '../lib/cdn-stack.js';
import { loadProject, routerRule, type RouterRule } from '../lib/project.js';

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
const feed: RouterRule = { prefix: '/feed', originPath: '/feed', exact: false };
const rpc: RouterRule = { prefix: '/rpc', originPath: '/{stage}', exact: false };
const all = router([socket, feed, rpc]);
const route = (handler: Handler, uri: string) => handler({ request: { uri } });

describe('router', () => {
  it('sends an exact prefix, with or without its slash, to the origin path, and 404s below it', () => {
    expect(route(all, '/sock')).toEqual({ uri: '/prod' });
    expect(route(all, '/sock/')).toEqual({ uri: '/prod' });
    expect(route(all, '/sock/other')).toMatchObject({ statusCode: 404 });
  });

  it('keeps what comes after a prefix that is not exact, which owns only the paths below it', () => {
    expect(route(all, '/feed')).toMatchObject({ statusCode: 404 });
    expect(route(all, '/feed/')).toEqual({ uri: '/feed/' });
    expect(route(all, '/rpc/ask')).toEqual({ uri: '/prod/ask' });
  });

  it('matches whole path segments only', () => {
    expect(route(all, '/feeds')).toMatchObject({ statusCode: 404 });
    expect(route(all, '/rpcs/ask')).toMatchObject({ statusCode: 404 });
  });

  it('serves files by name, index.html for /, and 404 on any other path that is not a file', () => {
    expect(route(all, '/config.json')).toEqual({ uri: '/config.json' });
    expect(route(all, '/assets/index-abc.js')).toEqual({ uri: '/assets/index-abc.js' });
    expect(route(all, '/')).toEqual({ uri: '/index.html' });
    expect(route(all, '/history')).toMatchObject({ statusCode: 404 });
  });

  it('answers 404 on the path of a strategy the project lacks', () => {
    const feedOnly = router([feed]);
    expect(route(feedOnly, '/sock')).toMatchObject({ statusCode: 404 });
    expect(route(feedOnly, '/rpc/ask')).toMatchObject({ statusCode: 404 });
    expect(route(feedOnly, '/feed/x')).toEqual({ uri: '/feed/x' });
  });
});

describe("the project's router rules", () => {
  const project = loadProject({ PATH: process.env.PATH });
  const services = Object.keys(project.services);
  const ruled = services.flatMap((service) => {
    const rule = routerRule(project, service);
    return rule ? [{ service, rule }] : [];
  });
  const rules = ruled.map((r) => r.rule);
  const declaredRoute = (service: string) => project.services[service].route;

  it("send each ruled service's PROTOCOL.md path to its origin, and no rule takes another's path", () => {
    const handler = router(rules);
    for (const service of services) {
      const at = declaredRoute(service);
      expect(at, service).toBeDefined();
      const own = ruled.find((r) => r.service === service);
      if (own) expect(route(handler, at), service).toHaveProperty('uri');
      for (const other of ruled.filter((r) => r.service !== service)) {
        const under = at === other.rule.prefix || at.startsWith(`${other.rule.prefix}/`);
        expect(under, `${service} under ${other.service}'s prefix`).toBe(false);
      }
    }
  });

  it('fit CloudFront Functions: ES5 syntax, under the 10 KB code limit', () => {
    const code = routerCode('prod', rules);
    expect(code.length).toBeLessThan(10 * 1024);
    expect(code).not.toMatch(/\b(const|let|class|import|export)\b|=>|`/);
    expect(readFileSync(new URL('../functions/router.js', import.meta.url), 'utf8')).toContain('__ROUTES__');
  });
});
