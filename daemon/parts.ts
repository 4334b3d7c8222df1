// The parts a daemon is composed of, each with a real default that tests or a server-side vendor may replace.
import type { DecisionLog } from '../core/audit/types.js';
import type { Config } from '../core/config.js';
import type { Vendor } from '../core/issuer/types.js';
import type { OpLogger } from '../core/log.js';
import type { PolicyProvider } from '../core/policy/types.js';
import type { SessionStore } from '../core/sessions/types.js';
import type { VendorConfig } from '../core/config.js';
import type { VendorClient } from '../core/vendor/client.js';
import { pooledRequestIds } from '../core/authorize/request-ids.js';
import type { PeerSources } from './server/auth.js';

export interface DaemonParts {
  policy(config: Config, log: OpLogger): PolicyProvider | Promise<PolicyProvider>;
  store(config: Config, log: OpLogger): SessionStore | Promise<SessionStore>;
  vendor(config: Config, log: OpLogger, env: NodeJS.ProcessEnv): Vendor | Promise<Vendor>;
  decisions(config: Config, log: OpLogger): DecisionLog | Promise<DecisionLog>;
  /** The signed client of the server-side vendor (vendor mode only, DESIGN §17). */
  vendorClient(vendor: VendorConfig): VendorClient | Promise<VendorClient>;
  peers: PeerSources;
  /** sd_notify; false when there is no NOTIFY_SOCKET. */
  notify(message: string, env: NodeJS.ProcessEnv): boolean;
  newRequestId(): string;
}

async function defaultParts(): Promise<DaemonParts> {
  const [native, tcpPeer, policy, vending, audit] = await Promise.all([
    import('../native/index.js'),
    import('./server/tcp-peer.js'),
    import('../core/policy/provider.js'),
    import('./vending/vendor.js'),
    import('../core/audit/trail.js'),
  ]);
  native.loadNative(); // fail at start, not at the first connection
  return {
    policy: (config, log) => policy.createPolicyProvider(config, { log, startWaitMs: policy.POLICY_START_WAIT_MS }),
    // The DynamoDB client is loaded only for the DynamoDB store: the memory store needs none of it.
    store: async (config) =>
      config.sessions.store === 'memory'
        ? new (await import('../core/sessions/memory.js')).MemorySessionStore()
        : (await import('../core/sessions/factory.js')).createSessionStore(config),
    vendor: (config, log, env) => vending.createVendor(config, { log, env }),
    decisions: (config, log) => audit.createAuditTrail(config, { log }),
    vendorClient: async (vendor) => {
      const [{ createVendorClient }, { signingCredentials }] = await Promise.all([
        import('../core/vendor/client.js'),
        import('../core/vendor/signing-credentials.js'),
      ]);
      return createVendorClient({ ...vendor, credentials: signingCredentials(vendor.profile) });
    },
    peers: { peerOf: native.peerOf, tcpPeerUid: tcpPeer.tcpPeerUid, tcpPeerMethod: tcpPeer.tcpPeerMethod },
    notify: native.notify,
    newRequestId: pooledRequestIds(),
  };
}

/** The given parts, completed with the defaults (loaded only when something is missing). */
export async function resolveParts(given: Partial<DaemonParts> | undefined): Promise<DaemonParts> {
  const keys: Array<keyof DaemonParts> = [
    ...['policy', 'store', 'vendor', 'decisions', 'vendorClient'],
    ...['peers', 'notify', 'newRequestId'],
  ] as Array<keyof DaemonParts>;
  if (given && keys.every((k) => given[k] !== undefined)) return given as DaemonParts;
  return { ...(await defaultParts()), ...given };
}
