// The generated policies, evaluated by an IAM policy evaluator no one here wrote (@cloud-copilot/iam-simulate,
// test-only): what AWS would decide, not what the generator's author meant.
import t from 'tap';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import {
  resourceControlPolicy,
  revocationPolicy,
  revocationPolicyName,
  serviceControlPolicy,
  trustPolicy,
} from '../core/enforcement/generate.js';
import type { PolicyDocument } from '../core/enforcement/policy-document.js';
import { isSentinelError } from '../core/errors.js';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/sentinel/prod-admin`;
const OTHER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ci-deployer`;
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const STAMP = 'sentinel-alice-direct-0123456789abcdef';
const ALLOW_ALL = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

interface Sim {
  action: string;
  principal?: string;
  resource?: string;
  context?: Record<string, string>;
  trust?: PolicyDocument;
  identity?: object[];
  scp?: PolicyDocument;
  rcp?: PolicyDocument;
}

async function decide(s: Sim): Promise<string> {
  const principal = s.principal ?? ALICE;
  const resource = s.resource ?? ROLE;
  const result = await runSimulation(
    {
      request: {
        action: s.action,
        principal,
        resource: { resource, accountId: /::(\d{12}):/.exec(resource)?.[1] ?? ACCOUNT },
        contextVariables: s.context ?? {},
      },
      identityPolicies: (s.identity ?? [ALLOW_ALL]).map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: s.scp
        ? [
            {
              orgIdentifier: 'o-exampleorg',
              policies: [
                { name: 'FullAWSAccess', policy: ALLOW_ALL },
                { name: 'sentinel', policy: s.scp },
              ],
            },
          ]
        : [],
      resourceControlPolicies: s.rcp
        ? [{ orgIdentifier: 'o-exampleorg', policies: [{ name: 'sentinel', policy: s.rcp }] }]
        : [],
      ...(s.trust ? { resourcePolicy: s.trust } : {}),
    } as Parameters<typeof runSimulation>[0],
    {},
  );
  if (result.resultType === 'error') throw new Error(`simulation refused: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

const assume = (trust: PolicyDocument, sourceIdentity?: string, extra: Partial<Sim> = {}) =>
  decide({
    action: 'sts:AssumeRole',
    trust,
    context: sourceIdentity === undefined ? {} : { 'sts:SourceIdentity': sourceIdentity },
    ...extra,
  });

t.test(
  'trust policy: only a Sentinel stamp gets in, and SetSourceIdentity is allowed exactly when AssumeRole is',
  async (t) => {
    const trust = trustPolicy({ principals: [`arn:aws:iam::${ACCOUNT}:root`] });
    t.equal(await assume(trust), 'ImplicitlyDenied', 'no SourceIdentity: denied');
    t.equal(await assume(trust, 'other-x'), 'ImplicitlyDenied', 'a stamp that is not Sentinel: denied');
    t.equal(await assume(trust, 'sentinelx-alice'), 'ImplicitlyDenied', 'the prefix needs its dash');
    t.equal(await assume(trust, STAMP), 'Allowed', 'a Sentinel stamp: allowed');
    for (const si of [undefined, 'other-x', STAMP, 'sentinel-bob-breakglass-fedcba9876543210']) {
      const context: Record<string, string> = si === undefined ? {} : { 'sts:SourceIdentity': si };
      const a = await decide({ action: 'sts:AssumeRole', trust, context });
      const s = await decide({ action: 'sts:SetSourceIdentity', trust, context });
      t.equal(s, a, `SetSourceIdentity and AssumeRole agree for ${si ?? 'no SourceIdentity'}`);
    }
    t.equal(
      await assume(trust, STAMP, { principal: 'arn:aws:iam::210987654321:user/mallory' }),
      'ImplicitlyDenied',
      'another account is not a principal of this trust policy',
    );
  },
);

t.test("trust policy with --users: another user's stamp is refused", async (t) => {
  const trust = trustPolicy({ principals: [ACCOUNT], users: ['alice', 'carol'] });
  t.equal(await assume(trust, STAMP), 'Allowed');
  t.equal(await assume(trust, 'sentinel-carol-approved-0123456789abcdef'), 'Allowed');
  t.equal(await assume(trust, 'sentinel-bob-direct-0123456789abcdef'), 'ImplicitlyDenied');
  t.equal(await assume(trust, 'sentinel-alicex-direct-0123456789abcdef'), 'ImplicitlyDenied', 'no prefix overlap');
  t.equal(await assume(trust), 'ImplicitlyDenied');
});

t.test('trust policy with a legacy principal and with --require-mfa', async (t) => {
  const legacyArn = `arn:aws:iam::${ACCOUNT}:role/legacy-ci`;
  const trust = trustPolicy({ principals: [ALICE], legacyPrincipals: [legacyArn] });
  t.equal(await assume(trust, undefined, { principal: legacyArn }), 'Allowed', 'the legacy principal still gets in');
  t.equal(await assume(trust, undefined, { principal: ALICE }), 'ImplicitlyDenied', 'others still need the stamp');
  t.equal(await assume(trust, STAMP, { principal: ALICE }), 'Allowed');

  const mfa = trustPolicy({ principals: [ALICE], requireMfa: true });
  t.equal(await assume(mfa, STAMP), 'ImplicitlyDenied', 'no MFA: denied');
  t.equal(
    await decide({
      action: 'sts:AssumeRole',
      trust: mfa,
      context: { 'sts:SourceIdentity': STAMP, 'aws:MultiFactorAuthPresent': 'true' },
    }),
    'Allowed',
  );
});

t.test('the SCP denies non-Sentinel assumptions of protected roles and leaves other roles alone', async (t) => {
  const scp = serviceControlPolicy();
  const open = trustPolicy({ principals: [ACCOUNT], legacyPrincipals: [ACCOUNT] });
  t.equal(await assume(open, undefined, { scp }), 'ExplicitlyDenied', 'the key missing: denied');
  t.equal(await assume(open, 'other-x', { scp }), 'ExplicitlyDenied');
  t.equal(await assume(open, STAMP, { scp }), 'Allowed');
  t.equal(await assume(open, undefined, { scp, resource: OTHER_ROLE }), 'Allowed', 'a role outside the pattern');
  const narrow = serviceControlPolicy(`arn:aws:iam::${ACCOUNT}:role/ci-*`);
  t.equal(await assume(open, undefined, { scp: narrow, resource: OTHER_ROLE }), 'ExplicitlyDenied');
  t.equal(await assume(open, undefined, { scp: narrow }), 'Allowed');
});

t.test('the RCP binds callers from outside the organization too', async (t) => {
  const rcp = resourceControlPolicy();
  const outsider = 'arn:aws:iam::210987654321:user/partner';
  const trust = trustPolicy({ principals: ['210987654321'], legacyPrincipals: ['210987654321'] });
  t.equal(
    await assume(trust, undefined, { principal: outsider }),
    'Allowed',
    'without the RCP the legacy statement admits',
  );
  t.equal(await assume(trust, undefined, { principal: outsider, rcp }), 'ExplicitlyDenied');
  t.equal(await assume(trust, 'other-x', { principal: outsider, rcp }), 'ExplicitlyDenied');
  t.equal(await assume(trust, STAMP, { principal: outsider, rcp }), 'Allowed');
  t.equal(
    await assume(trust, undefined, { principal: outsider, rcp, resource: `arn:aws:iam::${ACCOUNT}:role/other` }),
    'Allowed',
  );
});

t.test('a revocation policy denies the revoked session and only it', async (t) => {
  const id = '0123456789abcdef';
  t.equal(revocationPolicyName(id), 'sentinel-revoke-0123456789abcdef');
  const identity = [ALLOW_ALL, revocationPolicy(id)];
  const call = (context: Record<string, string>, action = 's3:GetObject', resource = 'arn:aws:s3:::bucket/key') =>
    decide({
      action,
      principal: `arn:aws:sts::${ACCOUNT}:assumed-role/prod-admin/sentinel-alice-r1`,
      resource,
      identity,
      context,
    });
  t.equal(await call({ 'aws:SourceIdentity': STAMP }), 'ExplicitlyDenied');
  t.equal(
    await call({ 'aws:SourceIdentity': 'sentinel-alice-approved-0123456789abcdef' }),
    'ExplicitlyDenied',
    'any marker',
  );
  t.equal(await call({ 'aws:SourceIdentity': STAMP }, 'iam:GetRole', ROLE), 'ExplicitlyDenied', 'any action');
  t.equal(await call({ 'aws:SourceIdentity': 'sentinel-alice-direct-fedcba9876543210' }), 'Allowed', 'another session');
  t.equal(
    await call({ 'aws:SourceIdentity': 'sentinel-alice-direct-0123456789abcdef0' }),
    'Allowed',
    'no suffix match',
  );
  t.equal(await call({}), 'Allowed', 'unstamped credentials are not this session');
});

t.test('bad input is a usage error, never a policy', async (t) => {
  const usage = (fn: () => unknown, pattern: RegExp) => {
    try {
      fn();
      t.fail('expected a usage error');
    } catch (e) {
      t.ok(isSentinelError(e) && e.code === 'UsageError' && e.exit === 2, 'a usage error');
      t.match((e as Error).message, pattern);
    }
  };
  usage(() => trustPolicy({ principals: [] }), /at least one --principal/);
  usage(() => trustPolicy({ principals: ['arn:aws:iam::1234:root'] }), /not an IAM principal ARN/);
  usage(() => trustPolicy({ principals: ['arn:aws:sts::123456789012:assumed-role/x/y'] }), /not an IAM principal/);
  usage(
    () => trustPolicy({ principals: ['arn:aws:iam::123456789012:role/x\ny'] }),
    /"arn:aws:iam::123456789012:role\/x\\ny"/,
  );
  usage(() => trustPolicy({ principals: [ACCOUNT], users: ['al-ice'] }), /not a policy user name/);
  usage(() => trustPolicy({ principals: [ACCOUNT], legacyPrincipals: ['nope'] }), /--legacy-principal/);
  usage(() => serviceControlPolicy('arn:aws:s3:::bucket'), /not a role ARN pattern/);
  usage(() => resourceControlPolicy('arn:aws:iam::*:role/a b'), /not a role ARN pattern/);
  usage(() => revocationPolicy('ABC'), /not a session id/);
  usage(() => trustPolicy({ principals: ['x'.repeat(5000)] }), /…"/);
});
