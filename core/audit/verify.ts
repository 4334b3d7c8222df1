// `audit verify-logs` (DESIGN §14): checks a signed decision log line by line in bounded memory and says where and how
// it was tampered with. Each line's own signature shows an edit; the chain (each line's prev = the signature of the
// line before) shows lines deleted, inserted or reordered. To tell those apart the verifier looks one line ahead of a
// broken one, and remembers a bounded window of recent signatures and of the predecessors it found missing.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { canonicalJson } from './entry.js';
import { GENESIS, KEY_ID, LINE_VERSION, SIGNATURE, hmacKey, withSignature, type HmacKey } from './hmac-chain.js';
import { readFileLines, type NumberedLine } from './line-reader.js';

export type FindingKind =
  | 'edited'
  | 'inserted'
  | 'deleted'
  | 'reordered'
  | 'head'
  | 'new_chain'
  | 'unknown_key'
  | 'malformed'
  | 'unsigned'
  // --against-cloudwatch
  | 'altered'
  | 'missing_in_cloudwatch'
  | 'extra_in_cloudwatch';

export interface Finding {
  /** 1-based line number in the file. */
  line: number;
  kind: FindingKind;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  /** Lines read (blank lines included: a probe after an outage leaves one). */
  lines: number;
  signed_lines: number;
  /** Lines per key id, so a rotation shows. */
  keys: Record<string, number>;
  first_timestamp: string | null;
  last_timestamp: string | null;
  findings: Finding[];
  /** Findings beyond MAX_FINDINGS are counted, not listed. */
  more_findings: number;
}

export const MAX_FINDINGS = 100;
/** Signatures remembered to recognise a line that chains to an earlier one (a replay or a move). */
const SEEN_WINDOW = 4096;

/** The keys a verifier accepts, by key id. */
export type KeySet = Map<string, KeyObject>;

export function keySet(keys: Iterable<HmacKey>): KeySet {
  const set: KeySet = new Map();
  for (const k of keys) set.set(k.keyId, createSecretKey(k.key));
  return set;
}

interface Checked {
  n: number;
  /** Set when the line cannot be trusted on its own. */
  problem?: { kind: FindingKind; message: string };
  /** What the line claims (64 hex), when it claims one. */
  signature?: string;
  prev?: string;
  keyId?: string;
  timestamp?: string;
}

const hmacHex = (key: KeyObject, ...parts: string[]) => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function sameHex(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

const WAVE1_FIELDS = ['entry', 'key_id', 'prev', 'signature', 'timestamp'];

/** One line checked on its own: shape, key, signature. The chain is checked by the caller. */
export function checkLine(line: NumberedLine, keys: KeySet): Checked {
  const { n, text } = line;
  const bad = (kind: FindingKind, message: string, claims: Partial<Checked> = {}): Checked => ({
    n,
    ...claims,
    problem: { kind, message },
  });
  if (text === null) return bad('malformed', 'longer than any decision-log line (64 KiB): not a line the daemon wrote');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return bad('malformed', 'not JSON (truncated or edited)');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return bad('unsigned', 'not a signed line');
  const { signature, prev, key_id: keyId, entry, timestamp, v } = parsed as Record<string, unknown>;
  if (
    typeof signature !== 'string' ||
    !SIGNATURE.test(signature) ||
    typeof prev !== 'string' ||
    !SIGNATURE.test(prev) ||
    !entry ||
    typeof entry !== 'object' ||
    Array.isArray(entry)
  ) {
    return bad('unsigned', 'not a signed line');
  }
  const claims: Partial<Checked> = {
    signature,
    prev,
    ...(typeof timestamp === 'string' ? { timestamp } : {}),
  };
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) return bad('unsigned', 'not a signed line (no key_id)', claims);
  claims.keyId = keyId;
  const key = keys.get(keyId);
  if (!key) return bad('unknown_key', `signed with key ${keyId}, which is not in the key set`, claims);
  let expected: string;
  /** The line as the daemon writes it, for lines whose rule fixes every byte. */
  let written: string | undefined;
  try {
    if (v === LINE_VERSION) {
      const { signature: _omit, ...unsigned } = parsed as Record<string, unknown>;
      const signed = canonicalJson(unsigned);
      expected = hmacHex(key, signed);
      written = withSignature(signed, signature);
    } else if (v === undefined) {
      // Wave 1 signed only prev + entry: a field added or removed outside the entry is an edit it cannot see itself.
      const fields = Object.keys(parsed).sort();
      if (fields.length !== WAVE1_FIELDS.length || fields.some((f, i) => f !== WAVE1_FIELDS[i]))
        return bad('edited', 'a field outside the signed entry was added or removed: the line was edited', claims);
      expected = hmacHex(key, prev, canonicalJson(entry));
    } else {
      return bad('unsigned', 'not a signed line (unknown version)', claims);
    }
  } catch {
    return bad('malformed', 'nested too deeply to be a decision-log line', claims);
  }
  if (!sameHex(signature, expected)) return bad('edited', 'signature does not match: the line was edited', claims);
  // The signature covers what JSON.parse makes of the line, but another reader may see other values in other bytes
  // (the first of two duplicate keys, say): only the exact bytes the daemon wrote are the signed line.
  if (written !== undefined && (line.notUtf8 || text !== written))
    return bad(
      'edited',
      'not the bytes the daemon wrote (duplicate keys, spacing, escapes or encoding differ from the signed form): the line was edited',
      claims,
    );
  if (timestamp !== (entry as { timestamp?: unknown }).timestamp)
    return bad('edited', 'timestamp differs from the signed entry: the line was edited', claims);
  return { n, ...claims };
}

