// Starts the project's local stack (dev/local: the real service binaries behind the emulated
// API Gateway and Function URL, fake Bedrock) for the client integration tests, and stops it.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    stackUrl: string;
  }
}

const root = fileURLToPath(new URL('../../../../', import.meta.url));

export default async function setup(project: TestProject) {
  // Builds the debug binaries (a no-op after `cargo test`); the target folder is Cargo's own,
  // so CARGO_TARGET_DIR is respected.
  execFileSync('cargo', ['build', '--quiet', '--bins'], { cwd: root, stdio: 'inherit' });
  const metadata = JSON.parse(
    execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], { cwd: root, encoding: 'utf8' }),
  ) as { target_directory: string };
  const bin = `${metadata.target_directory}/debug`;
  const stack = spawn(`${bin}/local`, ['--port', '0', '--bin-dir', bin], {
    cwd: root,
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    stack.once('exit', (code) => reject(new Error(`the local stack exited with ${code} before it was ready`)));
    createInterface({ input: stack.stdout }).on('line', (line) => {
      const ready = /^ready: (\S+)/.exec(line);
      if (ready) resolve(ready[1]);
    });
  });
  project.provide('stackUrl', url);
  return async () => {
    stack.kill('SIGTERM');
    await new Promise((resolve) => stack.once('exit', resolve));
  };
}
