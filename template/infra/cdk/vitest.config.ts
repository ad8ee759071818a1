import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One worker that keeps its modules between test files: each worker of its own imports
    // aws-cdk-lib first, which cost more than the tests themselves (all strategies, 2 cores:
    // 34 s of CPU and 22 s in all, against 12 s and 9 s this way). Isolation buys nothing here:
    // the tests mock nothing and write no process.env; each file synthesizes its own app.
    isolate: false,
    maxWorkers: 1,
    // Synthesizing every stack with cdk-nag takes a few seconds per app, more on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
