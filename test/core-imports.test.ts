// core/ is the decision core every front end shares (DESIGN §1, §3.5): it must not reach up into a front end or
// pull in HTTP or CLI frameworks. The front ends are adapters over core/ side by side: the daemon and the Lambda
// vendor share only core/, never each other's files, and neither reaches into the CLI. This reads every import
// specifier under those folders and fails on any that crosses.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { ROOT } from './support/daemon.js';

const CORE = join(ROOT, 'core');
const FORBIDDEN_PACKAGES = ['fastify', 'commander', 'node:http', 'http', 'node:https', 'https', 'node:http2'];
const FORBIDDEN_DIRS = ['daemon', 'cli', 'lambda', 'native'].map((d) => join(ROOT, d) + '/');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function specifiers(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

t.test('nothing under core/ imports a front end, fastify, commander or node:http', async (t) => {
  const files = tsFiles(CORE);
  t.ok(files.length > 20, `core/ holds the decision core (${files.length} files)`);
  const offences: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const where = relative(ROOT, file);
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (FORBIDDEN_DIRS.some((d) => target.startsWith(d))) offences.push(`${where} → ${spec}`);
      } else if (FORBIDDEN_PACKAGES.includes(spec) || FORBIDDEN_PACKAGES.some((p) => spec.startsWith(p + '/'))) {
        offences.push(`${where} → ${spec}`);
      }
    }
  }
  t.same(offences, [], 'core/ imports only core/, Node built-ins other than HTTP, and libraries');
});

/** `from` → folders it must not import, for the two credential servers. */
const ADAPTERS: Record<string, string[]> = { daemon: ['lambda', 'cli'], lambda: ['daemon', 'cli', 'native'] };

for (const [adapter, forbidden] of Object.entries(ADAPTERS)) {
  t.test(`nothing under ${adapter}/ imports ${forbidden.map((d) => `${d}/`).join(', ')}`, async (t) => {
    const files = tsFiles(join(ROOT, adapter));
    t.ok(files.length > 5, `${adapter}/ has ${files.length} files`);
    const dirs = forbidden.map((d) => join(ROOT, d) + '/');
    const offences: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.') && dirs.some((d) => resolve(dirname(file), spec).startsWith(d)))
          offences.push(`${relative(ROOT, file)} → ${spec}`);
      }
    }
    t.same(offences, [], `${adapter}/ shares code with the other front ends only through core/`);
  });
}

t.test('the checker itself catches an offending import', async (t) => {
  t.same(specifiers(`import x from '../daemon/run.js';\nconst y = await import('fastify');`), [
    '../daemon/run.js',
    'fastify',
  ]);
});
