// Item 9 of issue 9 (DESIGN §8), in real bash against the real daemon: `use` in a shell whose session was revoked
// replaces it and says so, the prompt shows the new profile, `use --off` reports the real state, and a still-active
// session is still refused as nesting.
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quote } from '../cli/shell-emit.js';
import { startDaemon } from './support/daemon.js';
import { ENTRY, requireBuild, run, tempDir, userEnv } from './support/cli.js';

/** A bash script against a fresh daemon; `bin` stands for the built CLI in it. */
async function inBash(t: Test, script: (bin: string) => string) {
  requireBuild();
  const d = await startDaemon(t, { pidPollMs: 100 });
  const dir = tempDir(t);
  const bin = `${quote('bash', process.execPath)} ${quote('bash', ENTRY)}`;
  writeFileSync(join(dir, 'main'), `eval "$(${bin} shell init bash)"\n${script(bin)}`);
  const r = await run(t, '/usr/bin/bash', [join(dir, 'main')], { env: userEnv(d), cwd: dir, timeoutMs: 120_000 });
  return { d, r };
}

t.test('use after a revoked session, in bash', async (t) => {
  const { d, r } = await inBash(
    t,
    (bin) => `sentinel use dev
echo "FIRST=$SENTINEL_SESSION"
sentinel use dev; echo "NESTED_STATUS=$?"
${bin} server revoke "$SENTINEL_SESSION" --reason test >/dev/null
sentinel use prod; echo "REPLACE_STATUS=$?"
echo "SECOND=$SENTINEL_SESSION PROMPT=$(sentinel_prompt)"
${bin} server revoke "$SENTINEL_SESSION" --reason test >/dev/null
sentinel use --off; echo "OFF_STATUS=$?"
echo "AFTER=\${SENTINEL_SESSION:-none} CONFIG=\${AWS_CONFIG_FILE:-unset}"
`,
  );
  t.equal(r.code, 0, r.stderr);
  const first = /^FIRST=([0-9a-f]{16})$/m.exec(r.stdout)?.[1];
  t.ok(first);
  t.match(r.stdout, /^NESTED_STATUS=2$/m, 'an active session is still refused as nesting');
  t.match(r.stdout, /^REPLACE_STATUS=0$/m, 'a revoked one is replaced');
  t.match(r.stderr, new RegExp(`replacing session ${first} \\(revoked\\) of profile dev`));
  const second = /^SECOND=([0-9a-f]{16}) PROMPT=(.*)$/m.exec(r.stdout);
  t.ok(second && second[1] !== first, 'a new session');
  t.match(second?.[2], /prod/, 'the prompt shows the new profile');
  t.notMatch(second?.[2], /dev/);
  t.match(r.stderr, new RegExp(`session ${second?.[1]} was already revoked`), '--off reports revoked, not ended');
  t.match(r.stdout, /^OFF_STATUS=0$/m);
  t.match(r.stdout, /^AFTER=none CONFIG=.*$/m);
  t.match(r.stdout, new RegExp(`^AFTER=none CONFIG=${d.env.AWS_CONFIG_FILE}$`, 'm'), 'one --off restores the shell');
});

t.test('use and use --off after the daemon forgot the session (a restart with the memory store)', async (t) => {
  // A restarted daemon answers SessionUnknown for the id the shell still holds; an id it never issued is the same.
  const { d, r } = await inBash(
    t,
    () => `sentinel use dev
SENTINEL_SESSION=0123456789abcdef
sentinel use prod; echo "REPLACE_STATUS=$?"
echo "SECOND=$SENTINEL_SESSION"
SENTINEL_SESSION=fedcba9876543210
sentinel use --off; echo "OFF_STATUS=$?"
echo "AFTER=\${SENTINEL_SESSION:-none} CONFIG=\${AWS_CONFIG_FILE:-unset}"
`,
  );
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^REPLACE_STATUS=0$/m, 'a session the daemon does not know is replaced, not an error');
  t.match(
    r.stderr,
    /replacing session 0123456789abcdef \(unknown to the daemon, e\.g\. after a restart\) of profile dev/,
  );
  t.match(r.stdout, /^SECOND=[0-9a-f]{16}$/m, 'a new session');
  t.notMatch(r.stdout, /^SECOND=0123456789abcdef$/m);
  t.match(r.stdout, /^OFF_STATUS=0$/m);
  t.match(r.stderr, /session fedcba9876543210 was already unknown to the daemon/, '--off says so, not "ended"');
  t.notMatch(r.stderr, /Error:/, 'and reports no error');
  t.match(r.stdout, new RegExp(`^AFTER=none CONFIG=${d.env.AWS_CONFIG_FILE}$`, 'm'), 'one --off restores the shell');
});
