// `npm run bench [-- NAME…]`: run the benchmarks (all, or the named ones: bundle, updater,
// policy, console) one after another, each printing its own table. Not a test.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const all = ['policy', 'bundle', 'updater', 'console'];
const picked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = picked.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${all.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of picked.length > 0 ? picked : all) {
  process.stderr.write(`\n=== ${name} ===\n`);
  const script = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url));
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) failed += 1;
}
process.exit(failed > 0 ? 1 : 0);
