import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import type { ProxyOptions } from 'vite';
import { defineConfig } from 'vitest/config';

// `npm run dev` serves the app with hot reload and forwards the strategy routes to the local
// stack (`make dev`, port 8080 unless STACK_URL says otherwise), so both use one origin.
const stack = process.env.STACK_URL ?? 'http://127.0.0.1:8080';

/** What `cargo metadata` says of a package's `[package.metadata]`. */
interface Package {
  metadata: { 'genai-scaffold'?: { route?: string; trigger?: string } } | null;
}

/**
 * A proxy entry per strategy the project has, from what each service declares in its manifest
 * (`route` and `trigger` under `[package.metadata.genai-scaffold]`), read by Cargo itself, so
 * this file names none of them and parses no TOML.
 */
function strategyProxies(): Record<string, string | ProxyOptions> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const metadata = execFileSync('cargo', ['metadata', '--no-deps', '--offline', '--format-version', '1'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const proxies: Record<string, string | ProxyOptions> = {};
  for (const { metadata: declared } of (JSON.parse(metadata) as { packages: Package[] }).packages) {
    const service = declared?.['genai-scaffold'];
    if (!service?.route) continue;
    proxies[service.route] = service.trigger === 'apigateway-websocket' ? { target: stack.replace(/^http/, 'ws'), ws: true } : stack;
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
