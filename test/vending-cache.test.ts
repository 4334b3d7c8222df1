// The per-session credential cache against the STS emulator: single flight, errors shared and not cached, the 10-minute
// serving window with jitter (on an injected clock), fail-static, forget.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { newRequestId } from '../core/identity/source-identity.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { createVendor } from '../daemon/vending/vendor.js';
import type { Vendor, VendRequest } from '../core/issuer/types.js';
import { awsEnv, withEnv, writeAwsConfig } from './support/aws-env.js';
import { startSts, type StsEmulator } from './support/sts-emulator.js';

const ACCOUNT = '111122223333';
const BASE_KEY = 'AKIAEXAMPLECACHE0001';

interface Clock {
  offsetMs: number;
}

async function setup(
  t: Test,
  options: { maxAttempts?: number; random?: number } = {},
): Promise<{ sts: StsEmulator; vendor: Vendor; clock: Clock }> {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sts = await startSts({ identities: { [BASE_KEY]: `arn:aws:iam::${ACCOUNT}:user/alice` } });
  t.teardown(() => sts.close());
  const files = writeAwsConfig(dir, {
    config: `[profile base]\n[profile prod]\nrole_arn = arn:aws:iam::${ACCOUNT}:role/prod\nsource_profile = base\n`,
    credentials: `[base]\naws_access_key_id = ${BASE_KEY}\naws_secret_access_key = cacheSecret0000000000000000000000000001\n`,
  });
  withEnv(t, {
    ...awsEnv({ sts: sts.url }),
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
  });
  // The vendor's clock runs with real time plus an offset the test moves forward; STS's expiry is real time.
  const clock: Clock = { offsetMs: 0 };
  const vendor = createVendor(resolveConfig({}, 'test.yaml', { HOME: dir }), {
    log: silentLogger(),
    now: () => Date.now() + clock.offsetMs,
    random: () => options.random ?? 0,
    ...(options.maxAttempts !== undefined ? { sts: { maxAttempts: options.maxAttempts } } : {}),
  });
  t.teardown(() => vendor.close());
  return { sts, vendor, clock };
}

/** A session id (16 hex) named by a label, so a test reads which session it means. */
const sid = (label: string) => createHash('sha256').update(label).digest('hex').slice(0, 16);

const request = (over: Partial<VendRequest> = {}): VendRequest => ({
  sessionId: sid('session-1'),
  requestId: newRequestId(),
  profile: 'prod',
  user: 'alice',
  marker: 'direct',
  durationSeconds: 900,
  ...over,
});

const minutes = (m: number) => m * 60_000;

t.test('single flight: 500 concurrent misses for one session make exactly one AssumeRole', async (t) => {
  const { sts, vendor } = await setup(t);
  sts.setDelay(300);
  const all = await Promise.all(Array.from({ length: 500 }, () => vendor.credentials(request())));
  t.equal(sts.calls.AssumeRole, 1, 'one upstream call');
  t.equal(sts.issued.length, 1);
  const issued = sts.issued[0]!;
  const distinct = new Set(
    all.map((v) => `${v.credentials.AccessKeyId}/${v.credentials.SecretAccessKey}/${v.credentials.Token}`),
  );
  t.equal(distinct.size, 1, 'all 500 got the same credentials');
  t.equal(all[0]!.credentials.AccessKeyId, issued.accessKeyId);
  t.equal(all[499]!.credentials.Token, issued.sessionToken);
  t.ok(
    all.every((v) => v.sourceIdentity === all[0]!.sourceIdentity),
    'and the same SourceIdentity',
  );

  // Other sessions are independent: two keys, two calls, even concurrently.
  await Promise.all([
    vendor.credentials(request({ sessionId: sid('a') })),
    vendor.credentials(request({ sessionId: sid('b') })),
    vendor.credentials(request({ sessionId: sid('a') })),
  ]);
  t.equal(sts.calls.AssumeRole, 3);
});

t.test(
  'throttling: every waiter gets the same StsUnavailable; the next request retries once and succeeds',
  async (t) => {
    const { sts, vendor } = await setup(t, { maxAttempts: 1 });
    sts.setDelay(100);
    sts.setFailure('AssumeRole', { code: 'Throttling', message: 'Rate exceeded' });
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => vendor.credentials(request())));
    t.equal(sts.calls.AssumeRole, 1, 'one call for all waiters, no retry storm');
    t.ok(
      results.every((r) => r.status === 'rejected'),
      'all waiters failed',
    );
    const reasons = results.map((r) => (r as PromiseRejectedResult).reason);
    t.ok(
      reasons.every((r) => r === reasons[0]),
      'with the very same error',
    );
    const e = reasons[0] as SentinelError;
    t.type(e, SentinelError);
    t.equal(e.code, 'StsUnavailable');
    t.equal(e.status, 502);
    t.match(e.message, /STS is throttling/);
    t.notMatch(e.message, /Rate exceeded/);

    sts.setFailure('AssumeRole', null);
    const ok = await vendor.credentials(request());
    t.equal(sts.calls.AssumeRole, 2, 'the error was not cached: exactly one new call');
    t.equal(ok.credentials.AccessKeyId, sts.issued[0]!.accessKeyId);
    await vendor.credentials(request());
    t.equal(sts.calls.AssumeRole, 2, 'and then served from cache');
  },
);

