import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from './config';

const PAGE = 'https://d111.cloudfront.net/';
const document = {
  stage: 'dev',
  region: 'us-east-1',
  model: 'us.amazon.nova-micro-v1:0',
  limits: { maxPromptBytes: 16384, maxTokens: 4096, defaultMaxTokens: 512 },
  strategies: { first: { url: '/first' }, second: { url: 'http://127.0.0.1:8080/api/second' } },
};

function answering(status: number, body: string): typeof fetch {
  return () => Promise.resolve(new Response(body, { status }));
}

describe('config', () => {
  it('resolves paths against the page and keeps full URLs', () => {
    const config = parseConfig(document, PAGE);
    expect(config.strategies).toEqual({
      first: 'https://d111.cloudfront.net/first',
      second: 'http://127.0.0.1:8080/api/second',
    });
    expect(config.limits.defaultMaxTokens).toBe(512);
  });

  it.each([
    ['not an object', 'dev', 'not a JSON object'],
    ['no limits', { ...document, limits: undefined }, 'no limits'],
    ['a bad limit', { ...document, limits: { ...document.limits, maxTokens: -1 } }, 'limits.maxTokens'],
    ['a strategy without url', { ...document, strategies: { first: {} } }, 'strategies.first.url'],
    ['no stage', { ...document, stage: 1 }, 'stage, region and model'],
  ])('rejects %s with a message naming the field', (_name, value, message) => {
    expect(() => parseConfig(value, PAGE)).toThrow(ConfigError);
    expect(() => parseConfig(value, PAGE)).toThrow(message);
  });

  it('loads /config.json next to the page and says what to do when it is missing', async () => {
    const config = await loadConfig(PAGE, answering(200, JSON.stringify(document)));
    expect(config.stage).toBe('dev');
    await expect(loadConfig(PAGE, answering(404, 'no'))).rejects.toThrow('make deploy-frontend');
    await expect(loadConfig(PAGE, answering(200, '<html>'))).rejects.toThrow('is not JSON');
    const offline: typeof fetch = () => Promise.reject(new TypeError('fetch failed'));
    await expect(loadConfig(PAGE, offline)).rejects.toThrow('make dev');
  });
});
