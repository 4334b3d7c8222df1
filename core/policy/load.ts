// Bytes → a validated Policy, or the list of everything wrong with it, each problem with the YAML line and column
// and, where one is plausible, a hint. Nothing here decides access: a policy that does not validate is never used.
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { lintPolicy, type Warning } from './lint.js';
import { FUTURE_SECTIONS, KNOWN_KEYS, OS_TYPES, policySchema, type Policy } from './schema.js';
import { didYouMean } from '../text/close-matches.js';
import { visible } from '../text/printable.js';
import { knownTimeZones } from './time-window.js';
import { rateLimitStoreProblem } from './rate-limits-section.js';
import type { SessionStoreKind } from '../types.js';

export const MAX_POLICY_BYTES = 8 * 1024 * 1024;
// Aliases are legitimate (a shared list of on-call users), but each one can multiply the document: a handful of
// nested aliases is a "billion laughs". The yaml package counts expanded nodes against this limit.
const MAX_ALIAS_COUNT = 32;

export interface Problem {
  message: string;
  line?: number;
  column?: number;
  /** Where in the document, e.g. `rules[2].conditions.time.timezone`. */
  path?: string;
  hint?: string;
}

export type { Warning };

export interface ParsedPolicy {
  ok: true;
  policy: Policy;
  /** sha256 hex of the exact bytes (what a signature covers). */
  digest: string;
  /** The YAML line of each rule, for lint messages and `policy test`. */
  ruleLines: number[];
  warnings: Warning[];
}

export type ParseResult = ParsedPolicy | { ok: false; problems: Problem[] };

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The policy version a file source reports: the first 12 hex digits of the sha256 of its bytes. */
export function fileVersion(digest: string): string {
  return digest.slice(0, 12);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** `file:12:9: message` + an indented hint line, as compilers print them (editors can jump to it). */
export function formatProblem(p: Problem, file?: string): string {
  const where = [file, p.line, p.line !== undefined ? p.column : undefined].filter((x) => x !== undefined).join(':');
  // A problem quotes the policy (an unknown key, a value), which may have come from SSM or a colleague: YAML escapes
  // such as "\e" make control characters of it, shown here rather than sent to the terminal.
  const head = `${where ? `${where}: ` : ''}${visible(p.message)}`;
  return p.hint ? `${head}\n  hint: ${visible(p.hint)}` : head;
}

function decodeText(bytes: Uint8Array): string | Problem {
  if (bytes.includes(0)) {
    return {
      message: 'not a text file (it contains NUL bytes)',
      line: 1,
      column: 1,
      hint: 'A policy is a YAML text file.',
    };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { message: 'not valid UTF-8 text', line: 1, column: 1, hint: 'Save the policy as UTF-8.' };
  }
  // eslint-disable-next-line no-control-regex
  const control = /[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(text);
  if (control) {
    const before = text.slice(0, control.index);
    const line = before.split('\n').length;
    const column = control.index - before.lastIndexOf('\n');
    return { message: 'the file contains control characters', line, column, hint: 'A policy is a YAML text file.' };
  }
  return text;
}

/** The YAML node at a zod path (for its position), stepping into maps by key and sequences by index. */
export function nodeAt(doc: Document, path: readonly PropertyKey[]): { node: Node | null; keyNode?: Node } {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node: node as Node };
      keyNode = pair.key as Node;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      keyNode = undefined;
      node = node.items[seg];
    } else {
      break;
    }
  }
  return { node: (node as Node) ?? null, keyNode };
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, seg)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return `a number (${v})`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  return typeof v;
}

