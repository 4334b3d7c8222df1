// Break-glass with `mfa: required` through real daemons (DESIGN §11): the STS emulator verifies the TOTP code against
// alice's seeded device; no code → MfaRequired and a wrong one → MfaInvalid, with no event written; the right one →
// an event with mfa_verified, and the credentials under it come from an AssumeRole made with the MFA session, asking
// ≤ 3600 s, refreshed 15 minutes later (the vendor's clock) without a new code. Session-token base credentials
// (aws-vault through credential_process, as SSO and roles give) are refused with the hint. Another daemon sharing the
// table, and the same daemon after a restart, hold no MFA session: MfaRequired, never the plain base credentials; closing
// and invoking again there with a new code recovers, and a reload that rebuilds the vendor drops the session again.
import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { BREAKGLASS_TABLE, EVENT_KIND } from '../core/breakglass/record.js';
import { createVendor } from '../daemon/vending/vendor.js';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  DEFAULT_AWS_CONFIG,
  DEFAULT_AWS_CREDENTIALS,
  startDaemon,
} from './support/daemon.js';
import { startSts } from './support/sts-emulator.js';
import { startTeamTable, teamConfig } from './support/team-sessions.js';
import { totp } from './support/totp.js';
import { tempDir } from './support/temp-dir.js';

const MFA_SERIAL = 'arn:aws:iam::123456789012:mfa/alice-phone';
const DEVICE = Buffer.from('alice-phone-seed-for-tests');
const VAULT_KEY = 'ASIAVAULTSESSION0001';
const VAULT_TOKEN = 'vault-session-token-do-not-leak';

const POLICY = `version: "1"
rules:
  - { name: prod-frozen, effect: deny, conditions: { profiles: [prod, vaulted, noserial] }, reason: prod is frozen }
breakglass:
  - name: prod-emergency
    profiles: [prod, vaulted, noserial]
    users: [alice]
    max_duration: 2h
    mfa: required
`;

const JUSTIFICATION = 'database on fire, INC-4242, paging the on-call';

async function refusal(p: Promise<unknown>): Promise<{ code: string; hint: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; hint: string; message: string };
  }
  throw new Error('expected a refusal');
}

