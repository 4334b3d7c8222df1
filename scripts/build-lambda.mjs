// `npm run build:lambda`: the server-side vendor as one ESM file, dist/lambda/handler.mjs (DESIGN §17), plus the
// policy parser's worker (policies over 64 KiB are parsed off the event loop, core/policy/parse-off-thread.ts) and a
// package.json that makes that worker's `.js` an ES module once the folder is zipped on its own. The metafile lists
// every source that went in; test/lambda-bundle.test.ts checks that no CLI, fastify, commander, pino-pretty or native
// addon code did.
import { build } from 'esbuild';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/lambda`;
mkdirSync(outdir, { recursive: true });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  absWorkingDir: root,
  metafile: true,
  legalComments: 'none',
  minify: true,
  // Error classes and SDK exceptions are told apart by name.
  keepNames: true,
  logLevel: 'warning',
  // The AWS SDK and pino are CommonJS that `require`s Node's own modules; an ES module has no `require` of its own.
  banner: {
    js: "import { createRequire as __sentinelRequire } from 'node:module';\nconst require = __sentinelRequire(import.meta.url);",
  },
};

const started = Date.now();
const [handler, worker] = await Promise.all([
  build({ ...common, entryPoints: ['lambda/handler.ts'], outfile: `${outdir}/handler.mjs` }),
  build({ ...common, entryPoints: ['core/policy/parse-worker.ts'], outfile: `${outdir}/parse-worker.js` }),
]);
writeFileSync(`${outdir}/package.json`, `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
writeFileSync(`${outdir}/meta.json`, JSON.stringify({ handler: handler.metafile, worker: worker.metafile }));
const bytes = handler.metafile.outputs['dist/lambda/handler.mjs']?.bytes ?? 0;
console.log(`dist/lambda/handler.mjs: ${(bytes / 1024).toFixed(0)} KiB in ${Date.now() - started} ms`);
