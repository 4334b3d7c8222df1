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
