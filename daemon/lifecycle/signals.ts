// Signals (DESIGN §3): SIGTERM and SIGINT stop, SIGHUP reloads.
import type { OpLogger } from '../../core/log.js';

/** Installs the handlers; returns their removal. */
export function handleSignals(
  stop: (reason: string) => Promise<void>,
  reload: () => Promise<void>,
  log: OpLogger,
): () => void {
  const onTerm = (signal: NodeJS.Signals) => void stop(`received ${signal}`);
  const onHup = () => {
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
