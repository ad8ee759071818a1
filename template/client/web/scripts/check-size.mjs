// The size budget of the first paint: the JavaScript index.html loads (its entry and the chunks
// the entry imports statically), gzipped, must stay within BUDGET. Lazy chunks (the chart) are
// listed but not counted. Run by `npm run build`; exits 1 over budget.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 100 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));

const initial = new Set();
const visit = (key) => {
  const chunk = manifest[key];
  if (!chunk || initial.has(chunk.file)) return;
  initial.add(chunk.file);
  for (const imported of chunk.imports ?? []) visit(imported);
};
for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);

const gzipped = (file) => gzipSync(readFileSync(join(dist, file))).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
let total = 0;
const lazy = [];
for (const chunk of Object.values(manifest)) {
  if (!chunk.file.endsWith('.js')) continue;
  const size = gzipped(chunk.file);
  if (initial.has(chunk.file)) total += size;
  else lazy.push(chunk.file);
  console.log(`${initial.has(chunk.file) ? 'initial' : 'lazy   '}  ${kb(size).padStart(9)} gzip  ${chunk.file}`);
}
console.log(`initial JavaScript: ${kb(total)} gzip (budget ${kb(BUDGET)})`);
if (total > BUDGET) {
  console.error(`over budget by ${kb(total - BUDGET)}: load the new code lazily (import()) or drop a dependency`);
  process.exit(1);
}
if (!lazy.some((file) => file.includes('RaceChart'))) {
  console.error('the chart is not in a lazy chunk: keep `lazy(() => import(...RaceChart))` in App.tsx');
  process.exit(1);
}
