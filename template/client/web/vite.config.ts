import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// `npm run dev` serves the app with hot reload and forwards the strategy routes to the local
// stack (`make dev`, port 8080 unless STACK_URL says otherwise), so both use one origin.
const stack = process.env.STACK_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/config.json': stack,
      '/sse': stack,
      '/api': stack,
      '/ws': { target: stack.replace(/^http/, 'ws'), ws: true },
    },
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