t.test('break-glass with mfa: required, verified by AWS', async (t) => {
  const dir = tempDir(t, 'sentinel-mfa-daemon-');
  // aws-vault's credential_process output: a session with a token, as SSO and roles give.
  const vault = join(dir, 'vault.sh');
  writeFileSync(
    vault,
    `#!/bin/sh\nprintf '%s' '{"Version":1,"AccessKeyId":"${VAULT_KEY}","SecretAccessKey":"vault-secret","SessionToken":"${VAULT_TOKEN}","Expiration":"2099-01-01T00:00:00Z"}'\n`,
  );
  chmodSync(vault, 0o700);
  const awsConfig =
    DEFAULT_AWS_CONFIG.replace('[profile base]\n', `[profile base]\nmfa_serial = ${MFA_SERIAL}\n`) +
    `
[profile vault]
credential_process = ${vault}

[profile vaulted]
role_arn = arn:aws:iam::222222222222:role/prod
source_profile = vault
mfa_serial = ${MFA_SERIAL}

[profile noserial]
role_arn = arn:aws:iam::222222222222:role/prod
source_profile = vault
`;
  const sts = await startSts({
    identities: {
      [BASE_ACCESS_KEY]: BASE_ARN,
      [VAULT_KEY]: 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice',
    },
    mfaDevices: { [MFA_SERIAL]: { user: BASE_ARN, secret: DEVICE } },
  });
  t.teardown(() => sts.close());
  const team = await startTeamTable(t);
  await ensureTable(team.client, BREAKGLASS_TABLE, 'team-breakglass', { pollMs: 5 });
  const events = new DynamoRecordStore(EVENT_KIND, {
    client: team.client,
    table: 'team-breakglass',
    ownsClient: false,
  });
  const clock = { now: Date.now() };
  const options = {
    sts,
    policy: POLICY,
    awsConfig,
    awsCredentials: DEFAULT_AWS_CREDENTIALS,
    config: teamConfig(undefined, 'breakglass: { table: team-breakglass }\n'),
    env: { AWS_ENDPOINT_URL_DYNAMODB: team.url },
  };
  const d = await startDaemon(t, {
    ...options,
    // The vendor's clock is the test's: its credential cache and MFA session age with it.
    parts: { vendor: (config, log, env) => createVendor(config, { log, env, now: () => clock.now }) },
  });
  const invoke = (client: typeof d.client, body: Record<string, unknown>) =>
    client.post<Record<string, any>>('/v1/breakglass', {
      profile: 'prod',
      reason_code: 'incident',
      justification: JUSTIFICATION,
      ...body,
    });

  await t.test('no code → MfaRequired; a wrong code → MfaInvalid; no event either way', async (t) => {
    const preview = await invoke(d.client, { dry_run: true });
    t.match(preview, { entry: 'prod-emergency', mfa: 'required' });
    const none = await refusal(invoke(d.client, {}));
    t.equal(none.code, 'MfaRequired');
    const right = totp(DEVICE, Date.now());
    const wrong = await refusal(invoke(d.client, { mfa_code: right === '000000' ? '000001' : '000000' }));
    t.equal(wrong.code, 'MfaInvalid');
    t.equal(sts.calls.GetSessionToken, 1, 'AWS was asked once, and refused');
    t.equal((await events.scan()).length, 0, 'no event was written');
  });

  let sessionKey = '';
  let withSession = 0;
  await t.test(
    'the right code: AssumeRole made with the MFA session, ≤ 3600 s, refreshed without a code',
    async (t) => {
      const e = await invoke(d.client, { mfa_code: totp(DEVICE, Date.now()), duration: 7200 });
      t.match(e, { status: 'active', mfa_verified: true, rule: 'prod-emergency' });
      const session = sts.issued.find((i) => i.action === 'GetSessionToken' && i.mfa)!;
      t.ok(session, 'AWS issued an MFA session');
      sessionKey = session.accessKeyId;

      const before = sts.assumeRoleRequests.length;
      const s = await d.openSession('prod');
      const r = await d.fetch({ transport: 'tcp', token: s.token });
      t.equal(r.status, 200, r.text);
      const made = sts.assumeRoleRequests.slice(before);
      t.equal(made.length, 1, 'one AssumeRole (the session open), the fetch served from cache');
      t.same(
        [made[0]!.mfa, made[0]!.accessKeyId, made[0]!.outcome, made[0]!.SourceIdentity],
        [true, sessionKey, 'ok', `sentinel-alice-breakglass-${s.id}`],
        'the AssumeRole was made with the MFA session',
      );
      t.ok(made[0]!.DurationSeconds <= 3600, `asked ${made[0]!.DurationSeconds} s`);
      const logged = (await d.decisions()).map((l) => l.entry ?? l).filter((l) => l.break_glass_event_id === e.id);
      t.ok(logged.some((l) => l.outcome === 'allow' && l.duration_seconds <= 3600));

      clock.now += 15 * 60_000;
      const again = await d.fetch({ transport: 'tcp', token: s.token });
      t.equal(again.status, 200, again.text);
      const refreshed = sts.assumeRoleRequests.slice(before + 1);
      t.equal(refreshed.length, 1, 'refreshed 15 minutes later');
      t.same([refreshed[0]!.mfa, refreshed[0]!.accessKeyId], [true, sessionKey]);
      t.equal(sts.calls.GetSessionToken, 2, 'without a new code');
      withSession = sts.assumeRoleRequests.filter((x) => x.accessKeyId === sessionKey).length;
      const logs = d.logs();
      for (const i of sts.issued) {
        t.notOk(logs.includes(i.secretAccessKey) || logs.includes(i.sessionToken), 'no issued secret in the log');
      }
    },
  );

  await t.test('a profile no code can be verified for says so at the first refusal, not after a code', async (t) => {
    const first = await refusal(invoke(d.client, { profile: 'noserial' }));
    t.equal(first.code, 'MfaRequired');
    t.match(first.message, /names no mfa_serial/);
    t.match(first.hint, /Add mfa_serial = /);
  });

  await t.test('session-token base credentials are refused with the hint, and nothing is written', async (t) => {
    const before = (await events.scan()).length;
    const r = await refusal(invoke(d.client, { profile: 'vaulted', mfa_code: totp(DEVICE, Date.now() + 30_000) }));
    t.equal(r.code, 'MfaRequired');
    t.match(r.hint, /identity provider/);
    t.match(r.hint, /mfa: required/);
    t.equal(sts.calls.GetSessionToken, 2, 'AWS was not asked');
    t.equal((await events.scan()).length, before);
    t.notOk(d.logs().includes(VAULT_TOKEN), 'the session token is not logged');
  });

  await t.test('another daemon on the same table holds no MFA session: MfaRequired', async (t) => {
    const other = await startDaemon(t, options);
    const r = await refusal(other.openSession('prod'));
    t.equal(r.code, 'MfaRequired', 'the session open (which issues credentials) is refused');
    t.match(r.hint, /breakglass close/);
    t.notOk(
      sts.assumeRoleRequests.some((x) => x.accessKeyId === BASE_ACCESS_KEY && x.RoleArn.endsWith(':role/prod')),
      'the plain base credentials were never used for prod',
    );
    await other.stop();
  });

  await t.test('the same daemon after a restart: MfaRequired; close and invoke again there recovers', async (t) => {
    await d.stop();
    const restarted = await startDaemon(t, { ...options, home: d.home });
    const r = await refusal(restarted.openSession('prod'));
    t.equal(r.code, 'MfaRequired');
    t.equal(
      sts.assumeRoleRequests.filter((x) => x.accessKeyId === sessionKey).length,
      withSession,
      'no new AssumeRole',
    );

    // What the hint says: close the event and invoke again here with a new code.
    const [active] = (await events.scan()).filter((e) => e.status === 'active');
    await restarted.client.post(`/v1/breakglass/${active!.id}/close`, { reason: 'restarted' });
    const next = totp(DEVICE, Date.now() + 30_000);
    const e = await invoke(restarted.client, { mfa_code: next });
    t.match(e, { status: 'active', mfa_verified: true });
    const s = await restarted.openSession('prod');
    t.equal((await restarted.fetch({ transport: 'tcp', token: s.token })).status, 200);
    t.equal(sts.assumeRoleRequests.at(-1)!.mfa, true, 'served with the new MFA session');

    // A reload that rebuilds the vendor (credentials settings changed) drops the MFA session, like a restart.
    writeFileSync(restarted.configFile, options.config + 'credentials: { duration: 20m }\n');
    await restarted.client.post('/v1/reload', {});
    const after = await restarted.fetch({ transport: 'tcp', token: s.token });
    t.equal(after.status, 403);
    t.equal((after.json as { Code: string }).Code, 'MfaRequired');
  });
});