function quote(v: unknown): string {
  const s = String(v);
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

/** Which known-keys list applies to the object at `path`. */
function knownKeysFor(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return KNOWN_KEYS.policy;
  if (path.length === 2 && path[0] === 'rules') return KNOWN_KEYS.rule;
  if (path.length === 2 && path[0] === 'approvals') return KNOWN_KEYS.approval;
  if (path.length === 2 && path[0] === 'notifications') return KNOWN_KEYS.notification;
  if (path.length === 2 && path[0] === 'breakglass') return KNOWN_KEYS.breakglass;
  if (path.length === 2 && path[0] === 'rate_limits') return KNOWN_KEYS.rate_limit;
  if (path.length === 2 && path[0] === 'profiles') return KNOWN_KEYS.profile;
  const last = path[path.length - 1];
  if (last === 'auto_approve') return KNOWN_KEYS.auto_approve;
  if (last === 'webhook') return KNOWN_KEYS.webhook;
  if (last === 'sns') return KNOWN_KEYS.sns;
  if (last === 'conditions') return KNOWN_KEYS.conditions;
  if (last === 'time') return KNOWN_KEYS.time;
  if (last === 'hours') return KNOWN_KEYS.hours;
  if (last === 'device') return KNOWN_KEYS.device;
  return [];
}

function enumWord(path: readonly PropertyKey[]): string {
  const names = path.filter((s) => typeof s === 'string');
  const last = names[names.length - 1];
  if (last === 'effect') return 'effect';
  if (last === 'mode') return 'mode';
  if (last === 'days') return 'weekday';
  if (last === 'allowed_reason_codes') return 'reason code';
  if (last === 'mfa') return 'mfa value';
  return 'value';
}

function computedHint(path: readonly PropertyKey[], value: unknown): string | undefined {
  const names = path.filter((s) => typeof s === 'string');
  const last = names[names.length - 1];
  if (typeof value !== 'string') return undefined;
  if (last === 'timezone') {
    return didYouMean(value, knownTimeZones()) ?? 'Use an IANA time zone name such as "Europe/Berlin" or "UTC".';
  }
  if (last === 'start' || last === 'end') {
    if (/^\d:\d\d$/.test(value)) return `write "0${value}"`;
    if (value === '24:00') return 'write "00:00": a window whose end is before its start wraps midnight';
    return 'Hours are 24-hour "HH:MM", quoted.';
  }
  if (last === 'allowed_os_types') return didYouMean(value, OS_TYPES) ?? `one of: ${OS_TYPES.join(', ')}`;
  if (last === 'version') return 'write version: "1"';
  if (last === 'max_server_duration' || last === 'max_duration' || last === 'cooldown' || last === 'quota_window')
    return 'Go-style durations: "900s", "30m", "1h", "1h30m".';
  return undefined;
}

function issueProblems(issue: z.core.$ZodIssue, doc: Document, js: unknown, lc: LineCounter): Problem[] {
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = lc.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const path = issue.path;
  const where = formatPath(path);
  const located = nodeAt(doc, path);

  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysFor(path);
    return issue.keys.map((key) => {
      const keyNode = nodeAt(doc, [...path, key]).keyNode;
      const future = path.length === 0 && FUTURE_SECTIONS.includes(key);
      return {
        message: `unknown key "${key}"${where ? ` in ${where}` : ' at the top level'}`,
        path: formatPath([...path, key]),
        ...at(keyNode ?? located.node),
        hint: future
          ? `"${key}" is planned but not supported yet; remove it.`
          : (didYouMean(key, known) ?? (known.length ? `allowed keys: ${known.join(', ')}` : undefined)),
      };
    });
  }

  const value = valueAt(js, path);
  const params = (issue as { params?: { hint?: string } }).params;

  if (issue.code === 'invalid_type') {
    if (value === undefined) {
      const key = String(path[path.length - 1]);
      const parent = nodeAt(doc, path.slice(0, -1)).node;
      return [
        {
          message: `missing "${key}"${path.length > 1 ? ` in ${formatPath(path.slice(0, -1))}` : ''}`,
          path: where,
          ...at(parent),
        },
      ];
    }
    const expected =
      issue.expected === 'array'
        ? 'a list'
        : issue.expected === 'object'
          ? 'a mapping'
          : issue.expected === 'int'
            ? 'a whole number'
            : `a ${issue.expected}`;
    let hint: string | undefined;
    if (issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
      const source =
        isScalar(located.node) && typeof located.node.source === 'string' ? located.node.source : String(value);
      hint = `YAML reads an unquoted ${source} as ${typeof value}; quote it: "${source}"`;
    } else if (issue.expected === 'array' && value !== null && typeof value !== 'object') {
      hint = `write a list: [${String(value)}]`;
    } else if (issue.expected === 'boolean' && typeof value === 'string') {
      hint = 'write true or false, without quotes';
    } else if (value === null) {
      hint = 'the key has no value; give one or remove the key';
    }
    return [
      {
        message: `${where || 'the document'}: expected ${expected}, got ${describeValue(value)}`,
        path: where,
        ...at(located.node),
        hint,
      },
    ];
  }

  if (issue.code === 'invalid_value') {
    const values = (issue.values as unknown[]).map(String);
    return [
      {
        message: `${where}: unknown ${enumWord(path)} ${quote(value)}`,
        path: where,
        ...at(located.node),
        hint: (typeof value === 'string' ? didYouMean(value, values) : undefined) ?? `one of: ${values.join(', ')}`,
      },
    ];
  }

  return [
    {
      message: `${where ? `${where}: ` : ''}${issue.message}${typeof value === 'string' && !issue.message.includes(quote(value)) ? ` (got ${quote(value)})` : ''}`,
      path: where,
      ...at(located.node),
      hint: params?.hint ?? computedHint(path, value),
    },
  ];
}

