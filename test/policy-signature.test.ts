// The signature check of signed policies, with hostile envelopes. (The KMS round trip is in policy-ssm-source.)
import t from 'tap';
import { constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { signatureProblem, type VerificationKey } from '../core/policy/signature.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyArn = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const key: VerificationKey = { keyArn, key: publicKey };
const bytes = Buffer.from('version: "1"\nrules:\n  - { name: dev, effect: allow, conditions: { profiles: [dev] } }\n');

function envelope(
  overrides: { signature?: string; metadata?: Record<string, unknown> } = {},
  data: Uint8Array = bytes,
): string {
  const signature = sign('sha256', data, {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 32,
  }).toString('base64');
  return JSON.stringify({
    signature: overrides.signature ?? signature,
    metadata: {
      key_id: keyArn,
      algorithm: 'RSASSA_PSS_SHA_256',
      signed_at: '2026-01-01T00:00:00Z',
      policy_hash: createHash('sha256').update(data).digest('hex'),
      ...overrides.metadata,
    },
  });
}

t.test('a valid signature verifies, by key ARN or bare key id', async (t) => {
  t.equal(signatureProblem(bytes, envelope(), key, keyArn), null);
  t.equal(
    signatureProblem(bytes, envelope({ metadata: { key_id: '1234abcd-12ab-34cd-56ef-1234567890ab' } }), key, keyArn),
    null,
  );
  t.equal(
    signatureProblem(bytes, envelope({ metadata: { key_id: 'alias/policies' } }), key, 'alias/policies'),
    null,
    'the configured alias',
  );
});

t.test('everything else is refused, each with its reason', async (t) => {
  const other = Buffer.from(bytes.toString().replace('allow', 'deny '));
  const cases: Array<[string, string | undefined, RegExp]> = [
    ['no signature parameter', undefined, /not signed/],
    ['not JSON', '{signature: x}', /not JSON/],
    ['JSON null', 'null', /expected shape/],
    ['missing metadata', JSON.stringify({ signature: 'AAAA' }), /expected shape/],
    ['signature not base64', envelope({ signature: 'not base64!' }), /expected shape/],
    ['policy_hash not hex', envelope({ metadata: { policy_hash: 'xyz' } }), /expected shape/],
    ['oversized', JSON.stringify({ signature: 'A'.repeat(20_000) }), /too large/],
    [
      'another algorithm',
      envelope({ metadata: { algorithm: 'RSASSA_PKCS1_V1_5_SHA_256' } }),
      /algorithm is not RSASSA_PSS_SHA_256/,
    ],
    [
      'another key',
      envelope({ metadata: { key_id: 'arn:aws:kms:us-east-1:111122223333:key/ffffffff-0000-0000-0000-000000000000' } }),
      /another key/,
    ],
    ['signature of other bytes', envelope({}, other), /policy_hash differs/],
    [
      'hash patched to match, signature of other bytes',
      envelope({ metadata: { policy_hash: createHash('sha256').update(bytes).digest('hex') } }, other),
      /does not verify/,
    ],
    ['truncated signature', envelope({ signature: 'AAAA' }), /does not verify/],
  ];
  for (const [name, text, why] of cases) {
    const problem = signatureProblem(bytes, text, key, keyArn);
    t.match(problem, why, name);
  }
});
