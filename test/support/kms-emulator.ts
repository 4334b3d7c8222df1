// A strict local KMS for tests, limited to asymmetric signing: AWS JSON 1.1 (`X-Amz-Target: TrentService.<Op>`) with
// real RSA key pairs, so signatures it makes verify with node:crypto against GetPublicKey's key and vice versa.
// See docs/testing.md.
import {
  constants,
  createHash,
  generateKeyPair,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import {
  AwsServiceError,
  EMULATOR_ACCOUNT,
  FaultInjector,
  ValidationCollector,
  optBlob,
  optBoolean,
  optString,
  optStringList,
  startJsonService,
  type FailureSpec,
  type JsonObject,
} from './aws-protocol.js';

const REGION = 'us-east-1';
const ARN_PREFIX = `arn:aws:kms:${REGION}:${EMULATOR_ACCOUNT}:`;

export type RsaKeySpec = 'RSA_2048' | 'RSA_3072';

export interface KmsEmulator {
  url: string;
  /** Calls per operation (every operation starts at 0), counted once the caller is authenticated. */
  calls: Record<string, number>;
  /**
   * A new SIGN_VERIFY key with real RSA material. It signs only with RSASSA_PSS_SHA_256 (Sentinel's algorithm); any
   * other algorithm is refused as KMS refuses an algorithm the key does not support.
   */
  createRsaSigningKey(opts?: {
    spec?: RsaKeySpec;
    alias?: string;
    description?: string;
  }): Promise<{ keyId: string; arn: string; alias?: string }>;
  /** The key's private half, for tests that need a signature KMS did not make (real KMS never exposes it). */
  privateKey(keyId: string): KeyObject;
  /** Disable (DisabledException on use) or re-enable a key. */
  setKeyEnabled(keyId: string, enabled: boolean): void;
  failNext(action: string, spec: FailureSpec, times?: number): void;
  setFailure(action: string, spec: FailureSpec | null): void;
  setDelay(ms: number): void;
  close(): Promise<void>;
}

interface SigningKey {
  keyId: string;
  arn: string;
  spec: RsaKeySpec;
  privateKey: KeyObject;
  publicKey: KeyObject;
  modulusBits: number;
  signingAlgorithms: string[];
  enabled: boolean;
  created: number;
  description: string;
}

const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
];
const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'];
const SUPPORTED_ALGORITHM = 'RSASSA_PSS_SHA_256';
const MAX_MESSAGE_BYTES = 4096;
const SHA256_BYTES = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

const STATUS_BY_CODE: Record<string, number> = { KMSInternalException: 500, DependencyTimeoutException: 503 };

