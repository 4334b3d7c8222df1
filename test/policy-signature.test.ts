// The signature check of signed policies (DESIGN §5.4), with hostile envelopes, and the serial state that refuses
// replays. (The KMS round trip is in policy-ssm-source and policy-distribution.)
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  canonicalJson,
  checkSignature,
  parseEnvelope,
  type SignatureMetadata,
  type VerificationKey,
} from '../core/policy/signature.js';
import { createSerialState } from '../core/policy/serial-state.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const key: VerificationKey = { keyArn, key: publicKey };
const bytes = Buffer.from('version: "1"\nrules:\n  - { name: dev, effect: allow, conditions: { profiles: [dev] } }\n');

function metadata(overrides: Record<string, unknown> = {}, data: Uint8Array = bytes): SignatureMetadata {
  return {
    key_id: keyArn,
    algorithm: 'RSASSA_PSS_SHA_256',
    signed_at: '2026-01-01T00:00:00Z',
    policy_hash: createHash('sha256').update(data).digest('hex'),
    profile: 'dev',
    serial: 3,
    ...overrides,
  } as SignatureMetadata;
}

function envelope(meta: Record<string, unknown> = metadata(), signature?: string): string {
  const sig =
    signature ??
    sign('sha256', Buffer.from(canonicalJson(meta)), {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    }).toString('base64');
  return JSON.stringify({ signature: sig, metadata: meta });
}

t.test('canonical JSON sorts keys at every level and has no whitespace', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [1, 'x'], c: null } }), '{"a":{"c":null,"d":[1,"x"]},"b":1}');
});

t.test('a valid envelope verifies for its profile, and names its serial', async (t) => {
  const r = checkSignature(bytes, envelope(), key, 'dev');
  t.ok(r.ok);
  t.equal(r.ok && r.metadata.serial, 3);
});

t.test('everything else is refused, each with its reason', async (t) => {
  const other = Buffer.from(bytes.toString().replace('allow', 'deny '));
  const wave1 = JSON.stringify({
    signature: 'AAAA',
    metadata: { key_id: keyArn, algorithm: 'RSASSA_PSS_SHA_256', signed_at: 'x', policy_hash: 'a'.repeat(64) },
  });
  const cases: Array<[string, string | undefined, RegExp, string?]> = [
    ['no signature', undefined, /not signed/],
    ['not JSON', '{signature: x}', /not JSON/],
    ['JSON null', 'null', /not a Sentinel signature envelope/],
    ['a wave-1 envelope (no profile, no serial)', wave1, /old envelope without profile and serial/],
    ['signature not base64', envelope(metadata(), 'not base64!'), /not a Sentinel signature envelope/],
    ['policy_hash not hex', envelope(metadata({ policy_hash: 'xyz' })), /not a Sentinel signature envelope/],
    ['serial 0', envelope(metadata({ serial: 0 })), /not a Sentinel signature envelope/],
    ['serial a string', envelope(metadata({ serial: '4' })), /not a Sentinel signature envelope/],
    ['a profile with a slash', envelope(metadata({ profile: 'a/b' })), /not a Sentinel signature envelope/],
    ['an extra field', envelope({ ...metadata(), extra: 1 }), /not a Sentinel signature envelope/],
    ['control characters', envelope(metadata({ signed_at: '\u0000\u001b[31m' })), /not a Sentinel signature envelope/],
    ['oversized', JSON.stringify({ signature: 'A'.repeat(20_000) }), /too large/],
    [
      'another algorithm',
      envelope(metadata({ algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })),
      /algorithm is not RSASSA_PSS_SHA_256/,
    ],
    [
      'another key',
      envelope(metadata({ key_id: 'arn:aws:kms:us-east-1:111122223333:key/ffffffff-0000-0000-0000-000000000000' })),
      /another key/,
    ],
    [
      'the bare key id instead of the ARN',
      envelope(metadata({ key_id: '1234abcd-12ab-34cd-56ef-1234567890ab' })),
      /another key/,
    ],
    ['signed for other bytes', envelope(metadata({}, other)), /policy_hash differs/],
    [
      'metadata edited after signing (serial raised)',
      JSON.stringify({ ...JSON.parse(envelope()), metadata: metadata({ serial: 99 }) }),
      /does not verify/,
    ],
    ['another profile', envelope(metadata({ profile: 'prod' })), /for profile "prod", not "dev"/],
    ['a file envelope on a parameter', envelope(metadata({ profile: '*' })), /policy file \(profile "\*"\)/],
    ['truncated signature', envelope(metadata(), 'AAAA'), /does not verify/],
  ];
  for (const [name, text, why] of cases) {
    const r = checkSignature(bytes, text, key, 'dev');
    t.notOk(r.ok, `${name}: refused`);
    t.match(!r.ok && r.problem, why, name);
  }
  t.ok(checkSignature(bytes, envelope(metadata({ profile: '*' })), key, '*').ok, '"*" is for files');
  t.notOk(parseEnvelope('[]').ok);
});

t.test('the serial state refuses older serials and a reused serial, and survives a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-serial-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state', 'policy-serials.json');
  const state = createSerialState(file);
  t.equal(state.problem('ssm:/p/dev', 1, 'a'.repeat(64)), null, 'nothing accepted yet');
  state.accept('ssm:/p/dev', 5, 'a'.repeat(64));
  t.equal(statSync(file).mode & 0o777, 0o600);
  const again = createSerialState(file);
  t.equal(again.problem('ssm:/p/dev', 5, 'a'.repeat(64)), null, 'the same envelope again');
  t.equal(again.problem('ssm:/p/dev', 6, 'b'.repeat(64)), null, 'a newer one');
  t.match(again.problem('ssm:/p/dev', 4, 'c'.repeat(64)), /serial 4 is older than 5/);
  t.match(again.problem('ssm:/p/dev', 5, 'c'.repeat(64)), /already accepted for another policy/);
  t.equal(again.problem('ssm:/p/prod', 1, 'c'.repeat(64)), null, 'per parameter');
  again.accept('ssm:/p/dev', 2, 'd'.repeat(64));
  t.equal(JSON.parse(readFileSync(file, 'utf8'))['ssm:/p/dev'].serial, 5, 'never lowered');

  writeFileSync(file, '{"ssm:/p/dev": {"serial": "x"}}');
  t.match(again.problem('ssm:/p/dev', 9, 'a'.repeat(64)), /is damaged/, 'a damaged state refuses');
  t.throws(() => again.accept('ssm:/p/dev', 9, 'a'.repeat(64)), /is damaged/);
  writeFileSync(file, 'not json');
  t.match(again.problem('ssm:/p/dev', 9, 'a'.repeat(64)), /is damaged/);
  if (process.getuid?.() !== 0) {
    chmodSync(file, 0o000);
    t.match(again.problem('ssm:/p/dev', 9, 'a'.repeat(64)), /cannot be read/);
  }
});
