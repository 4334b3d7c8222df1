// How every command reports: data to stdout (JSON with --json), problems to stderr as `Error:` + `Hint:`, and the
// exit code from the error catalogue. Light: no AWS SDK, no fastify.
import { EXIT, SentinelError, isSentinelError } from '../core/errors.js';
import { codePointName, invisibleKind, oneLineText } from '../core/text/one-line.js';
import { visible } from '../core/text/printable.js';

export const useColor = (stream: NodeJS.WriteStream = process.stderr): boolean =>
  !process.env.NO_COLOR && stream.isTTY === true && process.env.TERM !== 'dumb';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints an error the way every command does and returns the exit code to use. */
export function reportError(err: unknown, options: { json?: boolean } = {}): number {
  const e = isSentinelError(err)
    ? err
    : new SentinelError('InternalError', err instanceof Error ? err.message : String(err));
  process.stderr.write(formatError(e, options));
  return e.exit;
}

/** `Error: <what>` + `Hint: <what to do>`, or with --json `{"error":{code, message, hint}}`: one line each. */
export function formatError(
  e: Pick<SentinelError, 'code' | 'message' | 'hint'>,
  options: { json?: boolean } = {},
): string {
  if (options.json) return JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint } }) + '\n';
  const red = useColor() ? (s: string) => `\x1b[31m${s}\x1b[0m` : (s: string) => s;
  // Messages quote what others wrote (a policy parameter anyone with ssm:PutParameter can set, a table's records):
  // their control characters are shown, never sent to the terminal.
  return `${red('Error:')} ${visible(e.message)}\nHint: ${visible(e.hint)}\n`;
}

export function usageError(message: string, hint?: string): SentinelError {
  return new SentinelError('UsageError', message, hint ? { hint } : {});
}

/**
 * A flag's free text (--reason, --comment) by the rule the daemon applies (core/text/one-line.ts), refused here with a
 * usage error before anything is asked; trimmed.
 */
export function checkOneLine(text: string, flag: string, min: number, max: number): string {
  const checked = oneLineText(text, min, max);
  if (checked.ok) return checked.text;
  if (checked.problem === 'length')
    throw usageError(`${flag} must be ${min}-${max} characters (got ${checked.length})`);
  if (checked.problem === 'invisible')
    throw usageError(
      `${flag} holds ${codePointName(checked.codePoint)} (${invisibleKind(checked.codePoint)})`,
      'Write it without: it hides or reorders what approvers and reviewers see.',
    );
  if (checked.problem === 'too long to store')
    throw usageError(
      `${flag} is too long to store (${checked.units} UTF-16 code units with its combining marks; at most ${checked.maxUnits})`,
    );
  throw usageError(`${flag} contains control characters (newlines, escapes)`, 'Write it on one line.');
}

/** Aligned columns for human output. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `3m ago`, `in 2h`: for human tables. */
export function relativeTime(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  const delta = t - now;
  const abs = Math.abs(delta);
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  let text = 'now';
  for (const [i, [ms, u]] of units.entries()) {
    if (abs >= ms) {
      text = `${Math.floor(abs / ms)}${u}`;
      // Days and hours with the next unit: "in 1h" for 1h58m left reads like half the time.
      if (ms >= 3_600_000) {
        const [next, nu] = units[i + 1]!;
        const rest = Math.floor((abs % ms) / next);
        if (rest > 0) text += `${rest}${nu}`;
      }
      break;
    }
  }
  if (text === 'now') return text;
  return delta < 0 ? `${text} ago` : `in ${text}`;
}

/** A record's notification outcome for `show`, with the event it is about (after a decision or a close the status is
 * that event's, not the filing's); undefined when there is none. */
export function notificationText(r: { notification_status?: string; notification_event?: string }): string | undefined {
  return (
    r.notification_status &&
    (r.notification_event ? `${r.notification_status} (${r.notification_event})` : r.notification_status)
  );
}

export { EXIT };

/** Asks on stderr; true only for an explicit yes. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * Shows the plan and asks, unless -y. Without a terminal on stdin nothing is asked and nothing is done: a change
 * nobody confirmed is a usage error. Returns false when the user declined (the caller prints nothing more).
 */
export async function confirmPlan(plan: string, yes: boolean | undefined, action: string): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw usageError(
      `refusing to ${action} without confirmation: stdin is not a terminal`,
      'Review the plan (--plan where the command has it), then pass -y to proceed.',
    );
  }
  process.stderr.write(plan.endsWith('\n') ? plan : `${plan}\n`);
  if (await confirm('Proceed? [y/N] ')) return true;
  process.stderr.write('Nothing was changed.\n');
  return false;
}
