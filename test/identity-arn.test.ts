import t from 'tap';
import fc from 'fast-check';
import { ArnParseError, PARTITIONS, parseCallerArn, policyNameOf } from '../core/identity/arn.js';

const ACCOUNT = '123456789012';

t.test('every principal form in every partition', async (t) => {
  for (const p of PARTITIONS) {
    const user = parseCallerArn(`arn:${p}:iam::${ACCOUNT}:user/alice`);
    t.same(
      user,
      {
        arn: `arn:${p}:iam::${ACCOUNT}:user/alice`,
        account: ACCOUNT,
        type: 'user',
        rawName: 'alice',
        policyName: 'alice',
      },
      `${p} user`,
    );

    const pathed = parseCallerArn(`arn:${p}:iam::${ACCOUNT}:user/division_abc/sub-x/Bob.Smith`);
    t.equal(pathed.type, 'user');
    t.equal(pathed.rawName, 'Bob.Smith', `${p} user with a path: the name is the last segment`);
    t.equal(pathed.policyName, 'BobSmith');

    const root = parseCallerArn(`arn:${p}:iam::${ACCOUNT}:root`);
    t.same([root.type, root.rawName, root.policyName], ['root', 'root', 'root'], `${p} root`);

    const assumed = parseCallerArn(`arn:${p}:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com`);
    t.same(
      [assumed.type, assumed.rawName, assumed.policyName],
      ['assumed-role', 'alice@example.com', 'aliceexamplecom'],
      `${p} assumed-role → session name`,
    );

    const fed = parseCallerArn(`arn:${p}:sts::${ACCOUNT}:federated-user/carol-ops`);
    t.same([fed.type, fed.rawName, fed.policyName], ['federated-user', 'carol-ops', 'carolops'], `${p} federated user`);
  }
});

t.test('policy names keep ASCII letters and digits only, at most 20', async (t) => {
  t.equal(
    parseCallerArn(`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_r/averyveryverylongsessionname123`).policyName,
    'averyveryverylongses',
  );
  t.equal(parseCallerArn(`arn:aws:iam::${ACCOUNT}:user/x_y+z=w,v.u@t-s`).policyName, 'xyzwvuts');
  t.equal(policyNameOf('Ünïcödé-ü'), 'ncd');
  t.throws(
    () => parseCallerArn(`arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_r/-_`),
    ArnParseError,
    'nothing left of the name',
  );
  t.throws(() => parseCallerArn(`arn:aws:iam::${ACCOUNT}:user/___`), ArnParseError);
});

t.test('refused: roles, other services, malformed and oversized input', async (t) => {
  const bad: unknown[] = [
    `arn:aws:iam::${ACCOUNT}:role/admin`, // a role is never a caller
    `arn:aws:iam::${ACCOUNT}:role/path/admin`,
    `arn:aws:iam::${ACCOUNT}:group/devs`,
    `arn:aws:iam::${ACCOUNT}:user/`,
    `arn:aws:iam::${ACCOUNT}:user`,
    `arn:aws:iam::${ACCOUNT}:rootx`,
    `arn:aws:s3:::bucket`,
    `arn:aws:sts::${ACCOUNT}:assumed-role/role-only`,
    `arn:aws:sts::${ACCOUNT}:assumed-role/r/s/extra`,
    `arn:aws:sts::${ACCOUNT}:assumed-role/r/x`, // session names are at least 2 characters
    `arn:aws:sts::${ACCOUNT}:federated-user/${'a'.repeat(33)}`,
    `arn:aws:sts::${ACCOUNT}:user/alice`,
    `arn:aws:iam:us-east-1:${ACCOUNT}:user/alice`, // principals are global
    `arn:aws-mars:iam::${ACCOUNT}:user/alice`,
    `arn:AWS:iam::${ACCOUNT}:user/alice`,
    `arn:aws:iam::12345678901:user/alice`,
    `arn:aws:iam::1234567890123:user/alice`,
    `arn:aws:iam::12345678901a:user/alice`,
    `arn:aws:iam::${ACCOUNT}:user/al:ice`,
    `arn:aws:iam::${ACCOUNT}:user/ali ce`,
    `arn:aws:iam::${ACCOUNT}:user/alice\n`,
    `arn:aws:iam::${ACCOUNT}:user/${'a'.repeat(65)}`,
    `arn:aws:iam::${ACCOUNT}:user/${'p/'.repeat(400)}alice`,
    `xarn:aws:iam::${ACCOUNT}:user/alice`,
    `arn:aws:iam::${ACCOUNT}:user/alice`.repeat(40),
    '',
    'arn',
    ':::::',
    null,
    undefined,
    42,
    { arn: `arn:aws:iam::${ACCOUNT}:user/alice` },
  ];
  for (const input of bad) {
    t.throws(() => parseCallerArn(input), ArnParseError, JSON.stringify(input)?.slice(0, 80) ?? String(input));
  }
});

t.test(
  'property: any string either parses to a 1–20 char alphanumeric policy name or throws ArnParseError',
  async (t) => {
    const name = fc.string({ unit: fc.constantFrom(...'abcXYZ019_+=,.@-:/ü'.split('')), minLength: 0, maxLength: 70 });
    const arn = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(fc.constantFrom(...PARTITIONS, 'aws-x'), name).map(([p, n]) => `arn:${p}:iam::${ACCOUNT}:user/${n}`),
      fc
        .tuple(fc.constantFrom(...PARTITIONS), name, name)
        .map(([p, r, s]) => `arn:${p}:sts::${ACCOUNT}:assumed-role/${r}/${s}`),
      fc.tuple(fc.constantFrom(...PARTITIONS), name).map(([p, n]) => `arn:${p}:sts::${ACCOUNT}:federated-user/${n}`),
    );
    let parsed = 0;
    fc.assert(
      fc.property(arn, (input) => {
        try {
          const id = parseCallerArn(input);
          parsed++;
          return /^[A-Za-z0-9]{1,20}$/.test(id.policyName) && id.account === ACCOUNT && id.arn === input;
        } catch (e) {
          return e instanceof ArnParseError;
        }
      }),
      { numRuns: 3000 },
    );
    t.ok(parsed > 100, `the generator reached the accepting paths (${parsed} parsed)`);
  },
);
