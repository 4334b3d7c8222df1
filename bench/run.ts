// `npm run bench`: runs every benchmark in bench/ one after another (each prints its own table of same-run ratios),
// so that no two compete for the machine's two cores. `npm run bench -- daemon policy` runs a subset; `npm run bench --
// soak` runs the soak, which a plain `npm run bench` leaves out.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
/** Run only when named: the soak takes minutes (BENCH_SOAK_S, default 300) and measures growth, not a ratio. */
const ONLY_WHEN_NAMED = new Set(['soak']);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((name) => (wanted.length === 0 ? !ONLY_WHEN_NAMED.has(name) : wanted.includes(name)))
  .sort();

if (benches.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}`);
  process.exit(2);
}
let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench/${name}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], {
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${name}.ts exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
