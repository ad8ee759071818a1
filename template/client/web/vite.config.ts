import { existsSync, readFileSync, readdirSync } from 'node:fs';
import react from '@vitejs/plugin-react';
import type { ProxyOptions } from 'vite';
import { defineConfig } from 'vitest/config';

// `npm run dev` serves the app with hot reload and forwards the strategy routes to the local
// stack (`make dev`, port 8080 unless STACK_URL says otherwise), so both use one origin.
const stack = process.env.STACK_URL ?? 'http://127.0.0.1:8080';

/**
 * A proxy entry per strategy the project has, from what each service declares in its
 * manifest (`route` and `trigger` under `[package.metadata.genai-scaffold]`), so this file
 * names none of them.
 */
function strategyProxies(): Record<string, string | ProxyOptions> {
  const services = new URL('../../services/', import.meta.url);
  const proxies: Record<string, string | ProxyOptions> = {};
  for (const service of existsSync(services) ? readdirSync(services) : []) {
    const manifest = new URL(`${service}/Cargo.toml`, services);
    if (!existsSync(manifest)) continue;
    const text = readFileSync(manifest, 'utf8');
    const route = /^route = "([^"]+)"$/m.exec(text)?.[1];
    if (route === undefined) continue;
    proxies[route] = /^trigger = "apigateway-websocket"$/m.test(text)
      ? { target: stack.replace(/^http/, 'ws'), ws: true }
      : stack;
  }
  return proxies;
}

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { '/config.json': stack, ...strategyProxies() },
  },
  build: {
    // The size budget (scripts/check-size.mjs) reads the manifest to tell initial from lazy code.
    manifest: true,
  },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', environment: 'jsdom', include: ['src/**/*.test.{ts,tsx}'] },
      },
      {
        extends: true,
        test: {
          name: 'stack',
          environment: 'node',
          include: ['tests/stack/**/*.test.ts'],
          globalSetup: ['tests/stack/setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
