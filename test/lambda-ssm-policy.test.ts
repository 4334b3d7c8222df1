// The vendor on the template's policy source (DESIGN §13, §17): policies in SSM under the root, each signed with the
// KMS key, verified with its public key. A signed profile is served; an unsigned one is refused (the vendor has no
// policy for it: PolicyUnavailable, saying why), and another profile's document cannot define it.
import { KMSClient } from '@aws-sdk/client-kms';
import t from 'tap';
import { signPolicy } from '../core/policy/signature.js';
import { restEvent } from './support/api-gateway-events.js';
import { withEnv } from './support/aws-env.js';
import { startKms } from './support/kms-emulator.js';
import { startSsm } from './support/ssm-emulator.js';
import { DEV_ROLE, ssmVendorConfig, startVendor } from './support/vendor.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';

const DEV = `version: "1"
rules:
  - { name: dev-team, effect: allow, conditions: { profiles: [dev, prod], users: [alice] } }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "arn:aws:iam::111122223333:role/not-prod", region: eu-west-1 }
`;
const PROD = `version: "1"
rules:
  - { name: everyone, effect: allow, conditions: { profiles: [prod], users: [alice] } }
profiles:
  - { name: prod, role_arn: "arn:aws:iam::111122223333:role/prod-admin", region: eu-west-1 }
`;

t.test('signed SSM policies: served; an unsigned one is refused and cannot be borrowed', async (t) => {
  const [ssm, kms] = await Promise.all([startSsm(), startKms()]);
  t.teardown(() => ssm.close());
  t.teardown(() => kms.close());
  const key = await kms.createRsaSigningKey();
  const signer = new KMSClient({
    endpoint: kms.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDPOLICYADMIN00001', secretAccessKey: 'x' },
  });
  t.teardown(() => signer.destroy());
  ssm.put('/sentinel/policies/dev', DEV);
  ssm.put('/sentinel/signatures/dev', (await signPolicy(signer, key.arn, Buffer.from(DEV), 'dev', 1)).text);
  ssm.put('/sentinel/policies/prod', PROD); // no signature
  const v = await startVendor(t, { config: ssmVendorConfig(key.arn) });
  withEnv(t, { AWS_ENDPOINT_URL_SSM: ssm.url, AWS_ENDPOINT_URL_KMS: kms.url });
  const get = async (path: string) => {
    const r = await v.handler(restEvent({ method: 'GET', path, callerArn: ALICE }) as never);
    return { status: r.statusCode, body: JSON.parse(r.body) };
  };
  const dev = await get('/v1/credentials?profile=dev');
  t.equal(dev.status, 200);
  t.equal(v.sts.assumeRoleRequests.at(-1)!.RoleArn, DEV_ROLE);
  t.match(v.decisions.at(-1)!.policy_source, /^ssm:\/sentinel\/policies\/dev$/);
  const prod = await get('/v1/credentials?profile=prod');
  // dev's document cannot define prod, and prod's own is refused: the vendor cannot load prod's policy, and says so.
  t.equal(prod.status, 503);
  t.equal(prod.body.code, 'PolicyUnavailable', "dev's document cannot define prod, and prod's is refused");
  t.match(prod.body.message, /signature/);
  t.equal(v.sts.assumeRoleRequests.length, 1, 'no AssumeRole for prod');
  const profiles = await get('/v1/profiles');
  t.same(
    profiles.body.profiles.map((p: { name: string }) => p.name),
    ['dev'],
  );
  const status = await get('/v1/status');
  t.match(status.body.policy, { source: 'ssm', location: '/sentinel/policies' });
  t.match(status.body.policy.lastError ?? '', /prod/);
});

t.test(
  "no policy the vendor can load: an approval request's refusal points at the vendor's log, not at a daemon",
  async (t) => {
    const ssm = await startSsm();
    t.teardown(() => ssm.close());
    ssm.put('/sentinel/policies/dev', 'version: "1"\nrules: [ { name: x, effect: allow, conditions: { bad: 1 } } ]\n');
    withEnv(t, { AWS_ENDPOINT_URL_SSM: ssm.url });
    const v = await startVendor(t, { config: ssmVendorConfig() });
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await v.handler(
        restEvent({ method, path, callerArn: ALICE, ...(body ? { body: JSON.stringify(body) } : {}) }) as never,
      );
      return { status: r.statusCode, body: JSON.parse(r.body) };
    };
    // A profile whose policy the vendor cannot load is PolicyUnavailable on every route, as for a request below.
    const credentials = await call('GET', '/v1/credentials?profile=dev');
    t.equal(credentials.body.code, 'PolicyUnavailable');
    t.match(credentials.body.hint, /vendor's log says why/);
    const unknown = await call('GET', '/v1/credentials?profile=staging');
    t.equal(unknown.body.code, 'ProfileUnknown', 'a profile no parameter exists for is unknown');
    const request = await call('POST', '/v1/requests', {
      profile: 'dev',
      justification: 'a justification long enough',
    });
    t.equal(request.status, 503, JSON.stringify(request.body));
    t.equal(request.body.code, 'PolicyUnavailable');
    t.match(request.body.hint, /vendor's log says why/);
    t.notMatch(request.body.hint, /sentinel daemon|policy validate/, 'no daemon command, no local file');
  },
);
