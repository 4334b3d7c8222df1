// DESIGN §5.3: a role session name names a person only for roles in identity.trusted_session_roles (default
// AWSReservedSSO_*); for any other assumed role the policy user name is the role name.
import t from 'tap';
import { parseCallerArn } from '../core/identity/arn.js';
import { principalName } from '../core/approvals/entry.js';
import { resolveConfig } from '../core/config.js';
import { SentinelError } from '../core/errors.js';
import { createIdentifier } from '../daemon/vending/identify.js';
import { createStsClients } from '../core/issuer/sts-clients.js';
import { withEnv } from './support/aws-env.js';
import { startSts } from './support/sts-emulator.js';

const SSO = 'arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com';
const DEPLOY = 'arn:aws:sts::111111111111:assumed-role/deploy/alice';
const OKTA = 'arn:aws:sts::111111111111:assumed-role/okta-engineers/bob.jones';

t.test('default: only IAM Identity Center session names are user names', async (t) => {
  const sso = parseCallerArn(SSO);
  t.equal(sso.policyName, 'aliceexamplecom');
  t.equal(sso.rawName, 'alice@example.com');
  const deploy = parseCallerArn(DEPLOY);
  t.equal(deploy.policyName, 'deploy', 'a session named alice of role deploy is not alice');
  t.equal(deploy.rawName, 'deploy', 'approvers see the role name too');
  t.equal(principalName(DEPLOY), 'deploy');
  t.equal(
    parseCallerArn('arn:aws:sts::111111111111:assumed-role/a-role-name-longer-than-twenty/x1').policyName,
    'arolenamelongerthant',
    'role names follow the same letters-and-digits, 20-character rule',
  );
  t.equal(
    parseCallerArn('arn:aws:sts::111111111111:assumed-role/xAWSReservedSSO_A/alice').policyName,
    'xAWSReservedSSOA',
  );
});

t.test('a custom trusted pattern, and the list replaces the default', async (t) => {
  const trusted = ['okta-*', 'Break?Glass'];
  t.equal(parseCallerArn(OKTA, trusted).policyName, 'bobjones');
  t.equal(parseCallerArn('arn:aws:sts::111111111111:assumed-role/BreakXGlass/carol', trusted).policyName, 'carol');
  t.equal(parseCallerArn(SSO, trusted).policyName, 'AWSReservedSSOAdmin0', 'SSO is no longer trusted when not listed');
  t.equal(parseCallerArn(DEPLOY, ['deploy']).policyName, 'alice', 'listing a role restores the old behaviour');
  t.equal(parseCallerArn(OKTA, ['okta.*']).policyName, 'oktaengineers', 'a dot is literal, not any character');
  t.equal(parseCallerArn('arn:aws:iam::111111111111:user/alice', []).policyName, 'alice', 'IAM users are unaffected');
});

t.test('config identity.trusted_session_roles', async (t) => {
  t.same(resolveConfig({}, 'c.yaml', { HOME: '/home/a' }).identity.trustedSessionRoles, ['AWSReservedSSO_*']);
  t.same(
    resolveConfig({ identity: { trusted_session_roles: ['okta-*'] } }, 'c.yaml', { HOME: '/home/a' }).identity
      .trustedSessionRoles,
    ['okta-*'],
  );
  t.same(resolveConfig({ identity: { trusted_session_roles: [] } }, 'c.yaml', { HOME: '/home/a' }).identity, {
    trustedSessionRoles: [],
  });
  for (const bad of [
    { trusted_session_roles: 'AWSReservedSSO_*' },
    { trusted_session_roles: ['bad\nname'] },
    { trusted_session_roles: ['role/path'] },
    { trusted_session_roles: ['x'.repeat(65)] },
    { trusted_session_roles: [''] },
    { trusted_session_roles: Array.from({ length: 101 }, (_, i) => `r${i}`) },
    { trusted: ['x'] },
  ]) {
    let error: unknown;
    try {
      resolveConfig({ identity: bad }, 'c.yaml', { HOME: '/home/a' });
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof SentinelError && error.code === 'ConfigInvalid', JSON.stringify(bad).slice(0, 60));
    t.match((error as Error).message, /^c\.yaml: .*identity/);
  }
});

t.test('the daemon identifies callers with the configured list', async (t) => {
  const sts = await startSts({ identities: { AKIADEPLOY: DEPLOY, AKIASSO: SSO } });
  t.teardown(() => sts.close());
  withEnv(t, { AWS_ENDPOINT_URL_STS: sts.url });
  const base = (k: string) => ({ accessKeyId: k, secretAccessKey: 'secret' });
  const ctx = { profile: 'dev', region: 'eu-west-1' };
  const byDefault = createIdentifier(createStsClients());
  t.equal((await byDefault.identify(base('AKIADEPLOY'), ctx)).policyName, 'deploy');
  t.equal((await byDefault.identify(base('AKIASSO'), ctx)).policyName, 'aliceexamplecom');
  const custom = createIdentifier(createStsClients(), ['deploy']);
  t.equal((await custom.identify(base('AKIADEPLOY'), ctx)).policyName, 'alice');
  t.equal((await custom.identify(base('AKIASSO'), ctx)).policyName, 'AWSReservedSSOAdmin0');
});

t.test('a base identity no policy user name can be made from is refused, saying why', async (t) => {
  const sts = await startSts({
    identities: {
      AKIASYMBOLS: 'arn:aws:sts::111111111111:assumed-role/_-_/@.+',
      AKIAUNDERSCORES: 'arn:aws:iam::111111111111:user/___',
    },
  });
  t.teardown(() => sts.close());
  withEnv(t, { AWS_ENDPOINT_URL_STS: sts.url });
  const identifier = createIdentifier(createStsClients());
  for (const [key, why] of [
    ['AKIASYMBOLS', /no ASCII letters or digits/],
    ['AKIAUNDERSCORES', /no ASCII letters or digits/],
  ] as const) {
    const error = await identifier
      .identify({ accessKeyId: key, secretAccessKey: 'secret' }, { profile: 'odd', region: 'eu-west-1' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    t.ok(error instanceof SentinelError, key);
    t.equal((error as SentinelError).code, 'BaseCredentialsUnavailable');
    t.match((error as SentinelError).message, /^the base identity of profile "odd" cannot be named for policy: /);
    t.match((error as SentinelError).message, why);
    t.match((error as SentinelError).hint, /IAM user or a role session/);
  }
});
