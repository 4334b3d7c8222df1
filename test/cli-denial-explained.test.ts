// A default deny explains itself through the real daemon (issue 9 item 12): `sentinel exec prod` prints which rules
// for prod nearly matched and why, and its hint is a `policy test` command with the real policy path, profile, user
// and mode — which, run as printed, names the same rules.
import t from 'tap';
import { WEEKDAYS } from '../core/policy/time-window.js';
import { startDaemon } from './support/daemon.js';
import { requireBuild, sentinel, userEnv } from './support/cli.js';

const capitalized = (s: string) => s[0]!.toUpperCase() + s.slice(1);

t.test('exec prod outside its window names the near misses and a hint that works', async (t) => {
  requireBuild();
  // Every day but today (UTC), so the window rule fails on its days whenever this runs.
  const today = WEEKDAYS[(new Date().getUTCDay() + 6) % 7]!;
  const days = WEEKDAYS.filter((d) => d !== today);
  const d = await startDaemon(t, {
    policy: `version: "1"
rules:
  - name: prod-weekdays
    effect: allow
    conditions: { profiles: [prod], time: { days: [${days.join(', ')}], timezone: UTC } }
  - name: prod-oncall
    effect: allow
    conditions: { profiles: [prod], users: [bob] }
  - name: dev
    effect: allow
    conditions: { profiles: [dev] }
`,
  });
  const env = userEnv(d);
  const r = await sentinel(t, ['exec', 'prod', '--', '/bin/true'], { env });
  t.equal(r.code, 3, 'denied');
  const window = new RegExp(
    `^Error: no matching rule \\(default deny\\) refuses alice on prod in mode server\\. Nearly matched: ` +
      `prod-weekdays \\(only [A-Za-z, –]+ UTC; now ${capitalized(today)} \\d\\d:\\d\\d\\), ` +
      `prod-oncall \\(alice is not among its users\\)\\.$`,
    'm',
  );
  t.match(r.stderr, window);
  const hint = /^Hint: See why with `(sentinel policy test (\S+) --profile prod --user alice --mode server)`\.$/m.exec(
    r.stderr,
  );
  t.ok(hint, r.stderr);
  t.equal(hint![2], d.policyFile, 'the real policy path');

  const test = await sentinel(t, hint![1]!.split(' ').slice(1), { env });
  t.equal(test.code, 3, 'policy test agrees: denied');
  t.match(
    test.stdout,
    /^Nearly matched: prod-weekdays \(only .* UTC; now \w+ \d\d:\d\d\), prod-oncall \(alice is not among its users\)\.$/m,
  );

  const json = await sentinel(t, [...hint![1]!.split(' ').slice(1), '--json'], { env });
  t.same(
    JSON.parse(json.stdout).near_misses.map((m: { rule: string; failed: string }) => [m.rule, m.failed]),
    [
      ['prod-weekdays', 'time.days'],
      ['prod-oncall', 'users'],
    ],
  );
});
