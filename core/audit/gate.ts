// The check the credential path makes before credentials leave (DESIGN §14): no decision unrecorded. It reads what the
// decision log and the forwarder already maintain — no I/O on the request path.
import { SentinelError } from '../errors.js';
import type { DecisionLog } from './types.js';

export function assertRecording(decisions: Pick<DecisionLog, 'unavailable'>): void {
  const problem = decisions.unavailable?.();
  if (problem) throw new SentinelError('AuditUnavailable', `decisions cannot be recorded: ${problem}`);
}
