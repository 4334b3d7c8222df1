// A daemon in vendor mode (DESIGN §17) in front of the real vendor: daemon → API Gateway stand-in (SigV4 verified
// with the STS emulator's secrets) → the Lambda handler → STS emulator. The user is alice with the daemon harness's
// base keys; carol approves dev and may revoke its sessions at the vendor. Clients of the vendor itself (an approver,
// a tampering caller) are made with vendorAs().
import { startApiGatewayStandIn, type ApiGatewayStandIn } from './apigw-standin.js';
import type { HasTeardown } from './aws-env.js';
import {
  BASE_ACCESS_KEY,
  BASE_ARN,
  BASE_SECRET_KEY,
  startDaemon,
  type DaemonHarness,
  type StartDaemonOptions,
} from './daemon.js';
import { DEV_ROLE, startVendor, type VendorHarness } from './vendor.js';
import { createVendorClient, type VendorClient } from '../../core/vendor/client.js';

export const FROZEN_ROLE = 'arn:aws:iam::111122223333:role/frozen';
export const CAROL = {
  accessKeyId: 'AKIABRIDGECAROL00001',
  secretAccessKey: 'bridge-carol-secret-000000000000000000',
  arn: 'arn:aws:iam::123456789012:user/carol',
};
export const ALICE = { accessKeyId: BASE_ACCESS_KEY, secretAccessKey: BASE_SECRET_KEY, arn: BASE_ARN };

export const BRIDGE_POLICY = `version: "1"
rules:
  - { name: dev-team, effect: allow, conditions: { profiles: [dev], users: [alice] } }
  - { name: frozen, effect: deny, conditions: { profiles: [frozen] }, reason: frozen during the audit }
approvals:
  - { name: dev-approvers, profiles: [dev], approvers: [carol] }
profiles:
  - { name: dev, role_arn: "${DEV_ROLE}", region: eu-west-1 }
  - { name: frozen, role_arn: "${FROZEN_ROLE}", region: eu-west-1 }
`;

export interface Bridge {
  vendor: VendorHarness;
  gw: ApiGatewayStandIn;
  daemon: DaemonHarness;
  vendorAs(who: { accessKeyId: string; secretAccessKey: string }): VendorClient;
}

export async function startBridge(
  t: HasTeardown,
  options: { daemon?: StartDaemonOptions; policy?: string } = {},
): Promise<Bridge> {
  const vendor = await startVendor(t, { policy: options.policy ?? BRIDGE_POLICY });
  const gw = await startApiGatewayStandIn({ keys: vendor.sts, handler: vendor.handler });
  t.teardown(() => gw.close());
  const daemon = await startDaemon(t, {
    pidPollMs: 100,
    policy: null,
    ...options.daemon,
    sts: vendor.sts,
    config: `vendor: { url: "${gw.url}", region: us-east-1, profile: base }\n${options.daemon?.config ?? ''}`,
  });
  // After startDaemon, which registers alice's key without its secret.
  vendor.sts.setIdentity(ALICE.accessKeyId, ALICE.arn, ALICE.secretAccessKey);
  vendor.sts.setIdentity(CAROL.accessKeyId, CAROL.arn, CAROL.secretAccessKey);
  return {
    vendor,
    gw,
    daemon,
    vendorAs: (who) =>
      createVendorClient({ url: gw.url, region: 'us-east-1', credentials: async () => who, attempts: 1 }),
  };
}
