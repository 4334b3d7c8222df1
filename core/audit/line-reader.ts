// Lines of a byte stream in bounded memory: whatever the size of the input, at most one line (up to maxBytes) is held.
// A longer line is reported as null and skipped to its end, so a hostile file cannot make a reader hold it whole.
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';

/** Decision-log lines are a few KiB at most (every field is bounded); anything longer is not one. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface NumberedLine {
  /** 1-based line number in the input. */
  n: number;
  /** The line without its newline (and without a trailing CR); null when it was longer than maxBytes. */
  text: string | null;
  /** Set when the bytes are not UTF-8: `text` then has U+FFFD in their place and is not what the file holds. */
  notUtf8?: true;
  /** Byte offset of the line's first byte in the input. */
  offset: number;
  /** Bytes of the line before its newline (a trailing CR included), however long it is. */
  length: number;
}

export async function* readLines(
  source: AsyncIterable<Buffer | string>,
  maxBytes: number = MAX_LINE_BYTES,
): AsyncGenerator<NumberedLine> {
  let parts: Buffer[] = [];
  let held = 0;
  let oversized = false;
  let n = 0;
  // Bytes before the current chunk, and where the line being read starts.
  let base = 0;
  let lineStart = 0;
  const finish = (end: number): NumberedLine => {
    n++;
    const offset = lineStart;
    const length = end - lineStart;
    lineStart = end + 1;
    if (oversized) {
      oversized = false;
      parts = [];
      held = 0;
      return { n, text: null, offset, length };
    }
    const bytes = Buffer.concat(parts, held);
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    parts = [];
    held = 0;
    return isUtf8(bytes) ? { n, text, offset, length } : { n, text, notUtf8: true, offset, length };
  };
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!oversized) {
        if (held + (end - start) > maxBytes) {
          oversized = true;
          parts = [];
          held = 0;
        } else if (end > start) {
          parts.push(chunk.subarray(start, end));
          held += end - start;
        }
      }
      if (nl === -1) break;
      yield finish(base + nl);
      start = nl + 1;
    }
    base += chunk.length;
  }
  if (held > 0 || oversized) yield finish(base);
}

export function readFileLines(file: string, maxBytes: number = MAX_LINE_BYTES): AsyncGenerator<NumberedLine> {
  return readLines(createReadStream(file, { highWaterMark: 256 * 1024 }), maxBytes);
}
