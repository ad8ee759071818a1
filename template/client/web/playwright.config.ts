import { defineConfig } from '@playwright/test';

// End-to-end in Chromium against `make dev`: the built app, the real service binaries and the
// fake Bedrock on one loopback origin. Chromium comes from the system (Debian's `chromium`
// package; scripts/ensure-chromium.sh installs it), not from a Playwright download.
const port = Number(process.env.E2E_PORT ?? 8787);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: 'tests/e2e',
  outputDir: 'test-results',
  timeout: 60_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL,
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
  webServer: {
    command: `make -C ../.. dev PORT=${port}`,
    url: `${baseURL}/config.json`,
    // The first `make dev` compiles the services and the local stack (minutes on 2 cores).
    timeout: 900_000,
    reuseExistingServer: !process.env.CI,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
