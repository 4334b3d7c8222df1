// Signals (DESIGN §3): SIGTERM and SIGINT stop. SIGHUP reloads a daemon without a controlling terminal (a service
// manager's, or `daemon start`'s); to a daemon in the foreground of a terminal it means the terminal is gone, and a
// daemon that outlived its terminal would be one nobody remembers to stop.
import { closeSync, openSync } from 'node:fs';
import type { OpLogger } from '../../core/log.js';

/** Whether this process has a controlling terminal (opening /dev/tty fails with ENXIO when it has none). */
export function hasControllingTerminal(): boolean {
  try {
    closeSync(openSync('/dev/tty', 'r'));
    return true;
  } catch {
    return false;
  }
}

/** What SIGHUP does: `stop` for a daemon in the foreground of a terminal, `reload` otherwise. */
export type HangupAction = 'reload' | 'stop';

/** Installs the handlers; returns their removal. */
export function handleSignals(
  stop: (reason: string) => Promise<void>,
  reload: () => Promise<void>,
  log: OpLogger,
  hangup: HangupAction,
): () => void {
  const onTerm = (signal: NodeJS.Signals) => void stop(`received ${signal}`);
  const onHup = () => {
    if (hangup === 'stop') return void stop('received SIGHUP: the terminal is gone');
    reload().catch((e: unknown) =>
      log.error({ event: 'reload_failed', problem: (e as Error).message }, 'reload failed'),
    );
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onTerm);
    process.off('SIGHUP', onHup);
  };
}
