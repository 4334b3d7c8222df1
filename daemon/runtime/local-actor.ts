// Who acts from this machine (revoked_by of a revocation made through the daemon).
import { hostname, userInfo } from 'node:os';

export function localActor(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `uid ${process.getuid?.() ?? 'unknown'}@${hostname()}`;
  }
}
