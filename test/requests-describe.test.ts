// How `sentinel requests` words a request's status: an approved request the requester's daemon does not honour under
// the policy in force says so and why, instead of "usable until …" (a record written with someone's own policy file,
// or approved by the requester under another identity, grants nothing and must not read as if it did).
import t from 'tap';
import { describeStatus } from '../cli/requests.js';

const base = {
  id: '0123456789abcdef',
  requester: 'alice',
  profile: 'prod',
  justification: 'deploy the hotfix for INC-42',
  duration: 3600,
  rule: 'prod-approvers',
  created_at: '2026-12-07T10:00:00.000Z',
  expires_at: '2026-12-08T10:00:00.000Z',
  auto_approved: false,
  approver: 'carol',
  window_start: '2026-12-07T10:05:00.000Z',
  window_end: '2026-12-07T11:05:00.000Z',
};
const now = Date.parse('2026-12-07T10:30:00.000Z');

t.match(describeStatus({ ...base, status: 'approved' }, now), /^approved by carol, usable until \d\d:\d\d \(in 35m\)$/);
t.equal(
  describeStatus(
    { ...base, status: 'approved', not_honoured: 'carol is not an approver in entry "x" in the policy in force' },
    now,
  ),
  'approved by carol, but NOT honoured here: carol is not an approver in entry "x" in the policy in force',
);

t.test('relative times keep the next unit for days and hours', async (t) => {
  const { relativeTime } = await import('../cli/output.js');
  const at = (ms: number) => new Date(now + ms).toISOString();
  t.equal(relativeTime(at(118 * 60_000), now), 'in 1h58m', 'not "in 1h"');
  t.equal(relativeTime(at(23 * 3600_000 + 59 * 60_000), now), 'in 23h59m');
  t.equal(relativeTime(at(2 * 3600_000), now), 'in 2h');
  t.equal(relativeTime(at(26 * 3600_000), now), 'in 1d2h');
  t.equal(relativeTime(at(-(5 * 60_000 + 30_000)), now), '5m ago');
  t.equal(relativeTime(at(42_000), now), 'in 42s', 'seconds, the last unit, alone');
  t.equal(relativeTime(at(400), now), 'now');
});

t.test('request --reason is checked as the daemon checks it (10–500), before the daemon is asked', async (t) => {
  const { sentinelInProcess } = await import('./support/cli.js');
  const r = await sentinelInProcess(['request', 'prod', '--reason', 'short'], {
    env: { ...process.env, HOME: '/nonexistent', SENTINEL_SOCKET: '/nonexistent/sentinel.sock' },
  });
  t.equal(r.code, 2);
  t.match(r.stderr, /^Error: --reason must be 10-500 characters \(got 5\)/);
});
