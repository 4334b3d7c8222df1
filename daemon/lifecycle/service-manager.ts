// Which service manager started this daemon, if any: `sentinel daemon restart` must hand a managed daemon's restart
// to its manager (a daemon it stopped and started by hand would run outside the unit, unwatched, until the next login).
import { readFileSync } from 'node:fs';

/** The unit and the agent `sentinel service install` writes (cli/service-units.ts uses these names). */
export const SYSTEMD_UNIT = 'sentinel.service';
export const LAUNCHD_LABEL = 'dev.sentinel.agent';

export type ServiceManager = 'systemd' | 'launchd';

/**
 * systemd: this process is the one systemd started for a unit (SYSTEMD_EXEC_PID, systemd 248+), or it runs in the
 * cgroup of Sentinel's unit. INVOCATION_ID alone is not enough: a terminal that runs as a user service passes it on to
 * every shell it opens, and so to a daemon started by hand from one of them. launchd: it sets XPC_SERVICE_NAME to the
 * job's label (Terminal's shells have "0").
 */
export function serviceManager(
  env: NodeJS.ProcessEnv,
  pid: number = process.pid,
  cgroup: () => string = () => readFileSync('/proc/self/cgroup', 'utf8'),
): ServiceManager | null {
  if (env.XPC_SERVICE_NAME === LAUNCHD_LABEL) return 'launchd';
  if (env.SYSTEMD_EXEC_PID === String(pid)) return 'systemd';
  let text = '';
  try {
    text = cgroup();
  } catch {
    return null; // no /proc (macOS), or none readable
  }
  // "0::/user.slice/user-1000.slice/user@1000.service/app.slice/sentinel.service"
  return text.split('\n').some((line) => line.split('/').at(-1) === SYSTEMD_UNIT) ? 'systemd' : null;
}
