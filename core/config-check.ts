// `sentinel config validate` (DESIGN §16): every problem of a config.yaml, each with its line and column and a fix,
// and then the problems of the policy file it names. The daemon's loader stops at the first problem and says only what
// it is; this reports them all, adds the checks a schema cannot make (a policy file that is missing, a signature file
// a signing key needs, durations STS would refuse), and warns about what is legal but probably wrong.
import { existsSync } from 'node:fs';
import { LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { loadHmacKey } from './audit/hmac-chain.js';
import { configSchema, resolveConfig, type Config } from './config.js';
import { isSentinelError } from './errors.js';
import { formatPath, loadPolicyFile, nodeAt } from './policy/load.js';
import { didYouMean } from './text/close-matches.js';

export interface ConfigProblem {
  severity: 'error' | 'warning';
  message: string;
  /** The file the line and column are in (config.yaml, or the policy it names). */
  file: string;
  line?: number;
  column?: number;
  path?: string;
  hint?: string;
}

const KMS_KEY =
  /^(arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:(key\/[0-9a-f-]{36}|alias\/[\w/-]+)|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|alias\/[\w/-]+|mrk-[0-9a-f]{32})$/;
const STS_MIN_MS = 15 * 60_000;
const STS_MAX_MS = 12 * 3600_000;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

export function checkConfigText(text: string, file: string, env: Record<string, string | undefined>) {
  const problems: ConfigProblem[] = [];
  const lc = new LineCounter();
  const at = (node: Node | null | undefined) => {
    const offset = node?.range?.[0];
    if (offset === undefined) return {};
    const pos = lc.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const add = (p: Omit<ConfigProblem, 'file'> & { file?: string }) => problems.push({ file, ...p });

  // eslint-disable-next-line no-control-regex
  const control = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(text);
  if (control) {
    const before = text.slice(0, control.index);
    add({
      severity: 'error',
      message: 'the file contains control characters',
      line: before.split('\n').length,
      column: control.index - before.lastIndexOf('\n'),
      hint: 'config.yaml is a YAML text file.',
    });
    return { problems, config: null };
  }
  let doc: Document;
  let js: unknown;
  try {
    doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, strict: true });
    const yamlIssues = [...doc.errors, ...doc.warnings];
    for (const e of yamlIssues) {
      const pos = (e as { linePos?: [{ line: number; col: number }] }).linePos?.[0];
      add({ severity: 'error', message: `YAML: ${e.message.split('\n')[0]}`, line: pos?.line, column: pos?.col });
    }
    if (yamlIssues.length > 0) return { problems, config: null };
    js = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch {
    add({ severity: 'error', message: 'the document cannot be parsed as YAML' });
    return { problems, config: null };
  }
  if (typeof js !== 'object' || js === null || Array.isArray(js)) {
    add({ severity: 'error', message: 'expected a mapping of settings at the top level', line: 1, column: 1 });
    return { problems, config: null };
  }

  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const parsed = configSchema.safeParse(js);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = formatPath(issue.path);
      if (issue.code === 'unrecognized_keys') {
        const known = Object.keys((valueAt(defaults, issue.path) as object | null) ?? {});
        for (const key of issue.keys) {
          add({
            severity: 'error',
            message: `unknown key "${key}"${where ? ` in ${where}` : ' at the top level'}`,
            path: formatPath([...issue.path, key]),
            ...at(nodeAt(doc, [...issue.path, key]).keyNode ?? nodeAt(doc, issue.path).node),
            hint: didYouMean(key, known) ?? (known.length ? `allowed keys: ${known.join(', ')}` : undefined),
          });
        }
        continue;
      }
      const value = valueAt(js, issue.path);
      const options = issue.code === 'invalid_value' ? (issue.values as unknown[]).map(String) : [];
      add({
        severity: 'error',
        message: `${where || 'the document'}: ${issue.message}`,
        path: where,
        ...at(nodeAt(doc, issue.path).node),
        hint:
          options.length > 0
            ? ((typeof value === 'string' ? didYouMean(value, options) : undefined) ?? `one of: ${options.join(', ')}`)
            : 'docs/daemon.md, "Configuration", lists every key with its default.',
      });
    }
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    return { problems, config: null };
  }

  const config: Config = resolveConfig(js, file, env);
  const locate = (path: string[]) => ({ path: path.join('.'), ...at(nodeAt(doc, path).node) });
  const raw = parsed.data;

  const key = config.policy.signingKey;
  if (key !== null && !KMS_KEY.test(key)) {
    add({
      severity: 'error',
      message: `policy.signing_key ${JSON.stringify(key.slice(0, 60))} is not a KMS key id, key ARN, alias or alias ARN`,
      ...locate(['policy', 'signing_key']),
      hint: 'e.g. alias/sentinel-policy or arn:aws:kms:eu-west-1:111111111111:key/<uuid>',
    });
  }
  if (config.policy.source === 'ssm' && !config.region && !env.AWS_REGION && !env.AWS_DEFAULT_REGION) {
    add({
      severity: 'warning',
      message: 'policy.source is ssm but no region is configured',
      ...locate(['policy', 'source']),
      hint: 'Set region: (or AWS_REGION for the daemon), or the daemon reads SSM in its profile’s default region.',
    });
  }
  if (config.policy.source === 'ssm' && config.policy.refreshMs < 60_000) {
    add({
      severity: 'warning',
      message: `policy.refresh ${raw.policy?.refresh} is under a minute: a fleet of daemons will be throttled by SSM`,
      ...locate(['policy', 'refresh']),
      hint: 'Use 5m (the default); `sentinel daemon reload` loads a change at once.',
    });
  }
  const credentialMs = config.credentials.durationMs;
  if (credentialMs < STS_MIN_MS || credentialMs > STS_MAX_MS) {
    add({
      severity: 'error',
      message: `credentials.duration ${raw.credentials?.duration} is outside what STS issues (15m to 12h)`,
      ...locate(['credentials', 'duration']),
      hint: 'Use 15m (the default) up to the role’s maximum session duration.',
    });
  }
  if (config.sessions.ttlMs < credentialMs) {
    add({
      severity: 'warning',
      message: 'sessions.ttl is shorter than credentials.duration: credentials outlive the session that issued them',
      ...locate(['sessions', 'ttl']),
      hint: 'Make sessions.ttl at least credentials.duration.',
    });
  }
  if (config.audit.hmacKeyFile && !existsSync(config.audit.hmacKeyFile)) {
    add({
      severity: 'error',
      message: `audit.hmac_key_file ${config.audit.hmacKeyFile} does not exist`,
      ...locate(['audit', 'hmac_key_file']),
      hint: 'Create it (32 random bytes: head -c 32 /dev/urandom > FILE; chmod 600 FILE) or remove the key.',
    });
  } else if (config.audit.hmacKeyFile) {
    // The daemon's own check, so a key file it would refuse (a FIFO, a loose mode, too short) is not called valid.
    try {
      loadHmacKey(config.audit.hmacKeyFile);
    } catch (e) {
      if (!isSentinelError(e)) throw e;
      add({
        severity: 'error',
        message: `audit.hmac_key_file: ${e.message}`,
        ...locate(['audit', 'hmac_key_file']),
        ...(e.hint ? { hint: e.hint } : {}),
      });
    }
  }
  return { problems, config };
}

/** The policy problems of a file-source config: missing file, missing signature, and the policy's own problems. */
export async function checkConfiguredPolicy(config: Config): Promise<ConfigProblem[]> {
  if (config.policy.source !== 'file') return [];
  const file = config.policy.file;
  const problems: ConfigProblem[] = [];
  const loaded = await loadPolicyFile(file);
  if (!loaded.ok) {
    for (const p of loaded.problems) {
      problems.push({
        severity: 'error',
        file,
        message: p.message,
        line: p.line,
        column: p.column,
        path: p.path,
        hint: p.hint ?? `Check it with \`sentinel policy validate ${file}\`.`,
      });
    }
  } else {
    for (const w of loaded.warnings) problems.push({ severity: 'warning', file, message: w.message, line: w.line });
  }
  if (config.policy.signingKey && !existsSync(`${file}.sig`)) {
    problems.push({
      severity: 'error',
      file: config.file,
      message: `policy.signing_key is set but ${file}.sig does not exist: the daemon would refuse the policy`,
      hint: `sentinel policy sign '*' ${file} --key ${config.policy.signingKey} -o ${file}.sig`,
    });
  }
  return problems;
}
