// Policies in SSM Parameter Store (DESIGN §5.4): the policy for profile P is the parameter `<ssm_root>/P`. All of
// them are listed at start and every refresh interval (jittered), never per request. A refresh that fails (throttling,
// network, KMS) changes nothing; a parameter that does not validate, or is not validly signed when a signing key is
// configured, keeps that profile's last good policy. A parameter that is gone is a policy that is gone.
import { createHash } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SessionStoreKind } from '../types.js';
import type { Parameter, SSMClient } from '@aws-sdk/client-ssm';
import type { OpLogger } from '../log.js';
import { SentinelError } from '../errors.js';
import { CompiledPolicyCache, summarize, type ReadyPolicy } from './compiled-cache.js';
import { defaultDeny } from './evaluate.js';
import type { SerialState } from './serial-state.js';
import { SIGNATURE_ROOT, checkSignature, fetchVerificationKey, type VerificationKey } from './signature.js';
import type { Decision, DecisionRequest, PolicyProvider, PolicyStatus } from './types.js';

export interface SsmSourceOptions {
  /** config.policy.ssmRoot: no trailing slash, or "/". */
  root: string;
  refreshMs: number;
  log: OpLogger;
  ssm: () => Promise<SSMClient>;
  signingKey: string | null;
  kms?: () => Promise<KMSClient>;
  /** The highest accepted signature serial per parameter (replay protection); required with a signing key. */
  serials?: SerialState;
  /** The daemon's session store: a policy with rate_limits is refused with `memory`. */
  sessionStore?: SessionStoreKind;
  /** How long start() waits for the first listing; without it, until the listing ends (three bounded attempts). */
  startWaitMs?: number;
  /** Until a first listing succeeds, the next try comes after this, not after a whole refresh interval. */
  firstLoadRetryMs?: number;
}

/** A daemon started while SSM or KMS cannot be reached (a laptop at login, before the network) denies every request
 * until a listing succeeds: it tries again this soon, rather than at the next refresh (5 minutes by default). */
export const FIRST_LOAD_RETRY_MS = 30_000;

interface Entry {
  name: string;
  version: string;
  ready: ReadyPolicy;
  loadedAt: string;
}

const MAX_PAGES = 1000;

/** The AWS error name (a code such as ThrottlingException), never the message, which may quote request data. */
/** Why a call failed, for lastError: Sentinel's own refusal to make the client (AWS files the SDK would misread, named
 * in its message) as it is; an AWS error by its code. */
function callFailed(call: string, e: unknown): string {
  return e instanceof SentinelError ? `${call} was not made: ${e.message}` : `${call} failed (${awsCode(e)})`;
}

function awsCode(e: unknown): string {
  const name = (e as { name?: unknown })?.name;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(name) ? name : 'error';
}

