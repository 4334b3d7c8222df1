// `sentinel server sessions | session | revoke --table` as an admin runs them: the real SDK talking to dynalite for the
// table and to the STS emulator for the admin's identity (revoked_by). Each command runs once as the built binary (a
// subprocess: exit codes and a clean stdout are the contract; requires `npm run build` first); the other cases run
// main() in-process, which saves a Node start and an SDK load each.
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoSessionStore } from '../core/sessions/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';
import type { Session } from '../core/sessions/types.js';
import { awsEnv, writeAwsConfig } from './support/aws-env.js';
import { startDynalite } from './support/dynalite.js';
import { startSts } from './support/sts-emulator.js';
import { sentinelInProcess } from './support/cli.js';

const MAIN = new URL('../dist/cli/main.js', import.meta.url).pathname;
if (!existsSync(MAIN)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');

const TABLE = 'team-sessions';
const ADMIN_KEY = 'AKIDADMINCLI00000001';
const OTHER_KEY = 'AKIDOTHERCLI00000002';
const creds = { accessKeyId: ADMIN_KEY, secretAccessKey: 'secret' };
const HOUR = 3_600_000;

const home = mkdtempSync(join(tmpdir(), 'sentinel-cli-'));
t.teardown(() => rmSync(home, { recursive: true, force: true }));
const dynalite = await startDynalite();
t.teardown(() => dynalite.close());
const sts = await startSts({
  identities: {
    [ADMIN_KEY]: 'arn:aws:iam::111122223333:user/sec-ops.admin',
    [OTHER_KEY]: 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Responder_1/carol@example.com',
  },
});
t.teardown(() => sts.close());

const client = new DynamoDBClient({ endpoint: dynalite.url, region: 'us-east-1', credentials: creds });
t.teardown(() => client.destroy());
await ensureTable(client, SESSION_TABLE, TABLE, { pollMs: 5 });
const store = new DynamoSessionStore({ client, table: TABLE, ownsClient: false });

const baseEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'config'),
  XDG_RUNTIME_DIR: join(home, 'run'),
  AWS_CONFIG_FILE: join(home, 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
  ...awsEnv({ sts: sts.url, dynamodb: dynalite.url }),
  AWS_ACCESS_KEY_ID: ADMIN_KEY,
  AWS_SECRET_ACCESS_KEY: 'secret',
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sentinel(args: string[], env: NodeJS.ProcessEnv = baseEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : -1
          : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The same command in this process (one at a time). */
const inProcess = (args: string[], env: NodeJS.ProcessEnv = baseEnv): Promise<Run> => sentinelInProcess(args, { env });

const idOf = (n: string) => createHash('sha256').update(n).digest('hex').slice(0, 16);
const now = Date.now();

async function open(name: string, over: Partial<Session> & { ago?: number; lifetime?: number } = {}): Promise<Session> {
  const started = now - (over.ago ?? 0);
  return store.create({
    id: idOf(name),
    user: over.user ?? 'alice',
    profile: over.profile ?? 'prod',
    mode: over.mode ?? 'server',
    started_at: new Date(started).toISOString(),
    expires_at: new Date(started + (over.lifetime ?? 12 * HOUR)).toISOString(),
    host: 'laptop-7',
    pid: 4321,
    ...(over.role_arn ? { role_arn: over.role_arn, credentials_valid_until: over.credentials_valid_until } : {}),
  });
}

// Created in order, so created_at increases: newest is `dave`.
const alice = await open('alice-prod');
const bob = await open('bob-dev', { user: 'bob', profile: 'dev' });
const lapsed = await open('alice-lapsed', { ago: 2 * HOUR, lifetime: HOUR });
const CAROL_ROLE = 'arn:aws:iam::111122223333:role/prod';
const carol = await open('carol-prod', {
  user: 'carol',
  role_arn: CAROL_ROLE,
  credentials_valid_until: new Date(now + HOUR).toISOString(),
});
await store.revoke(carol.id, 'secops', '=HYPERLINK("x"), "quoted", and commas');
const dave = await open('dave-prod', { user: 'dave' });
await store.touch(dave.id, new Date(), 7);

const T = ['--table', TABLE, '--region', 'us-east-1'];

t.test('server sessions --table: human table, newest first, relative times', async (t) => {
  const r = await sentinel(['server', 'sessions', ...T]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+USER\s+PROFILE\s+MODE\s+STATUS\s+CREATED\s+LAST ACCESS\s+EXPIRES\s+REQUESTS$/);
  t.same(
    lines.slice(1).map((l) => l.split(/\s+/)[0]),
    [dave.id, carol.id, lapsed.id, bob.id, alice.id],
  );
  const byId = new Map(lines.slice(1).map((l) => [l.split(/\s+/)[0], l]));
  t.match(byId.get(carol.id), /revoked by secops/);
  t.match(byId.get(lapsed.id), /\bexpired\b/, 'past its expiry: listed as expired');
  t.match(byId.get(dave.id), /\bin 1[12]h(\d+m)?\s+7$/, 'expires in ~12h; 7 requests');
  const header = lines[0]!;
  const col = header.indexOf('STATUS');
  t.ok(
    lines.slice(1).every((l) => l.length > col),
    'columns are aligned',
  );
});

t.test('server sessions --json and filters', async (t) => {
  const all = await inProcess(['server', 'sessions', ...T, '--json']);
  t.equal(all.code, 0, all.stderr);
  const body = JSON.parse(all.stdout) as { sessions: Session[]; cursor?: string };
  t.equal(body.sessions.length, 5);
  t.notOk('cursor' in body);
  t.same(body.sessions.find((s) => s.id === dave.id)?.request_count, 7);

  const filters: Array<[string[], string[]]> = [
    [
      ['--user', 'alice'],
      [lapsed.id, alice.id],
    ],
    [['--for-profile', 'dev'], [bob.id]],
    [['--status', 'expired'], [lapsed.id]],
    [
      ['--status', 'active'],
      [dave.id, bob.id, alice.id],
    ],
    [['--status', 'revoked', '--for-profile', 'prod', '--since', '1h'], [carol.id]],
    [['--since', new Date(now + HOUR).toISOString()], []],
  ];
  const runs: Run[] = [];
  for (const [args] of filters) runs.push(await inProcess(['server', 'sessions', ...T, '--output', 'json', ...args]));
  filters.forEach(([args, want], i) => {
    t.equal(runs[i]!.code, 0, `${args.join(' ')}: ${runs[i]!.stderr}`);
    t.same(
      (JSON.parse(runs[i]!.stdout) as { sessions: Session[] }).sessions.map((s) => s.id),
      want,
      args.join(' '),
    );
  });
});

t.test('server sessions --output csv escapes what admins typed', async (t) => {
  const r = await inProcess(['server', 'sessions', ...T, '--output', 'csv', '--status', 'revoked']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(
    lines[0],
    'id,user,profile,mode,status,started_at,expires_at,last_access_at,request_count,server_instance_id,source_identity,pid,host,revoked_by,revoked_reason,created_at,updated_at,role_arn,credentials_valid_until,owner_arn',
  );
  t.equal(lines.length, 2);
  t.match(lines[1], new RegExp(`^${carol.id},carol,prod,server,revoked,`));
  t.ok(
    lines[1]!.includes(`,secops,"'=HYPERLINK(""x""), ""quoted"", and commas",`),
    'quoted, doubled quotes, formula defused',
  );
  t.ok(
    lines[1]!.endsWith(`,${CAROL_ROLE},${new Date(now + HOUR).toISOString()},`),
    'the role and how long its credentials stay valid, as --output json has them',
  );
});

t.test('server sessions pages with a cursor', async (t) => {
  const first = await inProcess(['server', 'sessions', ...T, '--limit', '2']);
  t.equal(first.code, 0);
  const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
  t.ok(cursor, 'stderr names the cursor of the next page');
  t.equal(first.stdout.trimEnd().split('\n').length, 3);
  const seen: string[] = [];
  let next: string | undefined;
  do {
    const r = await inProcess([
      'server',
      'sessions',
      ...T,
      '--limit',
      '2',
      '--json',
      ...(next ? ['--cursor', next] : []),
    ]);
    t.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as { sessions: Session[]; cursor?: string };
    seen.push(...body.sessions.map((s) => s.id));
    next = body.cursor;
  } while (next);
  t.same(seen, [dave.id, carol.id, lapsed.id, bob.id, alice.id]);
  const wrong = await inProcess(['server', 'sessions', ...T, '--user', 'bob', '--cursor', cursor!]);
  t.equal(wrong.code, 2, 'a cursor from another query is a usage error');
  t.match(wrong.stderr, /^Error: the cursor is not valid for this query\nHint: /);
});

t.test('server session <id>: human and json; unknown and malformed ids', async (t) => {
  const [human, unknown] = await Promise.all([
    sentinel(['server', 'session', carol.id, ...T]),
    sentinel(['server', 'session', idOf('nobody'), ...T]),
  ]);
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, new RegExp(`^Session\\s+${carol.id}\\n`));
  t.match(human.stdout, /\nStatus\s+revoked\n/);
  t.match(human.stdout, /\nRevoked by\s+secops\n/);
  t.match(human.stdout, /\nHost\s+laptop-7\n/);
  const json = await inProcess(['server', 'session', lapsed.id, ...T, '--output', 'json']);
  t.equal(json.code, 0);
  const s = JSON.parse(json.stdout) as Session;
  t.equal(s.id, lapsed.id);
  t.equal(s.status, 'expired', 'the status a reader sees');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /^Error: no session [0-9a-f]{16} in table team-sessions\nHint: /);
  const csv = await inProcess(['server', 'session', alice.id, ...T, '--output', 'csv']);
  t.equal(csv.code, 2, 'csv is for lists');
});

t.test('server revoke --table records the admin from STS and refuses a second revoke', async (t) => {
  const victim = await open('revoke-me');
  const before = sts.calls.GetCallerIdentity;
  const r = await sentinel(['server', 'revoke', victim.id, '--reason', 'laptop reported stolen', ...T]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.split('\n')[0], `Revoked session ${victim.id} (user alice, profile prod) as secopsadmin.`);
  t.equal(sts.calls.GetCallerIdentity, before + 1, 'asked STS who the admin is');
  const stored = await store.get(victim.id);
  t.equal(stored?.status, 'revoked');
  t.equal(stored?.revoked_by, 'secopsadmin', 'the policy user name of arn:...:user/sec-ops.admin');
  t.equal(stored?.revoked_reason, 'laptop reported stolen');

  const again = await inProcess(['server', 'revoke', victim.id, '--reason', 'again', ...T]);
  t.equal(again.code, 1);
  t.match(again.stderr, new RegExp(`^Error: session ${victim.id} is revoked, not active\\nHint: `));
  t.equal((await store.get(victim.id))?.revoked_reason, 'laptop reported stolen', 'the first revocation stands');

  const ended = await open('ended-one');
  await store.end(ended.id);
  const e = await inProcess(['server', 'revoke', ended.id, '--reason', 'x', ...T]);
  t.equal(e.code, 1);
  t.match(e.stderr, /is ended, not active/);
});

t.test('server revoke --json, with --profile from the AWS config files', async (t) => {
  const dir = mkdtempSync(join(home, 'aws-'));
  const files = writeAwsConfig(dir, {
    config: '[profile responder]\nregion = us-east-1\n',
    credentials: `[responder]\naws_access_key_id = ${OTHER_KEY}\naws_secret_access_key = secret\n`,
  });
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    AWS_CONFIG_FILE: files.configFile,
    AWS_SHARED_CREDENTIALS_FILE: files.credentialsFile,
  };
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  const victim = await open('revoke-by-profile');
  const r = await inProcess(
    ['server', 'revoke', victim.id, '--reason', 'INC-1234', '--table', TABLE, '--profile', 'responder', '--json'],
    env,
  );
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Session;
  t.equal(s.status, 'revoked');
  t.equal(s.revoked_by, 'carolexamplecom', 'assumed-role session name → policy user name');
  t.equal((await store.get(victim.id))?.revoked_by, 'carolexamplecom');

  const viaEnv = await open('revoke-by-env-profile');
  const r2 = await inProcess(['server', 'revoke', viaEnv.id, '--reason', 'env', '--table', TABLE], {
    ...env,
    AWS_PROFILE: 'responder',
  });
  t.equal(r2.code, 0, r2.stderr);
  t.equal((await store.get(viaEnv.id))?.revoked_by, 'carolexamplecom', 'AWS_PROFILE when --profile is absent');
});

