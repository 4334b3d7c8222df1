// core/ is the decision core every front end shares (DESIGN §1, §3.5): it must not reach up into a front end or
// pull in HTTP or CLI frameworks. The front ends are adapters over core/ side by side: the daemon and the Lambda
// vendor share only core/, never each other's files, and neither reaches into the CLI. This reads every import
// specifier under those folders and fails on any that crosses.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { ROOT } from './support/daemon.js';
import { tsFiles } from './support/ts-files.js';

const FORBIDDEN_PACKAGES = ['fastify', 'commander', 'node:http', 'http', 'node:https', 'https', 'node:http2'];

function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

/** Each import in `files` that reaches into one of `folders` (top-level folders of the repository) or names one of
 * `packages`, as `file → specifier`. */
function offences(files: string[], folders: string[], packages: string[] = []): string[] {
  const dirs = folders.map((d) => join(ROOT, d) + '/');
  const out: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const crosses = spec.startsWith('.')
        ? dirs.some((d) => resolve(dirname(file), spec).startsWith(d))
        : packages.includes(spec) || packages.some((p) => spec.startsWith(p + '/'));
      if (crosses) out.push(`${relative(ROOT, file)} → ${spec}`);
    }
  }
  return out;
}

t.test('nothing under core/ imports a front end, fastify, commander or node:http', async (t) => {
  const files = tsFiles(join(ROOT, 'core'));
  t.ok(files.length > 20, `core/ holds the decision core (${files.length} files)`);
  t.same(
    offences(files, ['daemon', 'cli', 'lambda', 'native'], FORBIDDEN_PACKAGES),
    [],
    'core/ imports only core/, Node built-ins other than HTTP, and libraries',
  );
});

/** `from` → folders it must not import, for the two credential servers. */
const ADAPTERS: Record<string, string[]> = { daemon: ['lambda', 'cli'], lambda: ['daemon', 'cli', 'native'] };

for (const [adapter, forbidden] of Object.entries(ADAPTERS)) {
  t.test(`nothing under ${adapter}/ imports ${forbidden.map((d) => `${d}/`).join(', ')}`, async (t) => {
    const files = tsFiles(join(ROOT, adapter));
    t.ok(files.length > 5, `${adapter}/ has ${files.length} files`);
    t.same(offences(files, forbidden), [], `${adapter}/ shares code with the other front ends only through core/`);
  });
}

t.test('the checker itself catches an offending import', async (t) => {
  t.same(specifiers(`import x from '../daemon/run.js';\nconst y = await import('fastify');`), [
    '../daemon/run.js',
    'fastify',
  ]);
});
