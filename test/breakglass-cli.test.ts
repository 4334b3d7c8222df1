// `sentinel breakglass …` through the built binary against a real daemon (dynalite, STS emulator), with the real AWS
// CLI under `sentinel exec`: prod is denied; alice invokes with reason `incident` and /usr/bin/aws is served with the
// marker `breakglass` (the SourceIdentity the STS emulator saw); `close` → the next exec is refused. Refusals exit 3
// with their own message and write nothing; bad flags exit 2; without a terminal an MFA entry answers MfaRequired
// and nothing is asked; a profile literally named `list` works.
import t from 'tap';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { BREAKGLASS_TABLE, EVENT_KIND } from '../core/breakglass/record.js';
import { DEFAULT_AWS_CONFIG, startDaemon } from './support/daemon.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';
import { sentinel, userEnv } from './support/cli.js';

const AWS_CONFIG = `${DEFAULT_AWS_CONFIG}
[profile list]
role_arn = arn:aws:iam::555555555555:role/list
source_profile = base
region = us-east-1

[profile secure]
role_arn = arn:aws:iam::666666666666:role/secure
source_profile = base
region = us-east-1
`;

const POLICY = `version: "1"
rules:
  - { name: prod-frozen, effect: deny, conditions: { profiles: [prod, list, secure] }, reason: change freeze }
breakglass:
  - { name: prod-emergency, profiles: [prod, list], users: [alice], allowed_reason_codes: [incident], max_duration: 2h }
  - { name: secure-mfa, profiles: [secure], users: [alice], mfa: required }
`;

const REASON = 'checkout is down, INC-4242, restarting workers';
const EXPORT = ['/usr/bin/aws', 'configure', 'export-credentials', '--format', 'process'];

t.test('breakglass through the CLI', async (t) => {
  const team = await startTeamTable(t);
  await ensureTable(team.client, BREAKGLASS_TABLE, 'team-bg', { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, { client: team.client, table: 'team-bg', ownsClient: false });
  const d = await startDaemon(t, {
    policy: POLICY,
    awsConfig: AWS_CONFIG,
    config: teamConfig(undefined, 'breakglass: { table: team-bg }\n'),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
    pidPollMs: 100,
  });
  const env = userEnv(d);
  const cli = (args: string[]) => sentinel(t, args, { env });
  const invoke = (profile: string, ...extra: string[]) =>
    cli(['breakglass', 'invoke', profile, '--reason-code', 'incident', '--reason', REASON, ...extra]);

  const denied = await cli(['exec', 'prod', '--', ...EXPORT]);
  t.equal(denied.code, 3, 'prod is denied before break-glass');

  await t.test('refusals and bad input: their own message, nothing written', async (t) => {
    const cases: Array<[string[], number, RegExp]> = [
      [['breakglass', 'invoke', 'prod', '--reason-code', 'security', '--reason', REASON], 3, /\(reason_code\)/],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', REASON, '--for', '3h'],
        3,
        /\(duration\)/,
      ],
      [['breakglass', 'invoke', 'dev', '--reason-code', 'incident', '--reason', REASON], 3, /\(profile\)/],
      [['breakglass', 'invoke', 'nosuch', '--reason-code', 'incident', '--reason', REASON], 1, /nosuch/],
      [
        ['breakglass', 'invoke', 'secure', '--reason-code', 'incident', '--reason', REASON],
        3,
        // secure names no mfa_serial: said at once, before any code is asked for.
        /profile "secure" names no mfa_serial, so AWS cannot verify a code/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', REASON, '--for', '0'],
        2,
        /not a duration greater than 0/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', REASON, '--for', '-1h'],
        2,
        /not a duration/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', REASON, '--for', '5h'],
        2,
        /over the 4h limit/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', 'too short'],
        2,
        /20-1000 characters \(got 9\)/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', `${REASON}\u001b[31m`],
        2,
        /control characters/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'panic', '--reason', REASON],
        2,
        /--reason-code must be one of/,
      ],
      [
        ['breakglass', 'invoke', 'prod', '--reason-code', 'incident', '--reason', REASON, '--mfa-code', 'abc'],
        2,
        /6 digits/,
      ],
      [['breakglass', 'show', '../../etc'], 2, /not a break-glass event id/],
      [['breakglass', 'close', 'ABCDEF0123456789', '--reason', 'x'], 2, /not a break-glass event id/],
      [['breakglass', 'show', '0123456789abcdef'], 1, /no break-glass event 0123456789abcdef/],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      t.equal(r.code, code, `${args.slice(1, 4).join(' ')} … → exit ${code}`);
      t.match(r.stderr, message);
      t.equal(r.stdout, '', 'nothing on stdout');
    }
    const json = await cli([
      'breakglass',
      'invoke',
      'secure',
      '--reason-code',
      'incident',
      '--reason',
      REASON,
      '--json',
    ]);
    t.equal(json.code, 3);
    t.equal(JSON.parse(json.stderr).error.code, 'MfaRequired', 'without a terminal nothing is asked: MfaRequired');
    t.same(await events.scan(), [], 'no event was written');
  });

  await t.test('invoke, exec with the real AWS CLI, list, show, close', async (t) => {
    const r = await invoke('prod', '--for', '30m', '--json');
    t.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    t.match(e, { status: 'active', invoker: 'alice', profile: 'prod', reason_code: 'incident' });

    const served = await cli(['exec', 'prod', '--', ...EXPORT]);
    t.equal(served.code, 0, served.stderr);
    const creds = JSON.parse(served.stdout);
    const issued = d.sts.issued.find((c) => c.accessKeyId === creds.AccessKeyId);
    t.ok(issued, 'the AWS CLI got credentials the STS emulator issued');
    const stamped = d.sts.assumeRoleRequests.filter((x) => x.outcome === 'ok').map((x) => x.SourceIdentity ?? '');
    t.ok(
      stamped.some((s) => /^sentinel-alice-breakglass-[0-9a-f]{16}$/.test(s)),
      `served with the marker breakglass: ${stamped}`,
    );

    const human = await cli(['breakglass', 'list', '--mine']);
    t.equal(human.code, 0);
    t.match(human.stdout, new RegExp(`${e.id}\\s+alice\\s+prod\\s+incident`));
    const listed = JSON.parse((await cli(['breakglass', 'list', '--status', 'active', '--json'])).stdout);
    t.same(
      listed.events.map((x: { id: string }) => x.id),
      [e.id],
    );
    const shown = await cli(['breakglass', 'show', e.id]);
    t.match(shown.stdout, /reason code\s+incident/);
    t.match(shown.stdout, new RegExp(REASON));

    const closed = await cli(['breakglass', 'close', e.id, '--reason', 'workers restarted']);
    t.equal(closed.code, 0, closed.stderr);
    t.match(closed.stdout, `Closed break-glass ${e.id} on prod.`);
    const after = await cli(['exec', 'prod', '--', ...EXPORT]);
    t.equal(after.code, 3, 'after close the next request is refused');
    t.match(after.stderr, /prod-frozen/);
    const again = await cli(['breakglass', 'close', e.id, '--reason', 'again']);
    t.equal(again.code, 1);
    t.match(again.stderr, /is closed, so it cannot be closed/);
    t.match(again.stderr, `Hint: Show it with \`sentinel breakglass show ${e.id}\`.`, 'the hint runs as written');
  });

  await t.test('a profile literally named list', async (t) => {
    const r = await invoke('list');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^Break-glass [0-9a-f]{16} on list: active until/);
  });
});
