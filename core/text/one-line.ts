// The one rule for text a person writes for other people to read — a justification, a reason, a comment — applied
// alike by the CLI (before asking) and by the daemon, vendor and table commands (before storing): one line, nothing
// that drives a terminal or forges a line (C0 and C1 controls, DEL, U+2028/U+2029) anywhere in what was typed,
// surrounding spaces dropped, and a length counted in characters (code points), as people count them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export type OneLineText =
  { ok: true; text: string } | { ok: false; problem: 'not text' | 'control characters' | 'length'; length?: number };

/** `value` trimmed, if it is text of min..max characters on one line. */
export function oneLineText(value: unknown, min: number, max: number): OneLineText {
  if (typeof value !== 'string') return { ok: false, problem: 'not text' };
  if (CONTROL.test(value)) return { ok: false, problem: 'control characters' };
  const text = value.trim();
  let length = 0;
  for (const _ of text) length += 1;
  if (length < min || length > max) return { ok: false, problem: 'length', length };
  return { ok: true, text };
}
