// The approver and admin commands in vendor mode (DESIGN §17), through the built binary: `approve`, `deny`,
// `requests revoke`, `server revoke` and `breakglass close` call the vendor (API Gateway stand-in that verifies SigV4 →
// the real Lambda handler → dynalite and the STS emulator), signed with each person's own keys, which the STS emulator
// maps to distinct identities. The records show the vendor wrote them under the caller it verified; the CLI itself
// reaches neither DynamoDB nor STS (both endpoints point at a trap that counts every request). Refusals keep the
// vendor's code, message and hint; a silent, absent or hostile vendor is VendorUnavailable in bounded time.
import t, { type Test as Tap } from 'tap';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { REQUEST_KIND } from '../core/approvals/record.js';
import { EVENT_KIND } from '../core/breakglass/record.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { DynamoSessionStore } from '../core/sessions/dynamodb.js';
import { createVendorClient, VENDOR_ATTEMPT_MS } from '../core/vendor/client.js';
import { startApiGatewayStandIn } from './support/apigw-standin.js';
import { sentinel, type Run } from './support/cli.js';
import { startSts } from './support/sts-emulator.js';
import { personEnv } from './support/team-sessions.js';
import {
  BREAKGLASS_TABLE_NAME,
  DEV_ROLE,
  PROD_ROLE,
  REQUESTS_TABLE,
  SESSIONS_TABLE,
  startVendor,
} from './support/vendor.js';

const POLICY = `version: "1"
rules:
  - { name: dev-team, effect: allow, conditions: { profiles: [dev], users: [alice] } }
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod], users: [alice] } }
  - { name: nobody-else, effect: deny, conditions: { profiles: [dev, prod] }, reason: not on the team }
approvals:
  - { name: approvers, profiles: [dev, prod], approvers: [carol], max_duration: 2h }
breakglass:
  - { name: emergency, profiles: [dev, prod], users: [bob], allowed_reason_codes: [incident], max_duration: 2h }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1 }
`;

const SECRET = 'person-secret';
const PEOPLE = {
  alice: { key: 'AKIAVADMINALICE00001', arn: 'arn:aws:iam::123456789012:user/alice' },
  bob: { key: 'AKIAVADMINBOB0000001', arn: 'arn:aws:iam::123456789012:user/bob' },
  carol: { key: 'AKIAVADMINCAROL00001', arn: 'arn:aws:iam::123456789012:user/carol' },
  dave: { key: 'AKIAVADMINDAVE000001', arn: 'arn:aws:iam::123456789012:user/dave' },
};
type Person = keyof typeof PEOPLE;
const BG_REASON = 'checkout is down, INC-4242, restarting workers';

/** An HTTP server on loopback that answers with `answer`, counting requests; `null` never answers. */
async function startServer(
  t: Tap,
  answer: ((path: string) => { status: number; headers?: Record<string, string>; body: string }) | null,
): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    if (!answer) return;
    const a = answer(req.url ?? '/');
    res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const errorOf = (r: Run) => JSON.parse(r.stderr).error as { code: string; message: string; hint: string };