/** The chain check over a stream of lines; push() each line in order, then end(). */
export class ChainVerifier {
  /** The signature the next line's prev must be: the last line taken as a link of the chain. */
  private expected: string = GENESIS;
  private accepted = 0;
  private suspect: Checked | null = null;
  /** After a swap, the second line of the pair is already explained: skip its check and continue from here. */
  private consumed: { n: number; then: string } | null = null;
  private readonly seen = new Map<string, number>();
  /** prev values no line before them had: a later line with that signature means a move, not a deletion. */
  private readonly missing = new Map<string, Finding>();
  private readonly report: VerifyReport = {
    ok: true,
    lines: 0,
    signed_lines: 0,
    keys: {},
    first_timestamp: null,
    last_timestamp: null,
    findings: [],
    more_findings: 0,
  };

  constructor(private readonly keys: KeySet) {}

  push(line: NumberedLine): void {
    this.report.lines = line.n;
    if (line.text !== null && line.text.trim() === '') return;
    const c = checkLine(line, this.keys);
    if (!c.problem) {
      this.report.signed_lines++;
      this.report.keys[c.keyId!] = (this.report.keys[c.keyId!] ?? 0) + 1;
      if (c.timestamp) {
        this.report.first_timestamp ??= c.timestamp;
        this.report.last_timestamp = c.timestamp;
      }
    }
    if (this.suspect) {
      this.resolve(this.suspect, c);
      this.suspect = null;
    }
    if (this.consumed && this.consumed.n === c.n) {
      this.expected = this.consumed.then;
      this.consumed = null;
      return;
    }
    if (!c.problem && c.signature && this.missing.has(c.signature)) {
      // The predecessor a line was missing turns up later: it was moved, not deleted.
      const f = this.missing.get(c.signature)!;
      this.missing.delete(c.signature);
      f.kind = 'reordered';
      f.message = `line ${c.n} belongs before line ${f.line}: lines were reordered`;
      return;
    }
    if (c.problem || c.prev !== this.expected) this.suspect = c;
    else this.accept(c);
  }

  end(): VerifyReport {
    if (this.suspect) this.resolve(this.suspect, undefined);
    this.suspect = null;
    this.report.ok = this.report.findings.length === 0 && this.report.more_findings === 0;
    return this.report;
  }

  private accept(c: Checked): void {
    this.expected = c.signature!;
    this.accepted++;
    this.seen.set(c.signature!, c.n);
    if (this.seen.size > SEEN_WINDOW) this.seen.delete(this.seen.keys().next().value!);
  }