function yamlProblem(e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): Problem {
  const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return { message: `YAML: ${first}`, line: e.linePos?.[0]?.line, column: e.linePos?.[0]?.col };
}

const DEEP: Problem = {
  message: 'the YAML is nested too deeply to parse (thousands of levels); refused',
  hint: 'A policy needs a few levels of nesting; look for runaway [ or - in the file.',
};

/** What the reader knows about where the policy will be used; checks that depend on it run only when it is given. */
export interface ParseOptions {
  /** The daemon's sessions.store: rate_limits are refused with `memory` (DESIGN §11). */
  sessionStore?: SessionStoreKind;
}

/** Parses and validates policy bytes. Never throws for bad input; the result says what is wrong. */
export function parsePolicy(input: Uint8Array | string, options: ParseOptions = {}): ParseResult {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > MAX_POLICY_BYTES) {
    return { ok: false, problems: [{ message: `the policy is ${bytes.length} bytes; the limit is 8 MiB` }] };
  }
  const text = decodeText(bytes);
  if (typeof text !== 'string') return { ok: false, problems: [text] };

  const lc = new LineCounter();
  let doc: Document;
  let js: unknown;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, strict: true });
    // Warnings include unresolved tags (`!foo`): a policy is plain data, so anything the parser had to guess at
    // is refused rather than read one way or another.
    const yamlIssues = [...doc.errors, ...doc.warnings];
    // The parser recurses per nesting level and reports a stack overflow once per node it abandoned, without position.
    if (yamlIssues.some((e) => /Maximum call stack size exceeded/.test(e.message)))
      return { ok: false, problems: [DEEP] };
    if (yamlIssues.length > 0) return { ok: false, problems: yamlIssues.map((e) => yamlProblem(e as never)) };
    js = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const bomb = e instanceof ReferenceError && /alias/i.test(e.message);
    if (e instanceof RangeError) return { ok: false, problems: [DEEP] };
    return {
      ok: false,
      problems: [
        bomb
          ? {
              message: 'YAML aliases expand too far (a resource exhaustion attack?); refused',
              hint: `use at most ${MAX_ALIAS_COUNT} alias expansions`,
            }
          : { message: 'the document cannot be parsed as YAML' },
      ],
    };
  }

  if (js === null || js === undefined) {
    return {
      ok: false,
      problems: [
        { message: 'the policy is empty', line: 1, column: 1, hint: 'See docs/policy.md for a first policy.' },
      ],
    };
  }
  if (typeof js !== 'object' || Array.isArray(js)) {
    return {
      ok: false,
      problems: [{ message: 'expected a mapping with "version" and "rules" at the top level', line: 1, column: 1 }],
    };
  }

  const warnings: Warning[] = [];
  // The original Go Sentinel read `version: 1` (a YAML integer) as "1" and policies in the wild may say so. That
  // one spelling is accepted, with a warning; 1.0, 01 or 0x1 are not.
  const versionNode = doc.get('version', true);
  if ((js as Record<string, unknown>).version === 1 && isScalar(versionNode) && versionNode.source === '1') {
    (js as Record<string, unknown>).version = '1';
    const pos = versionNode.range ? lc.linePos(versionNode.range[0]) : undefined;
    warnings.push({ message: 'version: 1 is read as "1"; write version: "1"', line: pos?.line });
  }

  const parsed = policySchema.safeParse(js);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => issueProblems(issue, doc, js, lc));
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    return { ok: false, problems };
  }

  const policy = parsed.data as Policy;
  const storeProblem = rateLimitStoreProblem(policy, options.sessionStore);
  if (storeProblem) {
    const key = nodeAt(doc, ['rate_limits']).keyNode;
    const pos = key?.range ? lc.linePos(key.range[0]) : undefined;
    return {
      ok: false,
      problems: [
        {
          message: storeProblem,
          path: 'rate_limits',
          line: pos?.line,
          column: pos?.col,
          hint: 'Set sessions.store: dynamodb in config.yaml, or remove rate_limits from the policy.',
        },
      ],
    };
  }
  const rulesNode = doc.get('rules', true);
  const ruleLines = policy.rules.map((_, i) => {
    const item = isSeq(rulesNode) ? (rulesNode.items[i] as Node | undefined) : undefined;
    return item?.range ? lc.linePos(item.range[0]).line : 0;
  });
  warnings.push(...lintPolicy(policy, ruleLines));
  return { ok: true, policy, digest: sha256Hex(bytes), ruleLines, warnings };
}