t.test('approver and admin commands through the vendor', async (t) => {
  const v = await startVendor(t, { policy: POLICY });
  const gw = await startApiGatewayStandIn({ keys: v.sts, handler: v.handler });
  t.teardown(() => gw.close());
  // Where the CLI's own DynamoDB and STS calls would go: nowhere real, and counted.
  const trap = await startServer(t, () => ({ status: 500, body: '{"message":"trap"}' }));
  const requests = new DynamoRecordStore(REQUEST_KIND, { client: v.client, table: REQUESTS_TABLE, ownsClient: false });
  const events = new DynamoRecordStore(EVENT_KIND, {
    client: v.client,
    table: BREAKGLASS_TABLE_NAME,
    ownsClient: false,
  });
  const sessions = new DynamoSessionStore({ client: v.client, table: SESSIONS_TABLE, ownsClient: false });

  const envs = new Map<string, NodeJS.ProcessEnv>();
  /** A person's shell: own keys, config.yaml naming the vendor at `url`, DynamoDB and STS pointed at the trap. */
  const envOf = (who: Person, url = gw.url, extra = '') => {
    const cacheKey = `${who} ${url} ${extra}`;
    if (!envs.has(cacheKey)) {
      const env = personEnv(t, v.sts, trap.url, PEOPLE[who], {
        '.config/sentinel/config.yaml': `vendor: { url: "${url}", region: us-east-1 }\n${extra}`,
      });
      envs.set(cacheKey, { ...env, AWS_ENDPOINT_URL_STS: trap.url });
    }
    v.sts.setIdentity(PEOPLE[who].key, PEOPLE[who].arn, SECRET);
    return envs.get(cacheKey)!;
  };
  const cli = (who: Person, args: string[]) => sentinel(t, args, { env: envOf(who) });
  /** A person's own signed calls to the vendor (what their daemon would make): setup, not under test. */
  const as = (who: Person) => {
    v.sts.setIdentity(PEOPLE[who].key, PEOPLE[who].arn, SECRET);
    return createVendorClient({
      url: gw.url,
      region: 'us-east-1',
      credentials: async () => ({ accessKeyId: PEOPLE[who].key, secretAccessKey: SECRET }),
      attempts: 1,
    });
  };
  const file = async (reason: string) =>
    (await as('alice').call({
      method: 'POST',
      path: '/v1/requests',
      body: { profile: 'prod', justification: reason },
    })) as { id: string; status: string };
  const credentials = (who: Person, query: Record<string, string>) =>
    as(who).call({ method: 'GET', path: '/v1/credentials', query });
  const refusal = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'served';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  };

  await t.test('approve and deny: only approvers, never the requester, once', async (t) => {
    const r1 = await file('deploy hotfix for INC-42');
    t.equal(r1.status, 'pending');
    t.equal(await refusal(credentials('alice', { profile: 'prod' })), 'ApprovalRequired', 'not served before');

    const [byDave, byAlice] = await Promise.all([
      cli('dave', ['approve', r1.id, '--json']),
      cli('alice', ['approve', r1.id]),
    ]);
    t.equal(byDave.code, 3, 'dave is not an approver: exit 3');
    t.same(errorOf(byDave), {
      code: 'NotApprover',
      message: 'you are not an approver in approvals entry "approvers"',
      hint: 'Only an approver listed in the approvals entry for the profile may decide, and never for their own request; `sentinel policy test` shows who may approve.',
    });
    t.equal(byAlice.code, 3, 'the requester cannot approve her own request');
    t.match(byAlice.stderr, /^Error: you cannot approve your own request\nHint: /);
    t.equal((await requests.get(r1.id))?.status, 'pending', 'both refusals wrote nothing');

    const approved = await cli('carol', ['approve', r1.id, '--comment', 'ok for INC-42']);
    t.equal(approved.code, 0, approved.stderr);
    t.match(
      approved.stdout,
      new RegExp(`^Approved request ${r1.id} \\(alice, prod\\): approved by carol, usable until`),
    );
    const stored = await requests.get(r1.id);
    t.equal(stored?.status, 'approved');
    t.equal(stored?.approver, 'carol', 'the vendor recorded the caller it verified');
    t.equal(stored?.approver_arn, PEOPLE.carol.arn);
    t.equal(stored?.approver_comment, 'ok for INC-42');
    t.equal(await refusal(credentials('alice', { profile: 'prod' })), 'served', 'alice is served under the approval');

    const again = await cli('carol', ['deny', r1.id, '--json']);
    t.equal(again.code, 1, 'a second decision: Conflict, exit 1');
    t.same(errorOf(again), {
      code: 'Conflict',
      message: `request ${r1.id} is approved by carol, so it cannot be denied`,
      hint: `Show it with \`sentinel requests show ${r1.id}\`.`,
    });

    const r2 = await file('schema migration, ticket DB-88');
    const denied = await cli('carol', ['deny', r2.id, '--comment', 'not during the freeze', '--json']);
    t.equal(denied.code, 0, denied.stderr);
    const answer = JSON.parse(denied.stdout);
    t.match(answer, {
      id: r2.id,
      requester: 'alice',
      requester_arn: PEOPLE.alice.arn,
      profile: 'prod',
      status: 'denied',
      approver: 'carol',
      approver_arn: PEOPLE.carol.arn,
      approver_comment: 'not during the freeze',
      auto_approved: false,
    });
    t.same(
      Object.keys(answer).sort(),
      Object.keys((await requests.get(r2.id))!).sort(),
      'the record, as --table prints it',
    );

    await t.test('requests revoke', async (t) => {
      const byDave = await cli('dave', ['requests', 'revoke', r1.id, '--reason', 'no']);
      t.equal(byDave.code, 3);
      t.match(byDave.stderr, /Error: you are not an approver/);
      const revoked = await cli('carol', ['requests', 'revoke', r1.id, '--reason', 'incident over']);
      t.equal(revoked.code, 0, revoked.stderr);
      t.equal(revoked.stdout, `Revoked request ${r1.id} (alice, prod): revoked (revoked by carol: incident over)\n`);
      const after = await requests.get(r1.id);
      t.equal(after?.status, 'revoked');
      t.equal(after?.approver_comment, 'revoked by carol: incident over', 'the vendor names the revoker it verified');
      t.equal(await refusal(credentials('alice', { profile: 'prod' })), 'ApprovalRequired', 'refused again');
      const twice = await cli('carol', ['requests', 'revoke', r1.id, '--reason', 'again']);
      t.equal(twice.code, 1, 'revoking a revoked request is Conflict');
    });
  });

  await t.test('server revoke of a vendor session', async (t) => {
    const opened = (await as('alice').call({ method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } })) as {
      id: string;
    };
    t.equal(await refusal(credentials('alice', { session: opened.id })), 'served');
    const byDave = await cli('dave', ['server', 'revoke', opened.id, '--reason', 'not mine']);
    t.equal(byDave.code, 1, "another person's session is not revealed to dave");
    t.match(byDave.stderr, /Error: .*session/i);
    t.equal((await sessions.get(opened.id))?.status, 'active');

    const revoked = await cli('carol', ['server', 'revoke', opened.id, '--reason', 'laptop reported stolen']);
    t.equal(revoked.code, 0, revoked.stderr);
    t.match(
      revoked.stdout,
      `Revoked session ${opened.id} (user alice, profile dev) as ${PEOPLE.carol.arn}.\nIts next credential request is refused`,
    );
    const stored = await sessions.get(opened.id);
    t.equal(stored?.status, 'revoked');
    t.equal(stored?.revoked_by, PEOPLE.carol.arn, 'recorded by the vendor under the verified caller');
    t.equal(stored?.revoked_reason, 'laptop reported stolen');
    t.equal(await refusal(credentials('alice', { session: opened.id })), 'SessionRevoked', 'the next request');

    const own = (await as('alice').call({ method: 'POST', path: '/v1/sessions', body: { profile: 'dev' } })) as {
      id: string;
    };
    const byOwner = await cli('alice', ['server', 'revoke', own.id, '--reason', 'done for today', '--json']);
    t.equal(byOwner.code, 0, byOwner.stderr);
    t.match(JSON.parse(byOwner.stdout), { id: own.id, status: 'revoked', revoked_by: PEOPLE.alice.arn });
    const twice = await cli('alice', ['server', 'revoke', own.id, '--reason', 'again']);
    t.equal(twice.code, 1, 'not active any more');
  });

  await t.test('breakglass close by the invoker and by an approver', async (t) => {
    const invoke = async (profile: string) =>
      (await as('bob').call({
        method: 'POST',
        path: '/v1/breakglass',
        body: { profile, reason_code: 'incident', justification: BG_REASON },
      })) as { id: string };
    const prod = await invoke('prod');
    const dev = await invoke('dev');
    t.equal(await refusal(credentials('bob', { profile: 'prod' })), 'served', 'bob is served under the event');

    const byDave = await cli('dave', ['breakglass', 'close', prod.id, '--reason', 'not mine', '--json']);
    t.equal(byDave.code, 3);
    t.equal(errorOf(byDave).code, 'NotApprover');
    t.match(errorOf(byDave).message, `only the invoker or an approver of prod may close break-glass event ${prod.id}`);
    t.equal((await events.get(prod.id))?.status, 'active');

    const byBob = await cli('bob', ['breakglass', 'close', prod.id, '--reason', 'incident resolved']);
    t.equal(byBob.code, 0, byBob.stderr);
    t.equal(byBob.stdout, `Closed break-glass ${prod.id} on prod.\n`);
    t.match(await events.get(prod.id), { status: 'closed', closed_by: 'bob', closed_by_arn: PEOPLE.bob.arn });
    t.equal(await refusal(credentials('bob', { profile: 'prod' })), 'PolicyDenied', 'the next request is refused');

    const byCarol = await cli('carol', ['breakglass', 'close', dev.id, '--reason', 'reviewed: over', '--json']);
    t.equal(byCarol.code, 0, byCarol.stderr);
    t.match(JSON.parse(byCarol.stdout), { id: dev.id, status: 'closed', closed_by: 'carol', invoker: 'bob' });
    t.equal((await events.get(dev.id))?.closed_by_arn, PEOPLE.carol.arn);

    const twice = await cli('carol', ['breakglass', 'close', dev.id, '--reason', 'again']);
    t.equal(twice.code, 1, 'Conflict');
    t.match(twice.stderr, `Error: break-glass event ${dev.id} is closed, so it cannot be closed`);
  });

  await t.test('--table and --aws are refused in vendor mode; bad input never reaches the vendor', async (t) => {
    const before = gw.events.length;
    const id = '0123456789abcdef';
    const cases: Array<[string[], RegExp]> = [
      [
        ['approve', id, '--table', 'team-requests'],
        /--table is refused in vendor mode: `approve` goes through the vendor/,
      ],
      [['requests', 'revoke', id, '--reason', 'x', '--table', 't1t'], /--table is refused in vendor mode/],
      [['server', 'revoke', id, '--reason', 'x', '--table', 'sessions'], /--table is refused in vendor mode/],
      [['breakglass', 'close', id, '--reason', 'x', '--table', 'bg1'], /--table is refused in vendor mode/],
      [['server', 'revoke', id, '--reason', 'x', '--aws'], /--aws is not available in vendor mode/],
      [['approve', 'NOT-AN-ID'], /is not a request id/],
      [['deny', id, '--comment', 'two\nlines'], /control characters/],
      [['breakglass', 'close', id, '--reason', 'x'.repeat(1025)], /1-1024 characters/],
      [['approve', id, '--region', 'mars'], /--region: "mars" is not an AWS region/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli('carol', args)));
    runs.forEach((r, i) => {
      t.equal(r.code, 2, `${cases[i]![0].join(' ')}: usage (${r.stderr})`);
      t.match(r.stderr, cases[i]![1]);
    });
    t.equal(gw.events.length, before, 'none of them called the vendor');
    const unknown = await cli('carol', ['approve', id]);
    t.equal(unknown.code, 1, 'an unknown request: the vendor says so');
    t.match(unknown.stderr, /Error: .*0123456789abcdef/);
  });

  await t.test('--profile and --region pick who signs and the scope', async (t) => {
    const r = await file('profile flag check for INC-77');
    // carol's shell, but signing with a profile that does not exist: no call is made, and she is told why.
    const missing = await cli('carol', ['approve', r.id, '--profile', 'nobody']);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /Error: no AWS credentials for profile "nobody"/);
    const wrongRegion = await cli('carol', ['approve', r.id, '--region', 'eu-west-1']);
    t.equal(wrongRegion.code, 1, 'a scope for another region is refused by the API, not by Sentinel');
    t.match(wrongRegion.stderr, /Error: the vendor's API refused the request/);
    t.equal((await requests.get(r.id))?.status, 'pending');
  });

  t.same(trap.requests, [], 'the CLI made no DynamoDB or STS call of its own');
});

