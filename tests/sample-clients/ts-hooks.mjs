// Loads the sample's TypeScript as its bundler (vite) does: an extensionless relative import
// ('./websocket') is its .ts file, and TypeScript's own transpiler removes the types and the
// imports only types use (Node's type stripping keeps those, and fails on them). TypeScript
// comes from the project's web app (TYPESCRIPT_FROM: its package.json).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ts = createRequire(process.env.TYPESCRIPT_FROM)('typescript');

export async function resolve(specifier, context, next) {
  if (/^\.\.?\//.test(specifier) && !/\.[cm]?[jt]s$/.test(specifier)) {
    return next(`${specifier}.ts`, context);
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(fileURLToPath(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
