// On a terminal, a call to the daemon that takes longer than about a second says what it waits for (issue 9 item 11):
// `waiting for the daemon: AWS STS (AssumeRole for prod)… 3s` on one stderr line, rewritten in place and erased when
// the answer comes. What is awaited comes from the daemon's GET /v1/status (`waiting`). Never on a stream that is not
// a terminal: scripts and --json get nothing of the kind.
import { isPrintableText } from '../core/text/printable.js';

export const WAIT_NOTICE_AFTER_MS = 1000;
const REDRAW_MS = 250;
const ASK_EVERY_MS = 1000;
const MAX_WHAT = 120;

export interface WaitingIndicator {
  /** Erases the line if one was shown. Idempotent. */
  stop(): void;
}

export interface IndicatorOptions {
  stream: Pick<NodeJS.WriteStream, 'write'>;
  /** What the daemon is waiting for now, or null when it does not say. */
  ask: () => Promise<string | null>;
  afterMs?: number;
}

/** Starts the clock; shows nothing unless the call is still running after `afterMs`. */
export function startWaitingIndicator(options: IndicatorOptions): WaitingIndicator {
  const started = Date.now();
  let what: string | null = null;
  let shown = false;
  let stopped = false;
  let asking = false;
  let lastAsked = 0;
  let redraw: NodeJS.Timeout | undefined;

  const ask = () => {
    if (asking || stopped) return;
    asking = true;
    lastAsked = Date.now();
    options
      .ask()
      .then((answer) => {
        if (answer === null || isPrintableText(answer, MAX_WHAT)) what = answer;
      })
      .catch(() => undefined)
      .finally(() => {
        asking = false;
      });
  };
  const draw = () => {
    if (stopped) return;
    if (Date.now() - lastAsked >= ASK_EVERY_MS) ask();
    const seconds = Math.floor((Date.now() - started) / 1000);
    options.stream.write(`\r\x1b[2Kwaiting for the daemon${what ? `: ${what}` : ''}… ${seconds}s`);
    shown = true;
  };
  const first = setTimeout(() => {
    ask();
    // Give the first answer a moment, so the line starts with what is awaited rather than changing under the eye.
    redraw = setInterval(draw, REDRAW_MS);
    redraw.unref();
  }, options.afterMs ?? WAIT_NOTICE_AFTER_MS);
  first.unref();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(first);
      if (redraw) clearInterval(redraw);
      if (shown) options.stream.write('\r\x1b[2K');
    },
  };
}

/** The daemon's `waiting` list (GET /v1/status) as one phrase: the oldest call, and how many more. */
export function waitingPhrase(status: unknown): string | null {
  const list = (status as { waiting?: unknown } | null)?.waiting;
  if (!Array.isArray(list) || list.length === 0) return null;
  const first = (list[0] as { what?: unknown } | null)?.what;
  if (typeof first !== 'string') return null;
  return list.length > 1 ? `${first} (+${list.length - 1} more)` : first;
}
