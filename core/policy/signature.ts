// Signed policies (DESIGN §5.4, §13). The envelope `{"signature", "metadata": {key_id, algorithm, signed_at,
// policy_hash, profile, serial}}` names the policy bytes by their SHA-256, the profile they are for and a serial that
// only grows; the signature is RSASSA-PSS SHA-256 over the canonical JSON of `metadata`. KMS signs the SHA-256 of that
// JSON (MessageType DIGEST), so the policy's size never matters. Verification is local with the public key, fetched
// once by GetPublicKey: KMS Verify is never called, per policy or per request.
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { z } from 'zod';

export const SIGNATURE_ROOT = '/sentinel/signatures';
export const SIGNING_ALGORITHM = 'RSASSA_PSS_SHA_256';
/** The profile of an envelope made for a policy file, which governs every profile (never an SSM parameter's). */
export const ALL_PROFILES = '*';
export const MAX_ENVELOPE_BYTES = 16 * 1024;
/** Profile names as they appear in SSM parameter names (one path segment) and AWS config section names. */
export const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export interface VerificationKey {
  /** The key ARN, as KMS names it in GetPublicKey and Sign. */
  keyArn: string;
  key: KeyObject;
}

const metadataSchema = z.strictObject({
  key_id: z.string().min(1).max(2048),
  algorithm: z.string().max(64),
  signed_at: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/),
  policy_hash: z.string().regex(/^[0-9a-f]{64}$/),
  profile: z.string().refine((p) => p === ALL_PROFILES || PROFILE_NAME.test(p)),
  serial: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

const envelopeSchema = z.strictObject({
  signature: z
    .string()
    .regex(/^[A-Za-z0-9+/]+={0,2}$/)
    .max(4096),
  metadata: metadataSchema,
});

export type SignatureMetadata = z.infer<typeof metadataSchema>;
export type SignatureEnvelope = z.infer<typeof envelopeSchema>;

/** JSON with object keys sorted at every level and no whitespace: the bytes a signature covers. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The SHA-256 digest KMS signs (MessageType DIGEST). */
export function metadataDigest(metadata: SignatureMetadata): Buffer {
  return createHash('sha256').update(canonicalJson(metadata), 'utf8').digest();
}

export function policyHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The envelope as text, or why the text is not one. Wave-1 envelopes (no profile, no serial) are not. */
export function parseEnvelope(
  text: string,
): { ok: true; envelope: SignatureEnvelope } | { ok: false; problem: string } {
  if (Buffer.byteLength(text, 'utf8') > MAX_ENVELOPE_BYTES) return { ok: false, problem: 'the signature is too large' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the signature is not JSON' };
  }
  const parsed = envelopeSchema.safeParse(raw);
  if (parsed.success) return { ok: true, envelope: parsed.data };
  const meta = (raw as { metadata?: Record<string, unknown> } | null)?.metadata;
  if (meta && typeof meta === 'object' && !('serial' in meta) && !('profile' in meta) && 'policy_hash' in meta) {
    return {
      ok: false,
      problem:
        'the signature is an old envelope without profile and serial; re-sign it with `sentinel policy sign` or `policy push --sign`',
    };
  }
  return { ok: false, problem: 'the signature is not a Sentinel signature envelope ({signature, metadata})' };
}

/** Fetches the public half of the signing key; throws (with the AWS error name only) when KMS refuses. `signal` ends
 * the call early (a policy source that is closed does not wait out a KMS that does not answer). */
export async function fetchVerificationKey(
  kms: KMSClient,
  keyId: string,
  signal?: AbortSignal,
): Promise<VerificationKey> {
  const { GetPublicKeyCommand } = await import('@aws-sdk/client-kms');
  const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }), signal ? { abortSignal: signal } : {});
  if (!out.PublicKey || !out.KeyId) throw new Error('KMS returned no public key');
  if (out.KeyUsage !== 'SIGN_VERIFY' || !out.SigningAlgorithms?.includes(SIGNING_ALGORITHM)) {
    throw new Error(`the KMS key does not sign with ${SIGNING_ALGORITHM}`);
  }
  return { keyArn: out.KeyId, key: createPublicKey({ key: Buffer.from(out.PublicKey), format: 'der', type: 'spki' }) };
}

export type SignatureCheck = { ok: true; metadata: SignatureMetadata } | { ok: false; problem: string };

/**
 * Whether `envelopeText` is a valid signature by `key` of exactly these policy bytes for `profile`. The serial is
 * returned for the caller to compare with the highest it has accepted (replay is a question of state, not of crypto).
 */
export function checkSignature(
  bytes: Uint8Array,
  envelopeText: string | undefined,
  key: VerificationKey,
  profile: string,
): SignatureCheck {
  if (envelopeText === undefined) return { ok: false, problem: 'the policy is not signed (no signature)' };
  const parsed = parseEnvelope(envelopeText);
  if (!parsed.ok) return parsed;
  const { signature, metadata } = parsed.envelope;
  if (metadata.algorithm !== SIGNING_ALGORITHM)
    return { ok: false, problem: `the signature algorithm is not ${SIGNING_ALGORITHM}` };
  if (metadata.key_id !== key.keyArn) return { ok: false, problem: 'the policy was signed with another key' };
  let valid = false;
  try {
    valid = verify(
      'sha256',
      Buffer.from(canonicalJson(metadata), 'utf8'),
      { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    valid = false; // a signature of the wrong length makes OpenSSL throw rather than answer false
  }
  if (!valid) return { ok: false, problem: 'the signature does not verify' };
  if (policyHash(bytes) !== metadata.policy_hash)
    return { ok: false, problem: 'the signature is for other policy bytes (policy_hash differs)' };
  if (metadata.profile !== profile) {
    return {
      ok: false,
      problem:
        metadata.profile === ALL_PROFILES
          ? 'the signature is for a policy file (profile "*"), not for a profile\'s parameter'
          : `the signature is for profile "${metadata.profile}", not "${profile}"`,
    };
  }
  return { ok: true, metadata };
}

/**
 * Signs policy bytes for a profile with KMS: the key ARN comes from GetPublicKey (so any key form works and the
 * envelope names the ARN the daemon compares with), KMS signs the metadata digest, and the result is verified
 * locally before it is returned, so a wrong key or a broken signer never produces an envelope.
 */
export async function signPolicy(
  kms: KMSClient,
  keyRef: string,
  bytes: Uint8Array,
  profile: string,
  serial: number,
  now: Date = new Date(),
): Promise<{ envelope: SignatureEnvelope; text: string; key: VerificationKey }> {
  const key = await fetchVerificationKey(kms, keyRef);
  const metadata: SignatureMetadata = {
    key_id: key.keyArn,
    algorithm: SIGNING_ALGORITHM,
    signed_at: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    policy_hash: policyHash(bytes),
    profile,
    serial,
  };
  const { SignCommand } = await import('@aws-sdk/client-kms');
  const out = await kms.send(
    new SignCommand({
      KeyId: key.keyArn,
      Message: metadataDigest(metadata),
      MessageType: 'DIGEST',
      SigningAlgorithm: SIGNING_ALGORITHM,
    }),
  );
  if (!out.Signature) throw new Error('KMS returned no signature');
  const envelope: SignatureEnvelope = { signature: Buffer.from(out.Signature).toString('base64'), metadata };
  const text = JSON.stringify(envelope);
  const check = checkSignature(bytes, text, key, profile);
  if (!check.ok) throw new Error(`the signature KMS made does not verify with its public key (${check.problem})`);
  return { envelope, text, key };
}