export async function startKms(): Promise<KmsEmulator> {
  const keys = new Map<string, SigningKey>();
  const aliases = new Map<string, string>();
  const calls: Record<string, number> = {};
  const faults = new FaultInjector(STATUS_BY_CODE);
  let delayMs = 0;

  const resolveKey = (keyIdInput: string | undefined): SigningKey => {
    const v = new ValidationCollector();
    v.checkString(keyIdInput, 'keyId', { required: true, min: 1, max: 2048 });
    v.throwIfAny('ValidationException');
    const ref = keyIdInput!;
    let key: SigningKey | undefined;
    if (ref.startsWith('alias/') || ref.startsWith(`${ARN_PREFIX}alias/`)) {
      const alias = ref.startsWith('alias/') ? ref : ref.slice(ARN_PREFIX.length);
      const target = aliases.get(alias);
      if (!target) throw new AwsServiceError('NotFoundException', `Alias ${ARN_PREFIX}${alias} is not found.`);
      key = keys.get(target);
    } else if (
      UUID.test(ref) ||
      (ref.startsWith(`${ARN_PREFIX}key/`) && UUID.test(ref.slice(`${ARN_PREFIX}key/`.length)))
    ) {
      const id = UUID.test(ref) ? ref : ref.slice(`${ARN_PREFIX}key/`.length);
      key = keys.get(id);
      if (!key) throw new AwsServiceError('NotFoundException', `Key '${ARN_PREFIX}key/${id}' does not exist`);
    } else {
      throw new AwsServiceError('NotFoundException', `Invalid keyId '${ref}'`);
    }
    if (!key) throw new AwsServiceError('NotFoundException', `Key '${ref}' does not exist`);
    return key;
  };

  const usableKey = (keyIdInput: string | undefined): SigningKey => {
    const key = resolveKey(keyIdInput);
    if (!key.enabled) throw new AwsServiceError('DisabledException', `${key.arn} is disabled.`);
    return key;
  };

  /** Validates a Sign/Verify request's message, type and algorithm; returns the SHA-256 digest to sign. */
  const signingInput = (
    input: JsonObject,
    key: SigningKey,
    extra: (v: ValidationCollector) => void,
  ): { digest: Buffer; algorithm: string } => {
    const message = optBlob(input, 'Message');
    const messageType = optString(input, 'MessageType') ?? 'RAW';
    const algorithm = optString(input, 'SigningAlgorithm');
    const v = new ValidationCollector();
    if (message === undefined) v.addSensitive('message', 'Member must not be null');
    else if (message.length < 1) v.addSensitive('message', 'Member must have length greater than or equal to 1');
    else if (message.length > MAX_MESSAGE_BYTES)
      v.addSensitive('message', `Member must have length less than or equal to ${MAX_MESSAGE_BYTES}`);
    if (!MESSAGE_TYPES.includes(messageType))
      v.add(messageType, 'messageType', `Member must satisfy enum value set: [${MESSAGE_TYPES.join(', ')}]`);
    if (algorithm === undefined) v.add(undefined, 'signingAlgorithm', 'Member must not be null');
    else if (!SIGNING_ALGORITHMS.includes(algorithm)) {
      v.add(algorithm, 'signingAlgorithm', `Member must satisfy enum value set: [${SIGNING_ALGORITHMS.join(', ')}]`);
    }
    extra(v);
    v.throwIfAny('ValidationException');
    if (!key.signingAlgorithms.includes(algorithm!)) {
      throw new AwsServiceError(
        'InvalidKeyUsageException',
        `The signing algorithm ${algorithm} is not supported for key ${key.arn} (${key.spec}). Supported: ${key.signingAlgorithms.join(', ')}.`,
      );
    }
    if (messageType === 'EXTERNAL_MU') {
      throw new AwsServiceError(
        'InvalidKeyUsageException',
        `MessageType EXTERNAL_MU is only valid for ML-DSA keys, not ${key.spec}.`,
      );
    }
    if (messageType === 'DIGEST') {
      if (message!.length !== SHA256_BYTES) {
        throw new AwsServiceError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
      }
      return { digest: message!, algorithm: algorithm! };
    }
    return { digest: createHash('sha256').update(message!).digest(), algorithm: algorithm! };
  };

  const dryRun = (input: JsonObject) => {
    if (optBoolean(input, 'DryRun')) {
      throw new AwsServiceError(
        'DryRunOperationException',
        'The request would have succeeded, but the DryRun option is set.',
        412,
      );
    }
  };

  const operations = {
    Sign(input: JsonObject): JsonObject {
      optStringList(input, 'GrantTokens');
      const key = usableKey(optString(input, 'KeyId'));
      const { digest, algorithm } = signingInput(input, key, () => {});
      dryRun(input);
      return { KeyId: key.arn, Signature: pssSign(key, digest).toString('base64'), SigningAlgorithm: algorithm };
    },

    Verify(input: JsonObject): JsonObject {
      optStringList(input, 'GrantTokens');
      const key = usableKey(optString(input, 'KeyId'));
      const signature = optBlob(input, 'Signature');
      const { digest, algorithm } = signingInput(input, key, (v) => {
        if (signature === undefined) v.add(undefined, 'signature', 'Member must not be null');
        else if (signature.length < 1) v.add('', 'signature', 'Member must have length greater than or equal to 1');
        else if (signature.length > 6144)
          v.addSensitive('signature', 'Member must have length less than or equal to 6144');
      });
      dryRun(input);
      if (!pssVerify(key, digest, signature!)) throw new AwsServiceError('KMSInvalidSignatureException', '');
      return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: algorithm };
    },

    GetPublicKey(input: JsonObject): JsonObject {
      optStringList(input, 'GrantTokens');
      const key = usableKey(optString(input, 'KeyId'));
      return {
        KeyId: key.arn,
        PublicKey: key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
        CustomerMasterKeySpec: key.spec,
        KeySpec: key.spec,
        KeyUsage: 'SIGN_VERIFY',
        SigningAlgorithms: key.signingAlgorithms,
      };
    },

    DescribeKey(input: JsonObject): JsonObject {
      optStringList(input, 'GrantTokens');
      const key = resolveKey(optString(input, 'KeyId'));
      return {
        KeyMetadata: {
          AWSAccountId: EMULATOR_ACCOUNT,
          KeyId: key.keyId,
          Arn: key.arn,
          CreationDate: key.created,
          Enabled: key.enabled,
          Description: key.description,
          KeyUsage: 'SIGN_VERIFY',
          KeyState: key.enabled ? 'Enabled' : 'Disabled',
          Origin: 'AWS_KMS',
          KeyManager: 'CUSTOMER',
          CustomerMasterKeySpec: key.spec,
          KeySpec: key.spec,
          SigningAlgorithms: key.signingAlgorithms,
          MultiRegion: false,
        },
      };
    },
  };

  const service = await startJsonService({
    signingName: 'kms',
    targetPrefix: 'TrentService',
    operations,
    faults,
    calls,
    getDelay: () => delayMs,
  });

  return {
    url: service.url,
    calls,
    async createRsaSigningKey(opts = {}) {
      const spec = opts.spec ?? 'RSA_2048';
      const modulusBits = spec === 'RSA_3072' ? 3072 : 2048;
      const alias =
        opts.alias === undefined ? undefined : opts.alias.startsWith('alias/') ? opts.alias : `alias/${opts.alias}`;
      if (alias !== undefined && (!ALIAS_NAME.test(alias) || alias.startsWith('alias/aws/')))
        throw new Error(`createRsaSigningKey: invalid alias ${alias}`);
      if (alias !== undefined && aliases.has(alias))
        throw new Error(`createRsaSigningKey: alias ${alias} already exists`);
      const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: modulusBits });
      const keyId = randomUUID();
      const arn = `${ARN_PREFIX}key/${keyId}`;
      keys.set(keyId, {
        keyId,
        arn,
        spec,
        privateKey,
        publicKey,
        modulusBits,
        signingAlgorithms: [SUPPORTED_ALGORITHM],
        enabled: true,
        created: Date.now() / 1000,
        description: opts.description ?? '',
      });
      if (alias !== undefined) aliases.set(alias, keyId);
      return { keyId, arn, ...(alias !== undefined ? { alias } : {}) };
    },
    privateKey(keyId) {
      const key = keys.get(keyId);
      if (!key) throw new Error(`privateKey: no key ${keyId}`);
      return key.privateKey;
    },
    setKeyEnabled(keyId, enabled) {
      const key = keys.get(keyId);
      if (!key) throw new Error(`setKeyEnabled: no key ${keyId}`);
      key.enabled = enabled;
    },
    failNext: (action, spec, times) => faults.failNext(action, spec, times),
    setFailure: (action, spec) => faults.setFailure(action, spec),
    setDelay(ms) {
      delayMs = ms;
    },
    close: () => service.close(),
  };
}

