// The local policy file (the default source). Re-read on reload() (SIGHUP, `POST /v1/policy/reload`) and when the
// file changes. The directory is watched rather than the file, because editors save by writing a new file and
// renaming it over the old one, which a watch on the old inode would never see. A read or validation failure keeps
// the last good policy in force; with none, every request is refused with PolicyUnavailable.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { OpLogger } from '../log.js';
import { assertTrustedFile } from '../path-trust.js';
import { CompiledPolicyCache, summarize, type ReadyPolicy } from './compiled-cache.js';
import { defaultDeny } from './evaluate.js';
import { fileVersion, readPolicyFile } from './load.js';
import type { SerialState } from './serial-state.js';
import { FIRST_LOAD_RETRY_MS } from './source-ssm.js';
import {
  ALL_PROFILES,
  MAX_ENVELOPE_BYTES,
  checkSignature,
  fetchVerificationKey,
  type VerificationKey,
} from './signature.js';
import type { Decision, DecisionRequest, PolicyFileRefusal, PolicyProvider, PolicyStatus } from './types.js';
import type { SessionStoreKind } from '../types.js';

export interface FileSourceOptions {
  file: string;
  log: OpLogger;
  /**
   * Set when config.policy.signing_key is: the policy must come with `<file>.sig`, an envelope for profile "*" (a
   * file governs every profile) by this key, with a serial no lower than the highest accepted for this file.
   */
  signingKey?: string | null;
  kms?: () => Promise<KMSClient>;
  serials?: SerialState;
  debounceMs?: number;
  /** The daemon's session store: a policy with rate_limits is refused with `memory`. */
  sessionStore?: SessionStoreKind;
  /** Watch the directory for changes (default true). */
  watch?: boolean;
  /** After KMS failed to give the signing key, the next try comes after this (default FIRST_LOAD_RETRY_MS). */
  keyRetryMs?: number;
}

interface InForce {
  ready: ReadyPolicy;
  version: string;
  loadedAt: string;
}

