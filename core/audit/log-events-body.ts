// PutLogEvents bodies (AWS JSON 1.1: {"logGroupName":…,"logStreamName":…,"logEvents":[{"timestamp":…,"message":…}]})
// written straight from the decision log's bytes into one buffer reused from batch to batch. A decision-log line is
// JSON itself, so as a JSON string every one of its quotes is escaped: the SDK's serialiser does that a character at
// a time in JavaScript (about 10 µs of CPU a line, most of what forwarding cost), and even JSON.stringify needs the
// line as a string first. Here a line that is valid UTF-8 is escaped byte by byte into the buffer and never becomes a
// string; one that is not is decoded as Buffer#toString does (invalid sequences become U+FFFD) and stringified.
import { isUtf8 } from 'node:buffer';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = '0123456789abcdef';
const OPEN = Buffer.from(',{"timestamp":');
const MESSAGE_KEY = Buffer.from(',"message":');

export class LogEventsBody {
  private buffer = Buffer.allocUnsafeSlow(2 * 1024 * 1024);
  private at = 0;
  private count = 0;
  private stampValue = NaN;
  private stampText = '';

  /** Starts a body for a group and stream (the previous body's bytes are overwritten from here on). */
  begin(logGroupName: string, logStreamName: string): void {
    this.at = 0;
    this.count = 0;
    this.text(
      `{"logGroupName":${JSON.stringify(logGroupName)},"logStreamName":${JSON.stringify(logStreamName)},"logEvents":[`,
    );
  }

  /**
   * Adds an event whose message is `source[start, end)`; returns the message's size in bytes as CloudWatch counts it
   * (its UTF-8), which is end − start unless the bytes are not valid UTF-8. `utf8`: whether they are, when the caller
   * has already checked (the forwarder sizes a line before it adds it).
   */
  addBytes(
    timestamp: number,
    source: Buffer,
    start: number,
    end: number,
    utf8 = isUtf8(source.subarray(start, end)),
  ): number {
    this.open(timestamp);
    const line = source.subarray(start, end);
    let size = end - start;
    if (!utf8) {
      const message = line.toString('utf8');
      size = Buffer.byteLength(message, 'utf8');
      this.text(JSON.stringify(message));
    } else {
      // Worst case every byte becomes \u00XX.
      this.reserve(6 * size + 2);
      const out = this.buffer;
      let i = this.at;
      out[i++] = QUOTE;
      for (let j = start; j < end; j++) {
        const b = source[j]!;
        if (b === QUOTE || b === BACKSLASH) {
          out[i++] = BACKSLASH;
          out[i++] = b;
        } else if (b < 0x20) {
          out[i++] = BACKSLASH;
          out[i++] = 0x75; // u
          out[i++] = 0x30;
          out[i++] = 0x30;
          out[i++] = HEX.charCodeAt(b >> 4);
          out[i++] = HEX.charCodeAt(b & 15);
        } else out[i++] = b;
      }
      out[i++] = QUOTE;
      this.at = i;
    }
    this.close();
    return size;
  }

  /** Adds an event whose message is a string (events sent again). */
  addText(timestamp: number, message: string): void {
    this.open(timestamp);
    this.text(`${JSON.stringify(message)}}`);
  }

  /** The finished body: valid until the next begin(). */
  finish(): Buffer {
    this.text(']}');
    return this.buffer.subarray(0, this.at);
  }

  /** `,{"timestamp":<ms>,"message":` copied in as bytes: a template string and a call into C++ to write it, for each
   * event, were about 5 % of the forwarder's own CPU per line. Consecutive events mostly share their millisecond. */
  private open(timestamp: number): void {
    if (timestamp !== this.stampValue) {
      this.stampValue = timestamp;
      this.stampText = String(timestamp);
    }
    const digits = this.stampText;
    this.reserve(OPEN.length + digits.length + MESSAGE_KEY.length);
    const out = this.buffer;
    let i = this.at;
    for (let k = this.count++ === 0 ? 1 : 0; k < OPEN.length; k++) out[i++] = OPEN[k]!;
    for (let k = 0; k < digits.length; k++) out[i++] = digits.charCodeAt(k);
    for (let k = 0; k < MESSAGE_KEY.length; k++) out[i++] = MESSAGE_KEY[k]!;
    this.at = i;
  }

  private close(): void {
    this.reserve(1);
    this.buffer[this.at++] = 0x7d; // }
  }

  private text(s: string): void {
    this.reserve(3 * s.length);
    this.at += this.buffer.write(s, this.at, 'utf8');
  }

  private reserve(bytes: number): void {
    if (this.at + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(2 * this.buffer.length, this.at + bytes));
    this.buffer.copy(next, 0, 0, this.at);
    this.buffer = next;
  }
}