// RSASSA-PSS over a precomputed SHA-256 digest (RFC 8017 §8.1 / §9.1, MGF1-SHA-256, 32-byte salt, as KMS signs).
// node:crypto cannot sign a digest it did not compute, and KMS's MessageType DIGEST needs exactly that, so the
// encoding is done here and only the raw RSA operation is left to OpenSSL. The tests cross-check it with
// crypto.sign / crypto.verify on RAW messages.

function pssSign(key: SigningKey, digest: Buffer): Buffer {
  const em = emsaPssEncode(digest, key.modulusBits - 1, randomBytes(SHA256_BYTES));
  const k = Math.ceil(key.modulusBits / 8);
  const block = Buffer.concat([Buffer.alloc(k - em.length), em]);
  return privateDecrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, block);
}

function pssVerify(key: SigningKey, digest: Buffer, signature: Buffer): boolean {
  const k = Math.ceil(key.modulusBits / 8);
  if (signature.length !== k) return false;
  let block: Buffer;
  try {
    block = publicEncrypt({ key: key.publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false; // signature representative out of range (≥ n)
  }
  const emBits = key.modulusBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (block.subarray(0, k - emLen).some((b) => b !== 0)) return false;
  return emsaPssVerify(digest, block.subarray(k - emLen), emBits);
}

function mgf1(seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; out.length * SHA256_BYTES < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    out.push(createHash('sha256').update(seed).update(c).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

function emsaPssEncode(mHash: Buffer, emBits: number, salt: Buffer): Buffer {
  const emLen = Math.ceil(emBits / 8);
  const h = createHash('sha256').update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - salt.length - SHA256_BYTES - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, emLen - SHA256_BYTES - 1);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

function emsaPssVerify(mHash: Buffer, em: Buffer, emBits: number): boolean {
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < SHA256_BYTES * 2 + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - SHA256_BYTES - 1);
  const h = em.subarray(emLen - SHA256_BYTES - 1, emLen - 1);
  const topBits = (0xff << (8 - (8 * emLen - emBits))) & 0xff;
  if ((maskedDb[0]! & topBits) !== 0) return false;
  const db = mgf1(h, maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= maskedDb[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const psLen = emLen - SHA256_BYTES * 2 - 2;
  if (db.subarray(0, psLen).some((b) => b !== 0) || db[psLen] !== 0x01) return false;
  const salt = db.subarray(psLen + 1);
  const expected = createHash('sha256').update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(expected, h);
}