t.test('a silent, absent or hostile vendor is VendorUnavailable in bounded time', async (t) => {
  const sts = await startSts();
  t.teardown(() => sts.close());
  const silent = await startServer(t, null);
  const id = '0123456789abcdef';
  const hostile = await startServer(t, (path) => {
    const kind = path.split('/')[1];
    switch (kind) {
      case 'html':
        return { status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>Sign in</body></html>' };
      case 'huge':
        return { status: 200, body: JSON.stringify({ id, status: 'approved', pad: 'x'.repeat(2 * 1024 * 1024) }) };
      case 'other':
        return { status: 200, body: JSON.stringify({ id: 'fedcba9876543210', status: 'approved' }) };
      case 'bad-gateway':
        return { status: 502, headers: { 'content-type': 'text/plain' }, body: 'Bad Gateway' };
      default:
        return {
          status: 403,
          body: JSON.stringify({ code: 'NotApprover', message: 'evil\u001b]0;owned\u0007\nline', hint: 'h\u001b[2J' }),
        };
    }
  });
  const env = (url: string) => {
    const e = personEnv(t, sts, hostile.url, PEOPLE.carol, {
      '.config/sentinel/config.yaml': `vendor: { url: "${url}", region: us-east-1 }\n`,
    });
    return { ...e, AWS_ENDPOINT_URL_STS: hostile.url };
  };
  // A port nobody listens on any more.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const gonePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const started = Date.now();
  const quiet = await sentinel(t, ['approve', id, '--json'], { env: env(`${silent.url}/prod`) });
  const tookMs = Date.now() - started;
  t.equal(quiet.code, 1, quiet.stderr);
  t.same(errorOf(quiet).code, 'VendorUnavailable');
  t.match(errorOf(quiet).message, `did not answer: no answer within ${VENDOR_ATTEMPT_MS} ms`);
  t.ok(tookMs < VENDOR_ATTEMPT_MS + 5000, `answered in ${tookMs} ms: one attempt, a sent POST is not repeated`);
  t.equal(silent.requests.length, 1, 'the decision was sent once');

  const cases: Array<[string, RegExp, string?]> = [
    ['html', /answered 200 without a JSON object/],
    ['huge', /larger than a vendor answer can be/],
    ['other', /answered with something that is not an approval request/],
    ['bad-gateway', /answered 502 without a JSON body/],
    ['evil', /^evil/, 'NotApprover'],
  ];
  const runs = await Promise.all(
    cases.map(([kind]) => sentinel(t, ['approve', id, '--json'], { env: env(`${hostile.url}/${kind}`) })),
  );
  runs.forEach((r, i) => {
    const [kind, message, code] = cases[i]!;
    t.equal(r.code, code ? 3 : 1, `${kind}: ${r.stderr}`);
    t.equal(errorOf(r).code, code ?? 'VendorUnavailable', kind);
    t.match(errorOf(r).message, message, kind);
    t.notMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f]/, `${kind}: no control character reaches the terminal`);
    t.equal(r.stdout, '', `${kind}: nothing printed as a result`);
  });
  const evilText = await sentinel(t, ['approve', id], { env: env(`${hostile.url}/evil`) });
  t.equal(evilText.code, 3);
  t.equal(evilText.stderr.split('\n').length, 3, 'Error: and Hint: lines only');
  t.notMatch(evilText.stderr, /\u001b/);

  const absent = await sentinel(t, ['breakglass', 'close', id, '--reason', 'over'], {
    env: env(`http://127.0.0.1:${gonePort}/prod`),
  });
  t.equal(absent.code, 1);
  t.match(
    absent.stderr,
    /^Error: the Sentinel vendor at http:\/\/127\.0\.0\.1:\d+\/prod did not answer: cannot connect \(ECONNREFUSED\)\nHint: Check vendor.url/,
  );
  t.equal(
    hostile.requests.filter((r) => !/^POST \/[a-z-]+\/v1\/requests\//.test(r)).length,
    0,
    'no STS or DynamoDB call went anywhere',
  );
});
