// The one rule for text a person writes for other people to read — a justification, a reason, a comment — applied
// alike by the CLI (before asking) and by the daemon, vendor and table commands (before storing):
// - one line, nothing that drives a terminal or forges a line (C0 and C1 controls, DEL, U+2028/U+2029) anywhere in
//   what was typed;
// - nothing invisible that hides or reorders what the reader sees: no format character (Unicode category Cf: bidi
//   controls U+202A–U+202E and U+2066–U+2069, zero-width U+200B–U+200F, U+2060–U+2064, U+FEFF, soft hyphen, …) and no
//   lone surrogate (Cs: half of a pair, not a character, not encodable as UTF-8), and no filler that prints as a blank
//   (the Hangul fillers, the blank braille pattern). The one exception is a whole emoji
//   sequence (👨‍👩‍👧, 🏴󠁧󠁢󠁳󠁣󠁴󠁿), whose joiners and tags are part of the one picture people see;
// - surrounding spaces dropped, and the length counted in characters as people see them: grapheme clusters, so an
//   accented letter, a CJK character or an emoji is one, and combining marks count with the letter they sit on
//   ("a" + 19 × U+0301 is one). What is stored stays bounded: at most 4 × max UTF-16 code units, the bound the API
//   bodies already set (core/api/bodies.ts).
import { SentinelError } from '../errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Besides Cf and Cs: the Hangul fillers and the blank braille pattern, letters and symbols that print as nothing, so a
// "justification" of ten of them shows an approver a blank line.
const BLANK_FILLERS = '\\u115f\\u1160\\u3164\\uffa0\\u2800';
const BLANK_LOOKING = new RegExp(`[${BLANK_FILLERS}]`, 'u');
const INVISIBLE = new RegExp(`[\\p{Cf}\\p{Cs}${BLANK_FILLERS}]`, 'u');
const JOINER_IN_WORD = /(?<=[\p{L}\p{M}])[\u200c\u200d](?=\p{L})/gu;
// Both made on first use: their Unicode data (ICU's emoji sets and grapheme break rules) is about 3.5 MiB of resident
// memory in a daemon that may never be asked to check a justification or a reason. The pattern is built at run time:
// TypeScript's ES2022 target does not know the `v` flag that \p{RGI_Emoji} needs.
let emoji: RegExp | undefined;
let segmenter: Intl.Segmenter | undefined;
const isEmoji = (segment: string) => (emoji ??= new RegExp('^\\p{RGI_Emoji}$', 'v')).test(segment);
const graphemes = () => (segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' }));

/** How many UTF-16 code units a text of `max` characters may take when stored. */
export const UNITS_PER_CHARACTER = 4;

export type OneLineText =
  | { ok: true; text: string }
  | { ok: false; problem: 'not text' }
  | { ok: false; problem: 'control characters' }
  /** `codePoint`: the first format character (Cf), lone surrogate (Cs) or blank-looking filler found. */
  | { ok: false; problem: 'invisible'; codePoint: number }
  /** `length` in characters as people see them (grapheme clusters). */
  | { ok: false; problem: 'length'; length: number }
  /** More than `max` × UNITS_PER_CHARACTER UTF-16 code units (combining marks piled on few characters). */
  | { ok: false; problem: 'too long to store'; units: number; maxUnits: number };

/** `U+202E`, `U+1F600`: how a code point is named in messages. */
export function codePointName(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What kind of invisible character `codePoint` is, for a message. */
export function invisibleKind(codePoint: number): string {
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return 'half of a surrogate pair, not a character';
  if (BLANK_LOOKING.test(String.fromCodePoint(codePoint))) return 'a filler that prints as a blank';
  return 'an invisible formatting character';
}

/** `value` trimmed, if it is text of min..max characters (as people see them) on one line, with nothing invisible. */
export function oneLineText(value: unknown, min: number, max: number): OneLineText {
  if (typeof value !== 'string') return { ok: false, problem: 'not text' };
  if (CONTROL.test(value)) return { ok: false, problem: 'control characters' };
  if (INVISIBLE.test(value)) {
    // In what was typed, like the controls: trim() would silently drop a leading or trailing U+FEFF. A zero-width
    // (non-)joiner between letters is how Persian, Hindi and other scripts are written, not a hiding place.
    const probe = value.replace(JOINER_IN_WORD, '');
    for (const { segment } of graphemes().segment(probe)) {
      const invisible = INVISIBLE.exec(segment);
      if (invisible && !isEmoji(segment))
        return { ok: false, problem: 'invisible', codePoint: invisible[0].codePointAt(0)! };
    }
  }
  const text = value.trim();
  let length = 0;
  for (const _ of graphemes().segment(text)) length += 1;
  if (length < min || length > max) return { ok: false, problem: 'length', length };
  const maxUnits = max * UNITS_PER_CHARACTER;
  if (text.length > maxUnits) return { ok: false, problem: 'too long to store', units: text.length, maxUnits };
  return { ok: true, text };
}

/** Text a person wrote (justification, reason, comment) by the one rule (core/text/one-line.ts), trimmed. */
export function checkText(text: unknown, what: string, min: number, max: number): string {
  const checked = oneLineText(text, min, max);
  if (checked.ok) return checked.text;
  if (checked.problem === 'not text') throw new SentinelError('BadRequest', `${what} must be text`);
  if (checked.problem === 'control characters')
    throw new SentinelError('BadRequest', `${what} must not contain control characters or line breaks`);
  if (checked.problem === 'invisible')
    throw new SentinelError(
      'BadRequest',
      `${what} holds ${codePointName(checked.codePoint)} (${invisibleKind(checked.codePoint)}); write it without`,
      { hint: 'Invisible characters hide or reorder what approvers and reviewers see.' },
    );
  if (checked.problem === 'too long to store')
    throw new SentinelError(
      'BadRequest',
      `${what} is too long to store (${checked.units} UTF-16 code units with its combining marks; at most ${checked.maxUnits})`,
    );
  throw new SentinelError('BadRequest', `${what} must be ${min}-${max} characters (got ${checked.length})`, {
    hint: what === 'the justification' ? 'Say what you need the access for, so an approver can judge it.' : undefined,
  });
}