t.test('with the default retry policy a single throttled attempt is retried inside the one flight', async (t) => {
  const { sts, vendor } = await setup(t);
  sts.failNext('AssumeRole', { code: 'Throttling' }, 1);
  const all = await Promise.all(Array.from({ length: 20 }, () => vendor.credentials(request())));
  t.equal(sts.calls.AssumeRole, 2, 'one retry, not one per waiter');
  t.equal(new Set(all.map((v) => v.credentials.AccessKeyId)).size, 1);
  sts.failNext('AssumeRole', { code: 'Throttling' }, 2);
  const e = await vendor.credentials(request({ sessionId: sid('other') })).catch((x) => x);
  t.equal(e.code, 'StsUnavailable', 'two throttled attempts: the flight fails');
  t.equal(sts.calls.AssumeRole, 4);
});

t.test('served while more than 10 minutes remain, refreshed below', async (t) => {
  const { sts, vendor, clock } = await setup(t, { random: 0 });
  const first = await vendor.credentials(request());
  t.equal(sts.calls.AssumeRole, 1);
  clock.offsetMs = minutes(4); // 11 minutes left
  const hit = await vendor.credentials(request());
  t.equal(hit.fromCache, true);
  t.equal(hit.credentials.AccessKeyId, first.credentials.AccessKeyId);
  clock.offsetMs = minutes(4.5) + 20_000; // 10m10s left (less at most a second of STS rounding)
  t.equal((await vendor.credentials(request())).fromCache, true);
  t.equal(sts.calls.AssumeRole, 1);
  clock.offsetMs = minutes(5) + 2_000; // under 10 minutes left
  const refreshed = await vendor.credentials(request());
  t.equal(refreshed.fromCache, false);
  t.equal(sts.calls.AssumeRole, 2, 'refreshed');
  t.not(refreshed.credentials.AccessKeyId, first.credentials.AccessKeyId);
  t.not(refreshed.issueRequestId, first.issueRequestId, 'the refresh carries the request id that caused it');
  t.equal(refreshed.sourceIdentity, first.sourceIdentity, 'and the SourceIdentity of its session, unchanged');
  const calls = sts.assumeRoleRequests;
  t.equal(calls[1]!.RoleSessionName, `sentinel-alice-${refreshed.issueRequestId}`);
  t.equal(calls[1]!.SourceIdentity, `sentinel-alice-direct-${sid('session-1')}`);
});

t.test('jitter pulls the refresh earlier, by at most a tenth of the serving window', async (t) => {
  const { sts, vendor, clock } = await setup(t, { random: 0.999 });
  await vendor.credentials(request());
  clock.offsetMs = minutes(4); // inside the window even with the largest jitter (30 s of 5 minutes)
  t.equal((await vendor.credentials(request())).fromCache, true);
  clock.offsetMs = minutes(4.5) + 10_000; // 10m20s left: past the jittered refresh point
  t.equal((await vendor.credentials(request())).fromCache, false);
  t.equal(sts.calls.AssumeRole, 2);
});

t.test('a failed refresh serves the previous credentials while at least 5 minutes remain, then fails', async (t) => {
  const { sts, vendor, clock } = await setup(t, { maxAttempts: 1 });
  const first = await vendor.credentials(request());
  sts.setFailure('AssumeRole', { code: 'ServiceUnavailable' });
  clock.offsetMs = minutes(6); // about 9 minutes left: refresh due, STS down
  const stale = await vendor.credentials(request());
  t.equal(sts.calls.AssumeRole, 2, 'the refresh was attempted');
  t.equal(stale.fromCache, true);
  t.equal(stale.credentials.AccessKeyId, first.credentials.AccessKeyId);
  clock.offsetMs = minutes(10) + 30_000; // under 5 minutes left
  const e = await vendor.credentials(request()).catch((x) => x);
  t.equal(e.code, 'StsUnavailable');
  t.equal(sts.calls.AssumeRole, 3);
  sts.setFailure('AssumeRole', null);
  t.equal((await vendor.credentials(request())).fromCache, false);
});

t.test('forget, a changed marker and a shorter cap all bypass the cache', async (t) => {
  const { sts, vendor } = await setup(t);
  await vendor.credentials(request({ durationSeconds: 3600 }));
  await vendor.credentials(request({ durationSeconds: 3600 }));
  t.equal(sts.calls.AssumeRole, 1);
  await vendor.credentials(request({ durationSeconds: 900 }));
  t.equal(sts.calls.AssumeRole, 2, "credentials outliving the caller's new cap are not reused");
  await vendor.credentials(request({ marker: 'breakglass' }));
  t.equal(sts.calls.AssumeRole, 3, 'a different marker is a different grant');
  t.match(sts.assumeRoleRequests[2]!.SourceIdentity, /-breakglass-/);
  await vendor.credentials(request({ marker: 'breakglass' }));
  t.equal(sts.calls.AssumeRole, 3);
  vendor.forget(sid('session-1'));
  await vendor.credentials(request({ marker: 'breakglass' }));
  t.equal(sts.calls.AssumeRole, 4, 'a forgotten session starts over');
});

t.test('a session forgotten while its refresh is in flight is not cached again', async (t) => {
  const { sts, vendor } = await setup(t);
  sts.setDelay(200);
  const pending = vendor.credentials(request());
  await new Promise((r) => setTimeout(r, 50));
  vendor.forget(sid('session-1'));
  await pending;
  await vendor.credentials(request());
  t.equal(sts.calls.AssumeRole, 2);
});