t.test('server revoke --table fails without an identity from STS, and changes nothing', async (t) => {
  const victim = await open('unknown-admin');
  const env = { ...baseEnv, AWS_ACCESS_KEY_ID: 'AKIDNOBODY0000000000' };
  const r = await inProcess(['server', 'revoke', victim.id, '--reason', 'x', ...T], env);
  t.equal(r.code, 1);
  t.match(r.stderr, /^Error: sts:GetCallerIdentity failed/);
  t.notMatch(r.stderr, /security token included/, 'no raw AWS text');
  t.equal((await store.get(victim.id))?.status, 'active');
});

// The full hostile-input matrix runs in-process (sessions-cli-flags.test.ts); these prove the binary's exit path.
t.test('bad input is a usage error (exit 2) with a hint', async (t) => {
  const id = alice.id;
  const cases: Array<[string, string[], RegExp]> = [
    ['malformed id', ['server', 'session', 'ABCDEF0123456789', ...T], /is not a session id/],
    [
      'huge reason',
      ['server', 'revoke', id, '--reason', 'x'.repeat(1025), ...T],
      /--reason must be 1-1024 characters \(got 1025\)/,
    ],
    ['unknown status', ['server', 'sessions', ...T, '--status', 'paused'], /unknown status "paused"/],
    ['since garbage', ['server', 'sessions', ...T, '--since', 'last tuesday'], /--since "last tuesday" is neither/],
    ['limit 1001', ['server', 'sessions', ...T, '--limit', '1001'], /--limit "1001" is not a number from 1 to 1000/],
    [
      'region without table',
      ['server', 'sessions', '--region', 'us-east-1'],
      /--profile and --region choose the AWS identity and account for --table/,
    ],
  ];
  // The first through the binary (its exit path), the rest in-process.
  const results: Run[] = [await sentinel(cases[0]![1])];
  for (const [, args] of cases.slice(1)) results.push(await inProcess(args));
  cases.forEach(([why, , message], i) => {
    const r = results[i]!;
    t.equal(r.code, 2, `${why}: exit 2`);
    t.match(r.stderr, message, `${why}: says what is wrong`);
    t.match(r.stderr, /\nHint: /, `${why}: with a hint`);
    t.equal(r.stdout, '', `${why}: nothing on stdout`);
  });
  const json = await inProcess(['server', 'sessions', ...T, '--output', 'csv', '--json']);
  t.equal(json.code, 2);
  t.same(JSON.parse(json.stderr).error.code, 'UsageError', 'with --json the error is JSON on stderr');
  t.equal((await store.get(alice.id))?.status, 'active', 'no bad revoke got through');
});

t.test('an unreachable or missing table is exit 1 with our own message', async (t) => {
  const gone = await startDynalite();
  await gone.close();
  const r = await inProcess(['server', 'sessions', ...T], { ...baseEnv, AWS_ENDPOINT_URL_DYNAMODB: gone.url });
  t.equal(r.code, 1);
  t.match(r.stderr, /^Error: the session table team-sessions cannot be reached\nHint: /);
  const missing = await inProcess(['server', 'session', alice.id, '--table', 'no-such-table', '--region', 'us-east-1']);
  t.equal(missing.code, 1);
  t.match(
    missing.stderr,
    /^Error: the session table no-such-table does not exist\nHint: Create it with `sentinel init sessions/,
  );
});

t.test('without --table the local daemon is asked; none running → exit 4', async (t) => {
  const r = await sentinel(['server', 'sessions', '--json'], {
    ...baseEnv,
    SENTINEL_SOCKET: join(home, 'nothing.sock'),
  });
  t.equal(r.code, 4);
  t.match(r.stderr, /not running/);
});
