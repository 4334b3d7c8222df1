import t from 'tap';
import {
  constants,
  createHash,
  createPublicKey,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import {
  DescribeKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  SignCommand,
  VerifyCommand,
  type SignCommandInput,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { startKms } from './support/kms-emulator.js';
import type { HasTeardown } from './support/aws-env.js';
import { emulatorWithClient, rejection } from './support/sdk-client.js';

const creds = { accessKeyId: 'AKIAKMSTEST000000001', secretAccessKey: 'secret' };
const PSS = 'RSASSA_PSS_SHA_256';
const pssOptions = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };

const setup = (t: HasTeardown) => emulatorWithClient(t, startKms, (config) => new KMSClient(config), creds);

async function publicKeyOf(client: KMSClient, keyId: string): Promise<KeyObject> {
  const out = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  return createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' });
}

t.test('Sign → Verify with a real KMS client, and node:crypto agrees in both directions', async (t) => {
  const { emulator: kms, client } = await setup(t);
  const key = await kms.createRsaSigningKey({ alias: 'sentinel-policy' });
  t.match(key.keyId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.equal(key.arn, `arn:aws:kms:us-east-1:111122223333:key/${key.keyId}`);
  t.equal(key.alias, 'alias/sentinel-policy');

  const message = Buffer.from('version: 1\nrules: []\n');
  const signed = await client.send(
    new SignCommand({ KeyId: 'alias/sentinel-policy', Message: message, SigningAlgorithm: PSS }),
  );
  t.equal(signed.KeyId, key.arn, 'KMS answers with the key ARN whatever reference was used');
  t.equal(signed.SigningAlgorithm, PSS);
  t.equal(signed.Signature?.length, 256);

  const verified = await client.send(
    new VerifyCommand({ KeyId: key.arn, Message: message, Signature: signed.Signature, SigningAlgorithm: PSS }),
  );
  t.equal(verified.SignatureValid, true);

  const pub = await publicKeyOf(client, key.keyId);
  t.equal(pub.asymmetricKeyDetails?.modulusLength, 2048);
  t.ok(
    nodeVerify('sha256', message, { key: pub, ...pssOptions }, Buffer.from(signed.Signature!)),
    'node:crypto verifies the KMS signature',
  );
  t.notOk(
    nodeVerify('sha256', Buffer.from('other'), { key: pub, ...pssOptions }, Buffer.from(signed.Signature!)),
    'and only for that message',
  );

  const again = await client.send(new SignCommand({ KeyId: key.keyId, Message: message, SigningAlgorithm: PSS }));
  t.notSame(
    Buffer.from(again.Signature!),
    Buffer.from(signed.Signature!),
    'PSS is randomised: a fresh salt per signature',
  );

  // DIGEST signing must produce the same kind of signature as RAW over the same bytes.
  const digest = createHash('sha256').update(message).digest();
  const fromDigest = await client.send(
    new SignCommand({ KeyId: key.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: PSS }),
  );
  t.ok(
    nodeVerify('sha256', message, { key: pub, ...pssOptions }, Buffer.from(fromDigest.Signature!)),
    'a DIGEST signature verifies over the message',
  );
  const rawCheck = await client.send(
    new VerifyCommand({ KeyId: key.keyId, Message: message, Signature: fromDigest.Signature, SigningAlgorithm: PSS }),
  );
  t.equal(rawCheck.SignatureValid, true);

  t.equal(kms.calls.Sign, 3);
  t.equal(kms.calls.Verify, 2);
  t.equal(kms.calls.GetPublicKey, 1);
});

t.test('Verify accepts a signature node:crypto made with the same key material (RSA 3072)', async (t) => {
  const { emulator: kms, client } = await setup(t);
  const key = await kms.createRsaSigningKey({ spec: 'RSA_3072' });
  const out = await client.send(
    new GetPublicKeyCommand({ KeyId: `arn:aws:kms:us-east-1:111122223333:key/${key.keyId}` }),
  );
  t.same(
    [out.KeySpec, out.CustomerMasterKeySpec, out.KeyUsage, out.SigningAlgorithms],
    ['RSA_3072', 'RSA_3072', 'SIGN_VERIFY', [PSS]],
  );
  const message = Buffer.from('sign me');
  const signed = await client.send(new SignCommand({ KeyId: key.keyId, Message: message, SigningAlgorithm: PSS }));
  t.equal(signed.Signature?.length, 384);
  const pub = createPublicKey({ key: Buffer.from(out.PublicKey!), format: 'der', type: 'spki' });
  t.ok(nodeVerify('sha256', message, { key: pub, ...pssOptions }, Buffer.from(signed.Signature!)));

  const byNode = nodeSign('sha256', message, { key: kms.privateKey(key.keyId), ...pssOptions });
  const checked = await client.send(
    new VerifyCommand({ KeyId: key.keyId, Message: message, Signature: byNode, SigningAlgorithm: PSS }),
  );
  t.equal(checked.SignatureValid, true, 'KMS Verify accepts a standard PSS signature it did not make');
  const digest = createHash('sha256').update(message).digest();
  const digestCheck = await client.send(
    new VerifyCommand({
      KeyId: key.keyId,
      Message: digest,
      MessageType: 'DIGEST',
      Signature: byNode,
      SigningAlgorithm: PSS,
    }),
  );
  t.equal(digestCheck.SignatureValid, true, 'also when given the digest');

  const described = await client.send(new DescribeKeyCommand({ KeyId: key.keyId }));
  t.match(described.KeyMetadata, {
    KeyId: key.keyId,
    Arn: key.arn,
    KeyUsage: 'SIGN_VERIFY',
    KeyState: 'Enabled',
    Enabled: true,
    KeySpec: 'RSA_3072',
  });
  t.ok(described.KeyMetadata?.CreationDate instanceof Date);
});

t.test('Sign and Verify refuse what KMS refuses', async (t) => {
  const { emulator: kms, client } = await setup(t);
  const key = await kms.createRsaSigningKey();
  const message = Buffer.from('payload');
  const signRejected = (input: Partial<SignCommandInput>) =>
    rejection(
      client.send(
        new SignCommand({ KeyId: key.keyId, Message: message, SigningAlgorithm: PSS, ...input } as SignCommandInput),
      ),
    );

  const pkcs = await signRejected({ SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
  t.same([pkcs.name, pkcs.status], ['InvalidKeyUsageException', 400], 'an algorithm the key does not support');
  t.equal((await signRejected({ SigningAlgorithm: 'ECDSA_SHA_256' })).name, 'InvalidKeyUsageException');
  const bogus = await signRejected({ SigningAlgorithm: 'RSA_PSS_256' as SigningAlgorithmSpec });
  t.equal(bogus.name, 'ValidationException', 'a value outside the enum');
  t.match(
    bogus.message,
    /Value 'RSA_PSS_256' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set/,
  );

  t.equal(
    (await signRejected({ Message: Buffer.alloc(4097) })).name,
    'ValidationException',
    'RAW messages are at most 4096 bytes',
  );
  t.ok(
    (await client.send(new SignCommand({ KeyId: key.keyId, Message: Buffer.alloc(4096, 1), SigningAlgorithm: PSS })))
      .Signature,
    '4096 fit',
  );
  t.equal((await signRejected({ Message: Buffer.alloc(0) })).name, 'ValidationException');
  t.equal(
    (await signRejected({ Message: Buffer.alloc(31), MessageType: 'DIGEST' })).name,
    'ValidationException',
    'a SHA-256 digest is 32 bytes',
  );
  t.equal((await signRejected({ Message: Buffer.alloc(33), MessageType: 'DIGEST' })).name, 'ValidationException');

  const missing = await signRejected({ KeyId: '00000000-0000-4000-8000-000000000000' });
  t.same([missing.name, missing.status], ['NotFoundException', 400]);
  t.equal((await signRejected({ KeyId: 'alias/nope' })).name, 'NotFoundException');
  t.equal((await signRejected({ KeyId: 'arn:aws:kms:us-east-1:111122223333:alias/nope' })).name, 'NotFoundException');
  t.equal((await signRejected({ KeyId: 'not-a-key' })).name, 'NotFoundException');

  const signed = await client.send(new SignCommand({ KeyId: key.keyId, Message: message, SigningAlgorithm: PSS }));
  const tampered = Buffer.from(signed.Signature!);
  tampered[100]! ^= 0x01;
  const bad = await rejection(
    client.send(new VerifyCommand({ KeyId: key.keyId, Message: message, Signature: tampered, SigningAlgorithm: PSS })),
  );
  t.same(
    [bad.name, bad.status],
    ['KMSInvalidSignatureException', 400],
    'an invalid signature is an error, not SignatureValid: false',
  );
  const otherMessage = await rejection(
    client.send(
      new VerifyCommand({
        KeyId: key.keyId,
        Message: Buffer.from('payloaD'),
        Signature: signed.Signature,
        SigningAlgorithm: PSS,
      }),
    ),
  );
  t.equal(otherMessage.name, 'KMSInvalidSignatureException');
  const short = await rejection(
    client.send(
      new VerifyCommand({
        KeyId: key.keyId,
        Message: message,
        Signature: signed.Signature!.subarray(1),
        SigningAlgorithm: PSS,
      }),
    ),
  );
  t.equal(short.name, 'KMSInvalidSignatureException');
  const otherKey = await kms.createRsaSigningKey();
  t.equal(
    (
      await rejection(
        client.send(
          new VerifyCommand({
            KeyId: otherKey.keyId,
            Message: message,
            Signature: signed.Signature,
            SigningAlgorithm: PSS,
          }),
        ),
      )
    ).name,
    'KMSInvalidSignatureException',
    'another key does not verify it',
  );
  // A PKCS#1 v1.5 signature by the right key is still not a PSS signature.
  const pkcs1 = nodeSign('sha256', message, kms.privateKey(key.keyId));
  t.equal(
    (
      await rejection(
        client.send(new VerifyCommand({ KeyId: key.keyId, Message: message, Signature: pkcs1, SigningAlgorithm: PSS })),
      )
    ).name,
    'KMSInvalidSignatureException',
  );

  kms.setKeyEnabled(key.keyId, false);
  t.equal((await signRejected({})).name, 'DisabledException');
  t.equal((await rejection(client.send(new GetPublicKeyCommand({ KeyId: key.keyId })))).name, 'DisabledException');
  kms.setKeyEnabled(key.keyId, true);
  t.ok(
    (await client.send(new SignCommand({ KeyId: key.keyId, Message: message, SigningAlgorithm: PSS }))).Signature,
    're-enabled',
  );
});

t.test('failNext, setFailure and setDelay behave as documented', async (t) => {
  const { emulator: kms, client } = await setup(t);
  const key = await kms.createRsaSigningKey();
  kms.failNext('Sign', { code: 'KMSInternalException' });
  const failed = await rejection(
    client.send(new SignCommand({ KeyId: key.keyId, Message: Buffer.from('m'), SigningAlgorithm: PSS })),
  );
  t.same([failed.name, failed.status], ['KMSInternalException', 500]);
  t.ok(
    (await client.send(new SignCommand({ KeyId: key.keyId, Message: Buffer.from('m'), SigningAlgorithm: PSS })))
      .Signature,
  );

  kms.setFailure('GetPublicKey', { code: 'AccessDeniedException', message: 'not allowed' });
  const denied = await rejection(client.send(new GetPublicKeyCommand({ KeyId: key.keyId })));
  t.same([denied.name, denied.message], ['AccessDeniedException', 'not allowed']);
  kms.setFailure('GetPublicKey', null);
  t.ok((await client.send(new GetPublicKeyCommand({ KeyId: key.keyId }))).PublicKey);

  kms.setDelay(60_000);
  t.equal(
    (
      await rejection(
        client.send(new GetPublicKeyCommand({ KeyId: key.keyId }), { abortSignal: AbortSignal.timeout(150) }),
      )
    ).name,
    'AbortError',
  );
  kms.setDelay(0);
});

t.test('hostile input gets a clean AWS-style error and the emulator stays up', async (t) => {
  const { emulator: kms, client } = await setup(t);
  const key = await kms.createRsaSigningKey();
  const headers = {
    authorization: `AWS4-HMAC-SHA256 Credential=AKIAKMSTEST000000001/20261129/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'ef'.repeat(32)}`,
    'x-amz-date': '20261129T120000Z',
    'x-amz-target': 'TrentService.Sign',
    'content-type': 'application/x-amz-json-1.1',
  };
  const post = async (body: string, extra: Record<string, string> = {}) => {
    const res = await fetch(kms.url, { method: 'POST', body, headers: { ...headers, ...extra } });
    return { status: res.status, type: ((await res.json()) as { __type?: string }).__type };
  };
  t.same(await post('{}', { authorization: '' }), { status: 400, type: 'MissingAuthenticationTokenException' });
  t.same(await post('not json'), { status: 400, type: 'SerializationException' });
  t.same(await post(JSON.stringify({ KeyId: key.keyId, Message: '@@not base64@@', SigningAlgorithm: PSS })), {
    status: 400,
    type: 'SerializationException',
  });
  t.same(await post(JSON.stringify({ KeyId: key.keyId, Message: 12, SigningAlgorithm: PSS })), {
    status: 400,
    type: 'SerializationException',
  });
  t.same(await post(JSON.stringify({ KeyId: [key.keyId], Message: 'bQ==', SigningAlgorithm: PSS })), {
    status: 400,
    type: 'SerializationException',
  });
  t.same(await post(JSON.stringify({ KeyId: key.keyId, Message: 'bQ==', SigningAlgorithm: PSS, DryRun: true })), {
    status: 412,
    type: 'DryRunOperationException',
  });
  t.same(await post('{}', { 'x-amz-target': 'TrentService.Decrypt' }), {
    status: 400,
    type: 'UnknownOperationException',
  });
  t.same(await post(JSON.stringify({ KeyId: key.keyId, Message: 'A'.repeat(80 * 1024) })), {
    status: 413,
    type: 'RequestEntityTooLarge',
  });

  t.ok(
    (await client.send(new SignCommand({ KeyId: key.keyId, Message: Buffer.from('m'), SigningAlgorithm: PSS })))
      .Signature,
    'still serving',
  );
});