export function createFilePolicySource(options: FileSourceOptions): PolicyProvider {
  const { file, log } = options;
  const source = `file:${file}`;
  const debounceMs = options.debounceMs ?? 200;
  const cache = new CompiledPolicyCache(8, { sessionStore: options.sessionStore });
  let current: InForce | null = null;
  let lastError: string | null = null;
  let watcher: FSWatcher | null = null;
  let debounce: NodeJS.Timeout | null = null;
  let keyRetry: NodeJS.Timeout | null = null;
  let keyUnavailable = false;
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;
  // close() ends a KMS key fetch in flight rather than waiting out a KMS that does not answer.
  const stop = new AbortController();

  const status = (): PolicyStatus => ({
    source: 'file',
    location: file,
    version: current?.version ?? null,
    loadedAt: current?.loadedAt ?? null,
    rules: current?.ready.compiled.rules ?? 0,
    lastError,
    warnings: current?.ready.warnings.map((w) => (w.line ? `line ${w.line}: ${w.message}` : w.message)) ?? [],
  });

  // The log gets where the problem is, never text from the policy; status() (the user's own view) gets the message.
  let lastRefusal: PolicyFileRefusal | null = null;
  const refuse = (message: string, fields: { reason: PolicyFileRefusal } & Record<string, unknown>) => {
    lastError = message;
    lastRefusal = fields.reason;
    log.warn(
      { policySource: source, policyVersion: current?.version ?? null, ...fields },
      current
        ? 'policy refused; keeping the last good policy'
        : 'policy refused; no policy in force, every request is denied',
    );
  };

  let verificationKey: VerificationKey | null = null;

  /** Why the file's bytes are not validly signed (the signature file, key, serial), or null when they are. */
  async function signatureRefusal(bytes: Uint8Array): Promise<string | null> {
    const sigFile = `${file}.sig`;
    const sig = await readPolicyFile(sigFile);
    if (!sig.ok) {
      return sig.missing
        ? `policy.signing_key is set, but there is no signature ${sigFile} (make one with \`sentinel policy sign "*" ${file} --key <key> -o ${sigFile}\`)`
        : sig.problem.message;
    }
    if (sig.bytes.length > MAX_ENVELOPE_BYTES) return `${sigFile} is too large for a signature`;
    try {
      if (!options.kms) throw Object.assign(new Error('no KMS client'), { name: 'NoKmsClient' });
      verificationKey ??= await fetchVerificationKey(await options.kms(), options.signingKey!, stop.signal);
    } catch (e) {
      keyUnavailable = true;
      const name = (e as { name?: unknown }).name;
      return `KMS GetPublicKey for the signing key failed (${typeof name === 'string' ? name.slice(0, 64) : 'error'}); trying again every ${Math.round((options.keyRetryMs ?? FIRST_LOAD_RETRY_MS) / 1000)} s`;
    }
    const check = checkSignature(bytes, sig.bytes.toString('utf8'), verificationKey, ALL_PROFILES);
    if (!check.ok) return `${sigFile}: ${check.problem}`;
    const { serial, policy_hash } = check.metadata;
    const stale = options.serials?.problem(`file:${file}`, serial, policy_hash);
    if (stale) return `${sigFile}: ${stale}`;
    try {
      options.serials?.accept(`file:${file}`, serial, policy_hash);
    } catch (e) {
      return (e as Error).message;
    }
    return null;
  }

  async function loadOnce(): Promise<PolicyStatus> {
    const unsafe = untrustedPolicyPath([file, ...(options.signingKey ? [`${file}.sig`] : [])]);
    if (unsafe) {
      refuse(unsafe, { reason: 'unsafe' });
      return status();
    }
    const read = await readPolicyFile(file);
    if (!read.ok) {
      refuse(read.problem.hint ? `${read.problem.message}. ${read.problem.hint}` : read.problem.message, {
        reason: read.missing ? 'missing' : 'unreadable',
      });
      return status();
    }
    const prepared = await cache.prepare(read.bytes);
    if (!prepared.ok) {
      const first = prepared.problems[0];
      refuse(summarize(prepared.problems, file), {
        reason: 'invalid',
        problems: prepared.problems.length,
        line: first?.line,
        column: first?.column,
        path: first?.path,
      });
      return status();
    }
    if (options.signingKey) {
      keyUnavailable = false;
      const why = await signatureRefusal(read.bytes);
      if (why) {
        refuse(why, { reason: keyUnavailable ? 'signing_key_unavailable' : 'signature' });
        // Nothing on disk changes when KMS comes back, so no watch event would load the policy then.
        if (keyUnavailable) retryKey();
        return status();
      }
    }
    lastError = null;
    lastRefusal = null;
    if (current?.ready.digest === prepared.digest) return status();
    current = { ready: prepared, version: fileVersion(prepared.digest), loadedAt: new Date().toISOString() };
    log.info(
      {
        policySource: source,
        policyVersion: current.version,
        rules: prepared.compiled.rules,
        warnings: prepared.warnings.length,
      },
      'policy loaded',
    );
    return status();
  }

  function reload(): Promise<PolicyStatus> {
    // Loads run one at a time, in order, so an older read never replaces a newer one.
    const next = chain.then(() => (closed ? status() : loadOnce()));
    chain = next.catch(() => undefined);
    ensureWatcher();
    return next;
  }

  function retryKey(): void {
    if (closed || keyRetry) return;
    keyRetry = setTimeout(() => {
      keyRetry = null;
      void reload();
    }, options.keyRetryMs ?? FIRST_LOAD_RETRY_MS);
    keyRetry.unref();
  }

  function ensureWatcher(): void {
    if (closed || watcher || options.watch === false) return;
    const name = basename(file);
    try {
      watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (changed !== null && changed !== name && changed !== `${name}.sig`) return;
        if (debounce) clearTimeout(debounce);
        debounce = setTimeout(() => {
          debounce = null;
          void reload();
        }, debounceMs);
        debounce.unref();
      });
      watcher.on('error', (e) => {
        log.warn(
          { policySource: source, code: (e as NodeJS.ErrnoException).code },
          'policy directory watch stopped; reload with SIGHUP',
        );
        watcher?.close();
        watcher = null;
      });
    } catch (e) {
      // No directory yet: the next reload (SIGHUP) tries again.
      log.debug({ policySource: source, code: (e as NodeJS.ErrnoException).code }, 'policy directory not watched');
    }
  }

  return {
    async start() {
      await reload();
    },
    decide(request: DecisionRequest): Decision {
      if (!current) {
        const denied = defaultDeny(
          { source, version: null },
          `no valid policy is loaded: ${lastError ?? 'not loaded yet'}`,
          'PolicyUnavailable',
        );
        if (lastRefusal) denied.unavailable = lastRefusal;
        return denied;
      }
      return current.ready.compiled.decide(request, { source, version: current.version });
    },
    policyFor: () => current?.ready.compiled.policy ?? null,
    documents: () => (current ? [current.ready.compiled.policy] : []),
    reload,
    status,
    async close() {
      closed = true;
      stop.abort();
      if (debounce) clearTimeout(debounce);
      debounce = null;
      if (keyRetry) clearTimeout(keyRetry);
      keyRetry = null;
      watcher?.close();
      watcher = null;
      await chain;
    },
  };
}

/**
 * DESIGN §5.4, as ssh checks its keys: the policy and its signature belong to the user or root and nobody else can write
 * them, nor any directory above them — otherwise another local user could grant herself prod, by rewriting the file or
 * by renaming a directory on the way and putting her own in its place. assertTrustedFile, the rule the AWS config files
 * are held to: symlinks are followed (dotfile managers link policies in), each checked where it lies. A path that is
 * not there is left to the read.
 */
function untrustedPolicyPath(paths: string[]): string | null {
  for (const path of paths) {
    try {
      statSync(path);
    } catch {
      continue;
    }
    try {
      assertTrustedFile(path);
    } catch (e) {
      const err = e as { message: string; hint?: string };
      return `refused: ${err.message}. ${err.hint ?? ''}`.trim();
    }
  }
  return null;
}