  private add(line: number, kind: FindingKind, message: string): Finding | null {
    if (this.report.findings.length >= MAX_FINDINGS) {
      this.report.more_findings++;
      return null;
    }
    const f = { line, kind, message };
    this.report.findings.push(f);
    return f;
  }

  /** Decides what a line that broke the chain is, now that the line after it (if any) is known. */
  private resolve(s: Checked, next: Checked | undefined): void {
    const expected = this.expected;
    const nextChainsToExpected = next !== undefined && !next.problem && next.prev === expected;
    if (s.problem) {
      // Before any chain there is no "line before it" to be inserted after: lines written before signing was switched
      // on (the daemon starts its first chain after them) are what they are, unsigned, like the ones before them.
      const chainBefore = this.accepted > 0 || expected !== GENESIS;
      if (nextChainsToExpected && chainBefore && s.problem.kind !== 'unknown_key') {
        // A fragment a crash left behind is not JSON either; it stays "malformed" rather than "inserted".
        if (s.problem.kind === 'malformed') this.add(s.n, 'malformed', s.problem.message);
        else this.add(s.n, 'inserted', `${s.problem.message}; the next line chains to the one before it: inserted`);
        return; // the chain goes on from before the line
      }
      this.add(s.n, s.problem.kind, s.problem.message);
      // A line with no signature is no link: the daemon continues from the last signed line before it
      // (readChainTail), so the next line must chain to that one, and a deletion or replay behind it still shows.
      if (s.signature) {
        this.expected = s.signature;
        this.accepted++;
      }
      return;
    }
    const prev = s.prev!;
    if (this.accepted === 0 && expected === GENESIS) {
      const f = this.add(
        s.n,
        'head',
        'the log does not start a chain (prev is not 64 zeros): lines before it were deleted, or this is a later piece of a rotated log',
      );
      if (f) this.missing.set(prev, f);
    } else if (prev === GENESIS) {
      const replayOf = this.seen.get(s.signature!);
      this.add(
        s.n,
        'new_chain',
        replayOf !== undefined
          ? `a new chain starts here, and it repeats line ${replayOf}: a chain replayed`
          : 'a new chain starts here: the daemon found no signed line to continue (the lines before it were damaged, cut or unsigned)',
      );
    } else if (next && !next.problem && next.signature === prev && next.prev === expected) {
      this.add(s.n, 'reordered', `lines ${s.n} and ${next.n} are swapped: lines were reordered`);
      this.consumed = { n: next.n, then: s.signature! };
    } else if (nextChainsToExpected) {
      this.add(s.n, 'inserted', 'a line from elsewhere in the chain (replayed or moved): inserted');
      return;
    } else if (this.seen.has(prev)) {
      this.add(
        s.n,
        'reordered',
        `chains to line ${this.seen.get(prev)}, not to the line before it: lines were reordered`,
      );
    } else {
      const f = this.add(s.n, 'deleted', `line(s) deleted before line ${s.n}: its prev matches no line before it`);
      if (f && this.missing.size < MAX_FINDINGS) this.missing.set(prev, f);
    }
    this.accept(s);
  }
}

export async function verifyLines(lines: AsyncIterable<NumberedLine>, keys: KeySet): Promise<VerifyReport> {
  const v = new ChainVerifier(keys);
  for await (const line of lines) v.push(line);
  return v.end();
}

export function verifyLogFile(file: string, keys: KeySet): Promise<VerifyReport> {
  return verifyLines(readFileLines(file), keys);
}

export type VerifyResult = { ok: true; lines: number } | { ok: false; lines: number; line: number; reason: string };

/** The first problem only, for code that just needs a yes or no with a pointer (one key). */
export async function verifyDecisionLog(file: string, key: Buffer | HmacKey): Promise<VerifyResult> {
  const report = await verifyLogFile(file, keySet([Buffer.isBuffer(key) ? hmacKey(key) : key]));
  const first = report.findings[0];
  return first
    ? { ok: false, lines: report.lines, line: first.line, reason: first.message }
    : { ok: true, lines: report.lines };
}
