// The one check for text that must stay on one line and out of the terminal's control: C0 control characters and
// DEL. A value carrying one can forge a log line, a header or a CSV row, or drive a terminal with escapes.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(text: string): boolean {
  return CONTROL.test(text);
}

/** A string of 1..max characters without control characters. */
export function isPrintableText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= max && !CONTROL.test(value);
}

// For showing text from outside (AWS, a shared table, CloudTrail): C1 controls too, since some terminals act on them.
// eslint-disable-next-line no-control-regex
const SHOWN_ESCAPED = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with every C0/C1 control and DEL shown as a \uXXXX escape, except characters `keep` matches (e.g. \t). */
export function visible(text: string, keep?: RegExp): string {
  return text.replace(SHOWN_ESCAPED, (c) =>
    keep?.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f]/g;

/** `text` with each control character (C0, DEL) replaced by `by`, for a one-line message. */
export function replaceControls(text: string, by: string): string {
  return text.replace(CONTROLS, by);
}
