// The approver and admin commands in vendor mode (DESIGN §17): with `vendor:` in config.yaml, `approve`, `deny`,
// `requests revoke`, `server revoke` and `breakglass close` call the vendor's routes, SigV4-signed with the caller's
// own credentials, instead of writing the tables: the vendor is their only writer, and it checks the caller against
// the policy in force. Its refusals reach the user unchanged; a vendor that does not answer is VendorUnavailable within
// the client's bound. Outside vendor mode this module says so (null) and the commands keep their own paths.
import type { RequestView } from '../core/approvals/requester.js';
import type { EventView } from '../core/breakglass/record.js';
import type { Session } from '../core/sessions/types.js';
import { vendorTarget, type AwsTargetFlags } from './aws-target.js';
import { usageError } from './output.js';
import type { GlobalOptions } from './program.js';

export interface VendorAdminFlags extends AwsTargetFlags {
  table?: string;
}

export interface VendorAdmin {
  readonly url: string;
  decide(id: string, decision: 'approve' | 'deny', comment: string | undefined): Promise<RequestView>;
  revokeRequest(id: string, reason: string): Promise<RequestView>;
  revokeSession(id: string, reason: string): Promise<Session>;
  closeEvent(id: string, reason: string): Promise<EventView>;
}

/** The vendor's admin calls when config.yaml names a vendor, else null. `command` names the command in messages. */
export async function vendorAdmin(
  flags: VendorAdminFlags,
  globals: GlobalOptions,
  command: string,
): Promise<VendorAdmin | null> {
  const { loadConfig } = await import('../core/config.js');
  const vendor = loadConfig({ configFlag: globals.config }).vendor;
  if (!vendor) return null;
  if (flags.table !== undefined) {
    throw usageError(
      `--table is refused in vendor mode: \`${command}\` goes through the vendor at ${vendor.url}, the only writer of the tables`,
      'Drop --table (--profile and --region choose who signs the call to the vendor); see docs/vendor.md.',
    );
  }
  const target = vendorTarget(flags, vendor);
  const [{ createVendorClient }, { signingCredentials }, { recordAnswer }] = await Promise.all([
    import('../core/vendor/client.js'),
    import('../core/vendor/signing-credentials.js'),
    import('../core/vendor/answers.js'),
  ]);
  const client = createVendorClient({
    url: target.url,
    region: target.region,
    credentials: signingCredentials(target.profile),
  });
  const post = (path: string, body: unknown) => client.call({ method: 'POST', path, body });
  return {
    url: target.url,
    decide: async (id, decision, comment) =>
      recordAnswer<RequestView>(
        await post(`/v1/requests/${id}/${decision}`, comment === undefined ? {} : { comment }),
        'an approval request',
        id,
      ),
    revokeRequest: async (id, reason) =>
      recordAnswer<RequestView>(await post(`/v1/requests/${id}/revoke`, { reason }), 'an approval request', id),
    revokeSession: async (id, reason) =>
      recordAnswer<Session>(await post(`/v1/sessions/${id}/revoke`, { reason }), 'a session', id),
    closeEvent: async (id, reason) =>
      recordAnswer<EventView>(await post(`/v1/breakglass/${id}/close`, { reason }), 'a break-glass event', id),
  };
}
