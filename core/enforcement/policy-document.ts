// IAM policy documents as Sentinel reads and writes them: parsing text that may not be JSON (a trust policy arrives
// URL-encoded from GetRole), and the normalised views the plan needs (actions, principals and conditions as lists,
// whatever single-value or list form the author chose). IAM's keys and operators are case-insensitive; values are not.

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: '*' | Record<string, string | string[]>;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export type ParsedDocument = { ok: true; statements: RawStatement[] } | { ok: false; reason: string };

/** A statement as found: fields typed loosely, so a document someone wrote by hand never crashes the reader. */
export type RawStatement = Record<string, unknown>;

/** Parses a policy document; `reason` says plainly why a text is not one. Never throws. */
export function parsePolicyDocument(text: string): ParsedDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'the document is not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, reason: 'the document is not a JSON object' };
  }
  const statement = (doc as Record<string, unknown>).Statement;
  const list = Array.isArray(statement) ? statement : statement === undefined ? [] : [statement];
  if (list.length === 0) return { ok: false, reason: 'the document has no Statement' };
  if (list.some((s) => typeof s !== 'object' || s === null || Array.isArray(s))) {
    return { ok: false, reason: 'a Statement is not a JSON object' };
  }
  return { ok: true, statements: list as RawStatement[] };
}

/** GetRole's AssumeRolePolicyDocument is URL-encoded (RFC 3986); a malformed escape is reported, not thrown. */
export function decodeTrustPolicy(encoded: string): ParsedDocument {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return { ok: false, reason: 'the trust policy is not valid URL-encoded text' };
  }
  return parsePolicyDocument(text);
}

export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The value of an object member whose name matches case-insensitively (IAM's rule for keys and operators). */
export function memberCI(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Does an IAM action pattern (`sts:*`, `*`, `sts:Assume*`) cover `action`? Case-insensitive, as IAM matches. */
export function actionMatches(pattern: string, action: string): boolean {
  return wildcard(pattern.toLowerCase()).test(action.toLowerCase());
}

/** IAM's `*` and `?` wildcards as a regular expression over the whole string. */
export function wildcard(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** Whether a statement's actions (or NotAction) allow `action`. */
export function statementCovers(statement: RawStatement, action: string): boolean {
  const actions = strings(statement.Action);
  if (actions.length > 0) return actions.some((p) => actionMatches(p, action));
  const not = strings(statement.NotAction);
  return statement.NotAction !== undefined && !not.some((p) => actionMatches(p, action));
}

/** The AWS principals a statement names (`*` for anyone), plus any service or federated principal. */
export function statementPrincipals(statement: RawStatement): { aws: string[]; other: string[] } {
  const p = statement.Principal;
  if (p === '*') return { aws: ['*'], other: [] };
  const aws = strings(memberCI(p, 'AWS'));
  const other: string[] = [];
  if (typeof p === 'object' && p !== null) {
    for (const [k, v] of Object.entries(p))
      if (k.toLowerCase() !== 'aws') other.push(...strings(v).map((x) => `${k}:${x}`));
  }
  return { aws, other };
}

/** Values a condition block tests `key` with under `operator` (both case-insensitive); undefined when absent. */
export function conditionValues(statement: RawStatement, operator: string, key: string): string[] | undefined {
  const block = memberCI(statement.Condition, operator);
  const values = memberCI(block, key);
  return values === undefined ? undefined : strings(values);
}

/** Every (operator, key) pair of a statement's Condition, for explaining what is there. */
export function conditionOperators(statement: RawStatement, key: string): string[] {
  const cond = statement.Condition;
  if (typeof cond !== 'object' || cond === null) return [];
  return Object.entries(cond)
    .filter(([, block]) => memberCI(block, key) !== undefined)
    .map(([op]) => op);
}

/** The document as IAM prints it in examples: JSON with two-space indent. */
export function renderPolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc, null, 2);
}
