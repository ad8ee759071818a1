import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Synthesizing every stack with cdk-nag takes a few seconds per app, more on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