export function createSsmPolicySource(options: SsmSourceOptions): PolicyProvider {
  const { root, log } = options;
  const prefix = root === '/' ? '/' : `${root}/`;
  const paramName = (profile: string) => `${prefix}${profile}`;
  const cache = new CompiledPolicyCache(1024, { sessionStore: options.sessionStore });
  const entries = new Map<string, Entry>();
  /** Profiles whose current parameter was refused, and why (their last good policy, if any, stays in force). */
  const refused = new Map<string, string>();
  let listedOnce = false;
  let lastError: string | null = null;
  /** The call a refresh is waiting on, so a start that stops waiting names the service that is silent. */
  let waitingOn = `SSM has not answered GetParametersByPath on ${root}`;
  let verificationKey: VerificationKey | null = null;
  let timer: NodeJS.Timeout | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  let closed = false;
  // close() ends a listing or key fetch in flight rather than waiting it out (an SSM or KMS that does not answer holds
  // it to its budget).
  const stop = new AbortController();

  async function listAll(path: string): Promise<Parameter[]> {
    const { GetParametersByPathCommand } = await import('@aws-sdk/client-ssm');
    const client = await options.ssm();
    const out: Parameter[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new GetParametersByPathCommand({
          Path: path,
          Recursive: true,
          WithDecryption: true,
          MaxResults: 10,
          NextToken: token,
        }),
        { abortSignal: stop.signal },
      );
      out.push(...(page.Parameters ?? []));
      token = page.NextToken;
      if (++pages > MAX_PAGES) throw new Error('too many pages');
    } while (token);
    return out;
  }

  const snapshotVersion = (): string | null => {
    if (entries.size === 0) return null;
    const h = createHash('sha256');
    for (const name of [...entries.keys()].sort()) h.update(`${name}=${entries.get(name)!.version}\n`);
    return h.digest('hex').slice(0, 12);
  };

  const status = (): PolicyStatus => {
    let rules = 0;
    const warnings: string[] = [];
    let loadedAt: string | null = null;
    for (const e of entries.values()) {
      rules += e.ready.compiled.rules;
      for (const w of e.ready.warnings) warnings.push(`${e.name}${w.line ? `:${w.line}` : ''}: ${w.message}`);
      if (!loadedAt || e.loadedAt > loadedAt) loadedAt = e.loadedAt;
    }
    return { source: 'ssm', location: root, version: snapshotVersion(), loadedAt, rules, lastError, warnings };
  };

  const failRefresh = (message: string, fields: Record<string, unknown>) => {
    const kept = entries.size > 0 ? 'keeping the last good policies' : 'no policy has loaded yet';
    lastError = `${message}; ${kept}`;
    log.warn({ policySource: `ssm:${root}`, ...fields }, `policy refresh failed; ${kept}`);
  };

  async function refreshOnce(): Promise<PolicyStatus> {
    let params: Parameter[];
    try {
      waitingOn = `SSM has not answered GetParametersByPath on ${root}`;
      params = await listAll(root);
    } catch (e) {
      failRefresh(callFailed(`SSM GetParametersByPath on ${root}`, e), { code: awsCode(e) });
      return status();
    }
    let signatures: Map<string, string> | null = null;
    if (options.signingKey) {
      try {
        if (!options.kms) throw Object.assign(new Error('no KMS client'), { name: 'NoKmsClient' });
        waitingOn = `KMS has not answered GetPublicKey for the signing key ${options.signingKey}`;
        verificationKey ??= await fetchVerificationKey(await options.kms(), options.signingKey, stop.signal);
      } catch (e) {
        failRefresh(callFailed('KMS GetPublicKey for the signing key', e), { code: awsCode(e) });
        return status();
      }
      try {
        signatures = new Map();
        waitingOn = `SSM has not answered GetParametersByPath on ${SIGNATURE_ROOT}`;
        for (const p of await listAll(SIGNATURE_ROOT)) {
          if (p.Name && p.Value !== undefined) signatures.set(p.Name.slice(SIGNATURE_ROOT.length + 1), p.Value);
        }
      } catch (e) {
        failRefresh(callFailed(`SSM GetParametersByPath on ${SIGNATURE_ROOT}`, e), { code: awsCode(e) });
        return status();
      }
    }

    const problems: string[] = [];
    const seen = new Set<string>();
    for (const p of params) {
      if (!p.Name || !p.Name.startsWith(prefix) || p.Name.length === prefix.length) continue;
      const profile = p.Name.slice(prefix.length);
      seen.add(profile);
      const version = `v${p.Version ?? 0}`;
      const bytes = Buffer.from(p.Value ?? '', 'utf8');
      const prepared = await cache.prepare(bytes);
      const existing = entries.get(profile);
      if (existing && existing.version === version && existing.ready.digest === prepared.digest) {
        refused.delete(profile);
        continue;
      }
      const refuse = (message: string, fields: Record<string, unknown>) => {
        refused.set(profile, message);
        problems.push(message);
        log.warn(
          { policySource: `ssm:${p.Name}`, policyVersion: version, ...fields },
          existing
            ? 'policy refused; keeping the last good policy'
            : 'policy refused; requests for this profile are denied',
        );
      };
      if (!prepared.ok) {
        const first = prepared.problems[0];
        refuse(summarize(prepared.problems, `${p.Name} (${version})`), {
          reason: 'invalid',
          problems: prepared.problems.length,
          line: first?.line,
          column: first?.column,
        });
        continue;
      }
      let accepted: { serial: number; policy_hash: string } | undefined;
      if (signatures) {
        const check = checkSignature(bytes, signatures.get(profile), verificationKey!, profile);
        const why = check.ok
          ? (options.serials?.problem(`ssm:${p.Name}`, check.metadata.serial, check.metadata.policy_hash) ?? null)
          : check.problem;
        if (why || !check.ok) {
          refuse(`${p.Name} (${version}): ${why}`, { reason: 'signature' });
          continue;
        }
        accepted = check.metadata;
      }
      if (accepted) {
        try {
          options.serials?.accept(`ssm:${p.Name}`, accepted.serial, accepted.policy_hash);
        } catch (e) {
          refuse(`${p.Name} (${version}): ${(e as Error).message}`, { reason: 'serial_state' });
          continue;
        }
      }
      entries.set(profile, { name: p.Name, version, ready: prepared, loadedAt: new Date().toISOString() });
      refused.delete(profile);
      log.info(
        {
          policySource: `ssm:${p.Name}`,
          policyVersion: version,
          rules: prepared.compiled.rules,
          warnings: prepared.warnings.length,
        },
        'policy loaded',
      );
    }
    for (const profile of [...entries.keys()]) {
      if (seen.has(profile)) continue;
      log.info(
        { policySource: `ssm:${entries.get(profile)!.name}` },
        'policy parameter removed; requests for this profile are denied',
      );
      entries.delete(profile);
    }
    for (const profile of [...refused.keys()]) if (!seen.has(profile)) refused.delete(profile);
    listedOnce = true;
    lastError = problems.length > 0 ? problems.join('; ') : null;
    return status();
  }

  function schedule(): void {
    if (closed || options.refreshMs <= 0) return;
    const interval = listedOnce
      ? options.refreshMs
      : Math.min(options.refreshMs, options.firstLoadRetryMs ?? FIRST_LOAD_RETRY_MS);
    // ±10% so that a fleet of daemons started together does not refresh in lockstep.
    const delay = Math.round(interval * (0.9 + Math.random() * 0.2));
    timer = setTimeout(() => {
      timer = null;
      void reload().finally(schedule);
    }, delay);
    timer.unref();
  }

  function reload(): Promise<PolicyStatus> {
    const next = chain.then(() => (closed ? status() : refreshOnce()));
    chain = next.catch(() => undefined);
    return next;
  }

  return {
    async start() {
      const first = reload().finally(schedule);
      if (options.startWaitMs === undefined) {
        await first;
        return;
      }
      // A daemon's start does not wait on an SSM that is slow to answer, or never does: it goes on denying every
      // request (PolicyUnavailable, saying why) until the listing lands, as after a failed one.
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        first.then(
          () => true,
          () => true,
        ),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), options.startWaitMs))),
      ]);
      clearTimeout(timer);
      if (!answered && !listedOnce && lastError === null) {
        lastError = `${waitingOn} within ${options.startWaitMs / 1000} s; still trying`;
        log.warn(
          { policySource: `ssm:${root}`, waiting_on: waitingOn },
          'no answer yet; every request is denied until one',
        );
      }
    },
    policyFor: (profile: string) => entries.get(profile)?.ready.compiled.policy ?? null,
    documents: () => [...entries.values()].map((e) => e.ready.compiled.policy),
    decide(request: DecisionRequest): Decision {
      const profile = typeof request?.profile === 'string' ? request.profile : '';
      const name = paramName(profile);
      const entry = entries.get(profile);
      if (entry) return entry.ready.compiled.decide(request, { source: `ssm:${entry.name}`, version: entry.version });
      if (!listedOnce) {
        return defaultDeny(
          { source: `ssm:${name}`, version: null },
          `no valid policy is loaded: ${lastError ?? 'not loaded yet'}`,
          'PolicyUnavailable',
        );
      }
      const why = refused.get(profile);
      if (why) {
        return defaultDeny(
          { source: `ssm:${name}`, version: null },
          `no valid policy is loaded: ${why}`,
          'PolicyUnavailable',
        );
      }
      return defaultDeny(
        { source: `ssm:${name}`, version: null },
        `no policy for profile "${profile}": SSM parameter ${name} does not exist`,
      );
    },
    reload,
    status,
    async close() {
      closed = true;
      stop.abort();
      if (timer) clearTimeout(timer);
      timer = null;
      await chain;
    },
  };
}
