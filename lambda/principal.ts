// The vendor's principal resolver (DESIGN §3.5, §5.3, §17): API Gateway's verified IAM caller → the Principal that
// authorize() decides for. There is no fallback: an event without a caller ARN (an API deployed without IAM
// authorization, a test event) or with one that is not an IAM/STS principal is refused, never served as "anonymous".
// A federated user is refused too: its name is the `Name` that whoever called sts:GetFederationToken chose, so any IAM
// user allowed that call could come in as `carol` — the assumed-role case of §5.3, with no role name to fall back on.
import { ArnParseError, parseCallerArn } from '../core/identity/arn.js';
import type { Principal } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';

export function principalOf(callerArn: string | null, trustedSessionRoles: readonly string[]): Principal {
  if (callerArn === null) {
    throw new SentinelError('PeerNotAllowed', 'the request carries no IAM-verified caller', {
      hint: 'Call the vendor through an API whose methods use IAM authorization (AWS_IAM), signed with SigV4.',
    });
  }
  let id: ReturnType<typeof parseCallerArn>;
  try {
    id = parseCallerArn(callerArn, trustedSessionRoles);
  } catch (e) {
    if (!(e instanceof ArnParseError)) throw e;
    throw new SentinelError('PeerNotAllowed', `the verified caller cannot be served: ${e.message}`, {
      hint: 'Call the vendor as an IAM user or an assumed-role session.',
    });
  }
  if (id.type === 'federated-user') {
    throw new SentinelError(
      'PeerNotAllowed',
      'the verified caller is a federated user, whose name whoever called GetFederationToken chose',
      { hint: 'Call the vendor as the IAM user itself, or through an assumed-role (SSO) session.' },
    );
  }
  return { arn: id.arn, account: id.account, type: id.type, rawName: id.rawName, user: id.policyName };
}
