// The vendor's principal resolver (DESIGN §3.5, §5.3, §17): API Gateway's verified IAM caller → the Principal that
// authorize() decides for. There is no fallback: an event without a caller ARN (an API deployed without IAM
// authorization, a test event) or with one that is not an IAM/STS principal is refused, never served as "anonymous".
import { ArnParseError, parseCallerArn } from '../core/identity/arn.js';
import type { Principal } from '../core/authorize/types.js';
import { SentinelError } from '../core/errors.js';

export function principalOf(callerArn: string | null, trustedSessionRoles: readonly string[]): Principal {
  if (callerArn === null) {
    throw new SentinelError('PeerNotAllowed', 'the request carries no IAM-verified caller', {
      hint: 'Call the vendor through an API whose methods use IAM authorization (AWS_IAM), signed with SigV4.',
    });
  }
  try {
    const id = parseCallerArn(callerArn, trustedSessionRoles);
    return { arn: id.arn, account: id.account, type: id.type, rawName: id.rawName, user: id.policyName };
  } catch (e) {
    if (!(e instanceof ArnParseError)) throw e;
    throw new SentinelError('PeerNotAllowed', `the verified caller cannot be served: ${e.message}`, {
      hint: 'Call the vendor as an IAM user or an assumed-role session.',
    });
  }
}
