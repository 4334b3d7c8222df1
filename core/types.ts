// Small vocabulary shared by the decision core (policy, sessions, vending) and its callers.

/** How credentials reach the client (DESIGN §5.2): `server` = through a daemon session (use/exec), `cli` = raw
 * credentials in an environment (`exec --env`), `credential_process` = the SDK's process provider. */
export type Mode = 'server' | 'cli' | 'credential_process';
export const MODES: readonly Mode[] = ['server', 'cli', 'credential_process'];

export type SessionStoreKind = 'memory' | 'dynamodb';

/** Device posture as reported by a posture provider; absent facts are unknown, and unknown fails any condition. */
export interface DevicePosture {
  os_type?: string; // darwin | linux | windows
  os_version?: string;
  encrypted?: boolean;
  firewall_enabled?: boolean;
  mdm_enrolled?: boolean;
  mdm_compliant?: boolean;
}
