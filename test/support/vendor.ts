// The server-side vendor for tests: dynalite with the three tables as `sentinel init` creates them, the STS emulator
// knowing the vendor's execution role by its access key, a policy file with a `profiles:` section, and the handler
// configured exactly as Lambda configures it (SENTINEL_CONFIG_YAML and AWS_* in the environment). Decisions are
// collected instead of printed.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DecisionEntry } from '../../core/audit/types.js';
import { REQUEST_TABLE } from '../../core/approvals/record.js';
import { BREAKGLASS_TABLE } from '../../core/breakglass/record.js';
import { ensureTable } from '../../core/records/table.js';
import { SESSION_TABLE } from '../../core/sessions/schema.js';
import { createHandler, type VendorHandler } from '../../lambda/handler.js';
import { awsEnv, withEnv, type HasTeardown } from './aws-env.js';
import { startDynalite, type Dynalite } from './dynalite.js';
import { startSts, type StsEmulator } from './sts-emulator.js';
import { tempDir } from './temp-dir.js';

export const VENDOR_KEY = 'AKIDVENDORROLE000001';
export const VENDOR_SECRET = 'vendor-secret';
export const VENDOR_ROLE_ARN = 'arn:aws:iam::111122223333:role/sentinel-vendor';
export const VENDOR_SESSION_ARN = 'arn:aws:sts::111122223333:assumed-role/sentinel-vendor/sentinel-vendor-fn';
export const PROD_ROLE = 'arn:aws:iam::111122223333:role/prod-admin';
export const DEV_ROLE = 'arn:aws:iam::111122223333:role/dev-admin';
export const SESSIONS_TABLE = 'vendor-sessions';
export const REQUESTS_TABLE = 'vendor-requests';
export const BREAKGLASS_TABLE_NAME = 'vendor-breakglass';

export const VENDOR_POLICY = `version: "1"
rules:
  - { name: dev-team, effect: allow, conditions: { profiles: [dev], users: [alice, aliceexamplecom, bob, carol, deploy] } }
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod], users: [alice] } }
  - { name: nobody-else, effect: deny, conditions: { profiles: [dev, prod] }, reason: not on the team }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], max_duration: 2h }
breakglass:
  - { name: prod-emergency, profiles: [prod], users: [bob], allowed_reason_codes: [incident], max_duration: 2h }
  - { name: dev-mfa, profiles: [dev], users: [dave], mfa: required }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: prod, role_arn: "${PROD_ROLE}", region: eu-west-1, external_id: sentinel-prod }
`;

/** The vendor's config.yaml on the template's policy source: SSM under /sentinel/policies, optionally signed. */
export function ssmVendorConfig(signingKey?: string): string {
  return [
    'region: us-east-1',
    `policy: { source: ssm, ssm_root: /sentinel/policies${signingKey ? `, signing_key: "${signingKey}"` : ''} }`,
    `sessions: { store: dynamodb, table: ${SESSIONS_TABLE} }`,
    `requests: { table: ${REQUESTS_TABLE} }`,
    `breakglass: { table: ${BREAKGLASS_TABLE_NAME} }`,
    '',
  ].join('\n');
}

export interface VendorHarness {
  handler: VendorHandler;
  sts: StsEmulator;
  dynalite: Dynalite;
  client: DynamoDBClient;
  decisions: DecisionEntry[];
  policyFile: string;
  /** The environment the handler reads (also set on process.env for the test, as Lambda does). */
  env: Record<string, string>;
  configYaml: string;
}

export async function startVendor(
  t: HasTeardown,
  options: { policy?: string; config?: string; handler?: boolean } = {},
): Promise<VendorHarness> {
  const dir = tempDir(t, 'sentinel-vendor-');
  chmodSync(dir, 0o700);
  const policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, options.policy ?? VENDOR_POLICY, { mode: 0o600 });
  const [dynalite, sts] = await Promise.all([startDynalite(), startSts()]);
  t.teardown(() => dynalite.close());
  t.teardown(() => sts.close());
  sts.setIdentity(VENDOR_KEY, VENDOR_SESSION_ARN);
  const client = new DynamoDBClient({
    endpoint: dynalite.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTESTSETUP0000001', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  t.teardown(() => client.destroy());
  await Promise.all([
    ensureTable(client, SESSION_TABLE, SESSIONS_TABLE, { pollMs: 5 }),
    ensureTable(client, REQUEST_TABLE, REQUESTS_TABLE, { pollMs: 5 }),
    ensureTable(client, BREAKGLASS_TABLE, BREAKGLASS_TABLE_NAME, { pollMs: 5 }),
  ]);
  const configYaml =
    options.config ??
    [
      'region: us-east-1',
      `policy: { source: file, file: ${policyFile} }`,
      `sessions: { store: dynamodb, table: ${SESSIONS_TABLE}, ttl: 12h }`,
      `requests: { table: ${REQUESTS_TABLE} }`,
      `breakglass: { table: ${BREAKGLASS_TABLE_NAME} }`,
      '',
    ].join('\n');
  const env: Record<string, string> = {
    ...awsEnv({ sts: sts.url, dynamodb: dynalite.url }),
    AWS_ACCESS_KEY_ID: VENDOR_KEY,
    AWS_SECRET_ACCESS_KEY: VENDOR_SECRET,
    AWS_SESSION_TOKEN: 'vendor-session-token',
    SENTINEL_CONFIG_YAML: configYaml,
    SENTINEL_LOG_LEVEL: 'silent',
  };
  withEnv(t, { ...env, AWS_PROFILE: undefined, SENTINEL_CONFIG: undefined });
  const decisions: DecisionEntry[] = [];
  const handler = createHandler({ decisions: { write: (e) => decisions.push(e) } });
  t.teardown(() => handler.close());
  return { handler, sts, dynalite, client, decisions, policyFile, env, configYaml };
}
