// A bounded graceful stop: stop accepting, let requests in flight finish (up to drainMs), then write the refusals still
// only counted, end sessions, flush the decision log and release everything; one failing step never keeps the others
// from running.
import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { removeDaemonState } from '../runtime/daemon-state.js';
import type { Lock } from '../runtime/lock.js';
import { notifier, type LiveDaemon } from './live.js';

export interface StopDeps {
  apps: FastifyInstance[];
  /** Refusals counted since their window began: written once the listeners are closed, before the decision log is. */
  refusals: { close(): void };
  lock: Lock;
  drainMs: number;
  /** Runs first (the watchdog timer, signal handlers). */
  before?: () => void;
  /** Runs once everything is released. */
  after: () => void;
}

/** Returns the daemon's stop: idempotent, every call gets the one stop in progress. */
export function createStop(live: LiveDaemon, deps: StopDeps): (reason: string) => Promise<void> {
  const { log, sessions } = live;
  const send = notifier(live);
  let stopping: Promise<void> | undefined;
  const drain = async () => {
    const drained = Promise.all(deps.apps.map((app) => app.close()));
    const force = setTimeout(() => {
      log.warn(
        { event: 'drain_timeout', ms: deps.drainMs },
        'requests still in flight at the stop deadline; closing their connections',
      );
      for (const app of deps.apps) app.server.closeAllConnections();
    }, deps.drainMs);
    try {
      await drained;
    } finally {
      clearTimeout(force);
    }
  };
  const steps: Array<[string, () => Promise<void> | void]> = [
    ['refusal counts', () => deps.refusals.close()],
    ['sessions', () => sessions.stop()],
    [
      'decision log',
      async () => {
        await live.decisions.flush();
        await live.decisions.close();
      },
    ],
    ['policy', () => live.local?.policy.close()],
    ['vendor', () => live.local?.vendor.close()],
    ['session store', () => live.local?.store.close()],
    // Together: each gives the notifications it is still delivering the same few seconds, then cuts them off.
    [
      'approvals and break-glass',
      async () => void (await Promise.all([live.local?.approvals.close(), live.local?.breakglass.close()])),
    ],
    [
      'socket',
      () => {
        if (live.fd === undefined) rmSync(live.socketPath, { force: true });
      },
    ],
    ['daemon.json', () => removeDaemonState(live.config.runtimeDir)],
    ['lock', () => deps.lock.release()],
  ];
  return (reason) => {
    stopping ??= (async () => {
      log.info({ event: 'stopping', reason }, 'stopping');
      send('STOPPING=1\nSTATUS=stopping');
      deps.before?.();
      await drain();
      for (const [what, step] of steps) {
        try {
          await step();
        } catch (e) {
          log.warn({ event: 'stop_step_failed', step: what, problem: (e as Error).message }, 'a stop step failed');
        }
      }
      log.info({ event: 'stopped' }, 'stopped');
      deps.after();
    })();
    return stopping;
  };
}
