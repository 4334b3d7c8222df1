// Coverage is only as good as its merge (docs/testing.md, "Coverage"): tap merges V8 coverage by file URL and byte
// offset, so a child process that transpiles this repository's TypeScript with another loader than tap's own reports
// different JavaScript under the same URL, and that file's coverage is dropped or garbled. Children that run sources
// take their loader from test/support/ts-loader.ts; this fails on any test file that names tsx instead.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './support/daemon.js';
import { tsFiles } from './support/ts-files.js';
import { typescriptLoaderArgs } from './support/ts-loader.js';

t.test('under tap, children get the loader tap runs this file with', async (t) => {
  const args = typescriptLoaderArgs();
  t.ok(args.length > 0 && args.every((a) => a.includes('@tapjs/typescript')), args.join(' '));
  t.ok(
    args.every((a) => process.execArgv.includes(a)),
    'the same --import as this process',
  );
});

t.test('no test starts a child with tsx', async (t) => {
  const offenders = tsFiles(join(ROOT, 'test'))
    .filter((f) => !f.endsWith(join('support', 'ts-loader.ts')) && !f.endsWith('coverage-loaders.test.ts'))
    .filter((f) => /['"`](--import=)?tsx['"`/]/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(ROOT, f));
  t.same(offenders, [], 'use typescriptLoaderArgs() from test/support/ts-loader.ts');
  t.ok(/['"`](--import=)?tsx['"`/]/.test(`spawn(node, ['--import', 'tsx', file])`), 'the check sees the old form');
});
