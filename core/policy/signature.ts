// Signed policies (DESIGN §5.4): the parameter `/sentinel/signatures/<profile>` holds an RSASSA-PSS SHA-256
// signature, made by KMS, over the exact bytes of the policy parameter. The public key is fetched from KMS once and
// every check runs locally with node:crypto; KMS is never called per policy or per request.
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';

export const SIGNATURE_ROOT = '/sentinel/signatures';
export const SIGNING_ALGORITHM = 'RSASSA_PSS_SHA_256';
const MAX_ENVELOPE_BYTES = 16 * 1024;

export interface VerificationKey {
  keyArn: string;
  key: KeyObject;
}

const envelopeSchema = z.object({
  signature: z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/)
    .max(4096),
  metadata: z.object({
    key_id: z.string().min(1).max(2048),
    algorithm: z.string(),
    signed_at: z.string().max(64),
    policy_hash: z.string().regex(/^[0-9a-f]{64}$/),
  }),
});

export type SignatureEnvelope = z.infer<typeof envelopeSchema>;

/** The key's id (the part after `key/`), so an ARN and a bare key id compare equal. */
function keyIdOf(idOrArn: string): string {
  const at = idOrArn.lastIndexOf(':key/');
  if (at >= 0) return idOrArn.slice(at + 5);
  return idOrArn.startsWith('key/') ? idOrArn.slice(4) : idOrArn;
}

/** Fetches the public half of the signing key; throws (with the AWS error name only) when KMS refuses. */
export async function fetchVerificationKey(kms: KMSClient, keyId: string): Promise<VerificationKey> {
  const { GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
  const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!out.PublicKey || !out.KeyId) throw new Error('KMS returned no public key');
  if (out.KeyUsage !== 'SIGN_VERIFY' || !out.SigningAlgorithms?.includes(SIGNING_ALGORITHM)) {
    throw new Error(`the KMS key does not sign with ${SIGNING_ALGORITHM}`);
  }
  return { keyArn: out.KeyId, key: createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' }) };
}

/** Why the policy bytes are not validly signed, or null when they are. */
export function signatureProblem(
  bytes: Uint8Array,
  envelopeText: string | undefined,
  key: VerificationKey,
  configuredKey: string,
): string | null {
  if (envelopeText === undefined) return 'the policy is not signed (no signature parameter)';
  if (Buffer.byteLength(envelopeText, 'utf8') > MAX_ENVELOPE_BYTES) return 'the signature parameter is too large';
  let raw: unknown;
  try {
    raw = JSON.parse(envelopeText);
  } catch {
    return 'the signature parameter is not JSON';
  }
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) return 'the signature parameter does not have the expected shape';
  const { signature, metadata } = parsed.data;
  if (metadata.algorithm !== SIGNING_ALGORITHM) return `the signature algorithm is not ${SIGNING_ALGORITHM}`;
  if (keyIdOf(metadata.key_id) !== keyIdOf(key.keyArn) && metadata.key_id !== configuredKey) {
    return 'the policy was signed with another key';
  }
  if (createHash('sha256').update(bytes).digest('hex') !== metadata.policy_hash) {
    return 'the signature metadata is for other policy bytes (policy_hash differs)';
  }
  let ok = false;
  try {
    ok = verify(
      'sha256',
      bytes,
      { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    ok = false; // a signature of the wrong length makes OpenSSL throw rather than answer false
  }
  return ok ? null : 'the signature does not verify';
}
