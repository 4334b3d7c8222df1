// The vendor's bundle (DESIGN §17, issue 16 item 3): `npm run build:lambda` makes dist/lambda/handler.mjs; nothing of
// the CLI, fastify, commander, pino-pretty or the native addon is in it (the metafile lists every input); a clean
// `node` process that imports only the bundle serves a credential request through dynalite and the STS emulator, and
// writes its decision as one JSON line on stdout (what Lambda sends to CloudWatch Logs).
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { restEvent } from './support/api-gateway-events.js';
import { DEV_ROLE, VENDOR_KEY, startVendor } from './support/vendor.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'lambda', 'handler.mjs');

/** Inputs that must never reach the vendor's bundle. */
const FORBIDDEN = [
  /(^|\/)node_modules\/fastify\//,
  /(^|\/)node_modules\/commander\//,
  /pino-pretty/,
  /^cli\//,
  /^native\//,
  /\.node$/,
  /^daemon\/server\/(app|auth|tcp-peer)\.ts$/,
];

t.test('build:lambda makes one ESM file without the CLI, fastify, commander, pino-pretty or the addon', async (t) => {
  const { stdout } = await run('npm', ['run', '--silent', 'build:lambda'], { cwd: root, timeout: 120_000 });
  t.match(stdout, /dist\/lambda\/handler\.mjs: \d+ KiB/);
  t.ok(statSync(bundle).size > 0);
  const meta = JSON.parse(readFileSync(join(root, 'dist', 'lambda', 'meta.json'), 'utf8'));
  const inputs = Object.keys(meta.handler.inputs) as string[];
  t.ok(inputs.includes('lambda/handler.ts'), 'the handler is in it');
  t.ok(
    inputs.some((i) => i.includes('node_modules/@aws-sdk/client-sts/')),
    'the STS client is in it',
  );
  for (const pattern of FORBIDDEN) {
    t.same(
      inputs.filter((i) => pattern.test(i)),
      [],
      `nothing matching ${pattern}`,
    );
  }
  t.same(
    Object.keys(meta.handler.outputs).filter((o: string) => !o.endsWith('.map')),
    ['dist/lambda/handler.mjs'],
    'one file',
  );
  t.same(JSON.parse(readFileSync(join(root, 'dist', 'lambda', 'package.json'), 'utf8')).type, 'module');
});

t.test('the bundle, imported in a clean node process, serves a request', async (t) => {
  statSync(bundle); // built by the test above (tap runs a file's tests in order)
  // Run from a copy outside the project: a Lambda has only the bundle, and the coverage report is for the sources
  // (a minified bundle counted as a source file halves the functions figure).
  const deployed = mkdtempSync(join(tmpdir(), 'sentinel-lambda-'));
  t.teardown(() => rmSync(deployed, { recursive: true, force: true }));
  cpSync(join(root, 'dist', 'lambda'), deployed, { recursive: true });
  const copy = join(deployed, 'handler.mjs');
  const v = await startVendor(t);
  const event = restEvent({
    method: 'GET',
    path: '/v1/credentials?profile=dev',
    callerArn: 'arn:aws:iam::111122223333:user/alice',
  });
  const script = `
    const { handler } = await import(${JSON.stringify(copy)});
    const event = JSON.parse(process.env.EVENT);
    const r = await handler(event);
    console.log('RESULT ' + JSON.stringify(r));
    const bad = await handler({ nonsense: true });
    console.log('RESULT ' + JSON.stringify(bad));
  `;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...v.env,
    EVENT: JSON.stringify(event),
  };
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env,
    timeout: 60_000,
  });
  t.equal(stderr, '', 'nothing on stderr');
  const lines = stdout.trim().split('\n');
  const results = lines.filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)));
  t.equal(results.length, 2);
  const [ok, bad] = results;
  t.equal(ok.statusCode, 200);
  t.equal(ok.headers['content-type'], 'application/json');
  const body = JSON.parse(ok.body);
  t.match(body, { AccessKeyId: String, SecretAccessKey: String, Token: String, Expiration: String });
  t.equal(bad.statusCode, 400);
  t.equal(JSON.parse(bad.body).code, 'BadRequest');
  t.notMatch(bad.body, /at .*\.m?js:\d+/, 'no stack trace');
  const decisions = lines.filter((l) => !l.startsWith('RESULT ')).map((l) => JSON.parse(l));
  t.equal(decisions.length, 1, 'one decision line on stdout');
  t.match(decisions[0], { outcome: 'allow', user: 'alice', profile: 'dev', event: 'credential_process' });
  t.notOk(JSON.stringify(decisions).includes(body.SecretAccessKey), 'no secret in the decision');
  t.notOk(JSON.stringify(decisions).includes(body.Token), 'no session token in the decision');
  const assumed = v.sts.assumeRoleRequests.at(-1)!;
  t.equal(assumed.accessKeyId, VENDOR_KEY);
  t.equal(assumed.RoleArn, DEV_ROLE);
  t.equal(assumed.SourceIdentity, decisions[0].source_identity);
});
