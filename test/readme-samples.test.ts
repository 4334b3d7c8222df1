// The README's sample outputs are what the program prints (issue 9 item 15): its policy, loaded by a real daemon whose
// clock stands on a Sunday at 10:12 in Berlin, refuses `sentinel use prod` with the README's exact Error/Hint lines;
// `sentinel server revoke` prints the README's lines, and the revoked session's next credential request is answered
// with the README's message. Only the session id, the policy path and user@host differ between runs, and only those
// are substituted.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { ROOT, startDaemon } from './support/daemon.js';
import { cleanEnv, requireBuild, sentinel, sentinelInProcess, tempDir, userEnv } from './support/cli.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const README_POLICY_PATH = '/home/alice/.config/sentinel/policy.yaml';
const README_ACTOR = 'alice@laptop';

function block(after: RegExp): string[] {
  const at = README.search(after);
  if (at < 0) throw new Error(`README has no ${after}`);
  const rest = README.slice(at);
  return rest.slice(0, rest.indexOf('```')).split('\n');
}

/** The lines of a console block from the `$ <command>` line up to the next prompt or the end of the block. */
function sample(command: RegExp): string[] {
  const lines = block(command).slice(1);
  const end = lines.findIndex((l) => l.startsWith('$ '));
  return (end < 0 ? lines : lines.slice(0, end)).filter((l) => l.length > 0);
}

// Sunday 2026-11-29, 10:12 in Berlin (CET, UTC+1); the clock runs on from there.
const SUNDAY = Date.parse('2026-11-29T09:12:00Z');

t.test('README samples match real output', async (t) => {
  requireBuild();
  const policy = block(/# ~\/\.config\/sentinel\/policy\.yaml\n/)
    .slice(1)
    .join('\n');
  t.match(policy, /name: prod-through-sentinel/, 'the README policy was found');
  const started = Date.now();
  const d = await startDaemon(t, { policy, now: () => new Date(SUNDAY + (Date.now() - started)) });
  const env = userEnv(d);
  const actor = `${userInfo().username}@${hostname()}`;
  const normalize = (text: string, id?: string) => {
    let out = text.split(d.policyFile).join(README_POLICY_PATH).split(actor).join(README_ACTOR);
    if (id) out = out.split(id).join('989eed608190fe3c');
    return out;
  };

  await t.test('the denial of `sentinel use prod` on a Sunday', async (t) => {
    const expected = sample(/\$ sentinel use prod {2,}# on a Sunday\n/);
    t.equal(expected.length, 2, 'an Error and a Hint line');
    const r = await sentinel(t, ['use', 'prod', '--shell', 'bash', '--shell-pid', String(process.pid)], { env });
    t.equal(r.code, 3, 'denied');
    t.same(normalize(r.stderr).trimEnd().split('\n'), expected);
  });

  await t.test('the revocation and what the revoked session gets next', async (t) => {
    const session = await d.openSession('dev');
    const expected = sample(/\$ sentinel server revoke \S+ --reason "laptop left unlocked"\n/);
    const r = await sentinel(t, ['server', 'revoke', session.id, '--reason', 'laptop left unlocked'], { env });
    t.equal(r.code, 0, r.stderr);
    t.same(normalize(r.stdout, session.id).trimEnd().split('\n'), expected);

    const next = await d.fetch({ transport: 'tcp', token: session.token });
    t.equal(next.status, 403);
    const message = /"Code":"SessionRevoked","Message":"([^"]+)"/.exec(README)?.[1];
    t.ok(message, 'the README shows the message');
    t.equal(normalize(next.json.Message, session.id), message);
  });
});

t.test(
  'the policy version `daemon start` prints in the README is that of the README policy, saved as shown',
  async (t) => {
    // The whole block, its first line (the file name as a comment) included: that is what a reader copies.
    const policy = block(/# ~\/\.config\/sentinel\/policy\.yaml\n/).join('\n');
    const file = join(tempDir(t, 'sentinel-readme-'), 'policy.yaml');
    writeFileSync(file, policy);
    const r = await sentinelInProcess(['policy', 'validate', '--json', file], { env: cleanEnv() });
    t.equal(r.code, 0, r.stderr);
    const printed = /^policy: 2 rules loaded from file:\S+ \(version ([0-9a-f]{12})\)$/m.exec(README)?.[1];
    t.ok(printed, 'the README shows the line `daemon start` prints');
    t.equal(printed, JSON.parse(r.stdout).files[0].version);
  },
);