export type FileReadResult = { ok: true; bytes: Buffer } | { ok: false; missing: boolean; problem: Problem };

/**
 * Reads a policy file: regular files only (a FIFO or device could block or never end), at most 8 MiB, checked with
 * stat before a byte is read and again on the open descriptor (the file may be replaced in between).
 */
export async function readPolicyFile(path: string): Promise<FileReadResult> {
  const tooBig = (size: number): FileReadResult => ({
    ok: false,
    missing: false,
    problem: { message: `${path} is ${size} bytes; policies over 8 MiB are refused unread` },
  });
  try {
    const st = await stat(path);
    if (!st.isFile()) return { ok: false, missing: false, problem: { message: `${path} is not a regular file` } };
    if (st.size > MAX_POLICY_BYTES) return tooBig(st.size);
    const fh = await open(path, 'r');
    try {
      const fst = await fh.stat();
      if (!fst.isFile()) return { ok: false, missing: false, problem: { message: `${path} is not a regular file` } };
      if (fst.size > MAX_POLICY_BYTES) return tooBig(fst.size);
      // One byte more than fstat promised: a file still being written is refused, not parsed half-way.
      const buf = Buffer.alloc(fst.size + 1);
      let length = 0;
      while (length < buf.length) {
        const { bytesRead } = await fh.read(buf, length, buf.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > fst.size) {
        return {
          ok: false,
          missing: false,
          problem: { message: `${path} changed while it was being read; try again` },
        };
      }
      return { ok: true, bytes: buf.subarray(0, length) };
    } finally {
      await fh.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return {
        ok: false,
        missing: true,
        problem: {
          message: `${path} does not exist`,
          hint: `Create it (docs/policy.md has a starting point), check it with \`sentinel policy validate ${path}\`, then \`sentinel daemon reload\`.`,
        },
      };
    }
    return { ok: false, missing: false, problem: { message: `${path} cannot be read (${code ?? 'error'})` } };
  }
}

/** Reads and parses a file: what `policy validate`, `policy test` and the file source all do. */
export async function loadPolicyFile(
  path: string,
  options: ParseOptions = {},
): Promise<ParseResult & { missing?: boolean }> {
  const read = await readPolicyFile(path);
  if (!read.ok) return { ok: false, problems: [read.problem], missing: read.missing };
  return parsePolicy(read.bytes, options);
}
