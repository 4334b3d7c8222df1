// Break-glass (DESIGN §11): invoking, reading and closing events, for any credential server (the local daemon today,
// the server-side vendor later). The invoker is the identity the server serves for the profile, never a name from the
// request. `invoke` runs in §11's order — profile → identity → breakglass entry (user, reason code, time, duration)
// → MFA → lock (one active event, cooldown) → quota slots → create — and gives back what it took when a later step
// fails. Notifications go out in the background once the event is written; their outcome is recorded on it.
import { randomBytes } from 'node:crypto';
import { formatDuration, parseDuration } from '../duration.js';
import { SentinelError } from '../errors.js';
import type { OpLogger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import { announcing, writeOutcome } from '../notify/record-status.js';
import { notificationStatus } from '../notify/types.js';
import { approvalEntryFor, isApprover } from '../approvals/entry.js';
import type { Actor } from '../approvals/service.js';
import { checkText } from '../text/one-line.js';
import {
  MAX_BREAKGLASS_DURATION_MS,
  REASON_CODES,
  breakglassMaxDurationMs,
  matchBreakglass,
  type BreakglassEntry,
} from '../policy/breakglass-section.js';
import { rateLimitsFor } from '../policy/rate-limits-section.js';
import type { Policy } from '../policy/schema.js';
import type { PolicyProvider } from '../policy/types.js';
import { cooldownMs, quotasFor, takeLock, takeSlots, type Taken } from './limits.js';
import type { MfaSessions } from './mfa.js';
import { callerIdentities } from '../identity/caller-identities.js';
import { isHex16 } from '../text/hex-id.js';
import { breakglassTestHint } from '../policy/test-hint.js';
import {
  EVENT_HISTORY_MS,
  EVENT_INDEXES,
  effectiveEventStatus,
  eventView,
  type BreakglassEvent,
  type BreakglassStores,
  type EventView,
} from './record.js';

export const JUSTIFICATION_MIN = 20;
export const JUSTIFICATION_MAX = 1000;
export const CLOSE_REASON_MAX = 1024;
export const DEFAULT_EVENT_MS = 3_600_000;
const MFA_CODE = /^\d{6}$/;

export interface BreakglassDeps {
  /** null without a shared table (the memory session store): break-glass that nobody else can review is none. */
  stores: BreakglassStores | null;
  policy: () => PolicyProvider;
  /** Throws ProfileUnknown for a profile the server does not know. */
  profileExists(profile: string): Promise<void>;
  /** The identity served for a profile (GetCallerIdentity on its base credentials; the vendor: the API caller). */
  identify(profile: string): Promise<Actor>;
  /** Every profile name the server knows (to find the caller's identities for `mine`). */
  profiles(): Promise<string[]>;
  /** Absent: no MFA sessions here, so an entry with `mfa: required` answers MfaRequired. */
  mfa?: MfaSessions;
  notifier: Notifier;
  log: OpLogger;
  trustedSessionRoles?: readonly string[];
  now?: () => Date;
}

export interface InvokeInput {
  profile: string;
  reason_code: unknown;
  justification: unknown;
  /** Seconds; default min(1h, the entry's max_duration). */
  duration?: unknown;
  mfa_code?: unknown;
}

/** What an invocation would do, answered before acting (the CLI shows it and asks for an MFA code when needed). */
export interface InvokePreview {
  profile: string;
  entry: string;
  duration: number;
  mfa: 'required' | 'none';
  /** Whether this server already holds a verified MFA session for the profile (no code needed then). */
  mfa_session: boolean;
  notify: string[];
  rate_limits: string[];
}

export interface ListFilter {
  mine?: boolean;
  status?: string;
  profile?: string;
  limit?: number;
}

export interface BreakglassService {
  preview(input: InvokeInput): Promise<InvokePreview>;
  invoke(input: InvokeInput): Promise<EventView>;
  list(filter: ListFilter): Promise<EventView[]>;
  show(id: unknown): Promise<EventView>;
  close(id: unknown, reason: unknown): Promise<EventView>;
  /** Deliveries still running (tests and shutdown wait for them). */
  idle(): Promise<void>;
}

export function checkEventId(id: unknown): string {
  if (!isHex16(id)) {
    throw new SentinelError('BadRequest', 'not a valid break-glass event id (16 lowercase hex characters)', {
      hint: 'List events with `sentinel breakglass list`.',
    });
  }
  return id;
}

function refused(
  check: string,
  reason: string,
  about: { provider: PolicyProvider; profile: string; user: string },
): SentinelError {
  return new SentinelError('BreakGlassRefused', `break-glass refused (${check}): ${reason}`, {
    details: { check },
    hint: breakglassTestHint(policySourceOf(about.provider), about.profile, about.user),
  });
}

/** The policy in force as `file:<path>` or `ssm:<path>`, for the hint; undefined when the provider cannot say. */
function policySourceOf(provider: PolicyProvider): string | undefined {
  if (typeof provider.status !== 'function') return undefined;
  const status = provider.status();
  return status.source === 'file' || status.source === 'ssm' ? `${status.source}:${status.location}` : undefined;
}

/** The duration asked for, in seconds: > 0, at most 4 h; the entry's own limit is checked with the entry. */
function durationSeconds(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new SentinelError('BadRequest', 'the duration must be a whole number of seconds greater than 0');
  }
  if (value * 1000 > MAX_BREAKGLASS_DURATION_MS) {
    throw new SentinelError(
      'BadRequest',
      `the duration ${formatDuration(value * 1000)} is over the 4h limit of break-glass`,
      {
        hint: 'Ask for at most 4h (--for); the breakglass entry may allow less.',
      },
    );
  }
  return value;
}

function reasonCode(value: unknown): string {
  if (typeof value !== 'string' || !(REASON_CODES as readonly string[]).includes(value)) {
    throw new SentinelError('BadRequest', `the reason code must be one of ${REASON_CODES.join(', ')}`, {
      hint: 'Pass --reason-code incident (or another code the breakglass entry allows).',
    });
  }
  return value;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The targets an event's entry notifies under `provider`'s policy for its profile (none when either is gone). */
export function breakglassNotifyTargets(
  provider: Pick<PolicyProvider, 'policyFor'>,
  event: { profile: string; rule: string },
): readonly string[] {
  return provider.policyFor?.(event.profile)?.breakglass?.find((e) => e.name === event.rule)?.notify ?? [];
}

export function createBreakglassService(deps: BreakglassDeps): BreakglassService {
  const now = deps.now ?? (() => new Date());
  const inFlight = new Set<Promise<void>>();

  const stores = (): BreakglassStores => {
    if (!deps.stores) {
      throw new SentinelError(
        'BadRequest',
        'break-glass needs a shared table, and this daemon uses the memory session store',
        {
          hint: 'Set sessions.store: dynamodb (and breakglass.table) in config.yaml, create the table with `sentinel init breakglass`, then restart the daemon.',
        },
      );
    }
    return deps.stores;
  };

  const policyFor = (profile: string): Policy => {
    const policy = deps.policy().policyFor?.(profile);
    if (!policy) throw new SentinelError('PolicyUnavailable', `no valid policy is loaded for ${profile}`);
    return policy;
  };

  /** Everything up to MFA: input, profile, identity, the matching entry. Nothing is written. */
  const checked = async (input: InvokeInput) => {
    const s = stores();
    const code = reasonCode(input.reason_code);
    const justification = checkText(input.justification, 'the justification', JUSTIFICATION_MIN, JUSTIFICATION_MAX);
    const asked = durationSeconds(input.duration);
    if (input.mfa_code !== undefined && (typeof input.mfa_code !== 'string' || !MFA_CODE.test(input.mfa_code))) {
      throw new SentinelError('BadRequest', 'the MFA code must be 6 digits');
    }
    await deps.profileExists(input.profile);
    const invoker = await deps.identify(input.profile);
    const policy = policyFor(input.profile);
    const at = now();
    const first = matchBreakglass(policy, { user: invoker.user, profile: input.profile, now: at, reasonCode: code });
    const about = { provider: deps.policy(), profile: input.profile, user: invoker.user };
    if (!first.ok) throw refused(first.check, first.reason, about);
    const seconds = asked ?? Math.min(DEFAULT_EVENT_MS, breakglassMaxDurationMs(first.entry)) / 1000;
    const match = matchBreakglass(policy, {
      ...{ user: invoker.user, profile: input.profile, now: at, reasonCode: code },
      durationMs: seconds * 1000,
    });
    if (!match.ok) throw refused(match.check, match.reason, about);
    return { s, code, justification, seconds, invoker, policy, entry: match.entry };
  };

  const mfaStep = async (entry: BreakglassEntry, profile: string, code: unknown): Promise<boolean> => {
    if (entry.mfa !== 'required') return false;
    if (!deps.mfa) {
      throw new SentinelError(
        'MfaRequired',
        `breakglass entry "${entry.name}" requires MFA, and this server cannot verify MFA codes`,
      );
    }
    if (typeof code === 'string') {
      await deps.mfa.verify(profile, code, now());
      return true;
    }
    if (deps.mfa.holds(profile, now())) return true;
    await deps.mfa.assertVerifiable?.(profile);
    throw new SentinelError(
      'MfaRequired',
      `breakglass entry "${entry.name}" requires a one-time MFA code for ${profile}`,
    );
  };

  const background = (work: () => Promise<void>) => {
    const p = work()
      .catch((e) => deps.log.warn({ err: (e as Error)?.message }, 'break-glass notification status not recorded'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const announce = (type: 'breakglass.invoked' | 'breakglass.closed', event: BreakglassEvent, actor: string) => {
    const policy = deps.policy().policyFor?.(event.profile);
    const entry = policy?.breakglass?.find((e) => e.name === event.rule);
    const targets = entry?.notify ?? [];
    if (!policy || targets.length === 0) return;
    background(async () => {
      const results = await deps.notifier.notify(targets, policy.notifications ?? [], {
        type,
        actor,
        breakglass: eventView(event, now()),
      });
      if (results.length === 0) return;
      // Only while the record still names this event: an invocation's delivery that ends after the close (a slow
      // receiver, retries) must not replace the close's outcome with its own.
      await writeOutcome(stores().events, event.id, notificationStatus(results), { event: type, status: event.status });
    });
  };

  const escalated = async (s: BreakglassStores, policy: Policy, invoker: string, profile: string, at: number) => {
    const limits = rateLimitsFor(policy, profile).filter((l) => l.escalation_threshold !== undefined);
    if (limits.length === 0) return false;
    const { records: mine, skipped } = await s.events.queryAllCounted(EVENT_INDEXES.invoker, invoker);
    return limits.some((l) => {
      const from = iso(at - parseDuration(l.quota_window!)!);
      const inScope = (p: string) => !l.profiles?.length || l.profiles.includes(p);
      // A malformed item naming the invoker counts as an event in the window: it may be one, and escalating only
      // adds scrutiny (skipping it could hide an escalation).
      const count = mine.filter((e) => e.created_at >= from && inScope(e.profile)).length + skipped + 1;
      return count >= l.escalation_threshold!;
    });
  };

  const identities = () =>
    callerIdentities(
      () => deps.profiles(),
      (p) => deps.identify(p),
    );

  const read = async (id: unknown): Promise<BreakglassEvent> => {
    const checkedId = checkEventId(id);
    const e = await stores().events.get(checkedId);
    if (!e) throw stores().events.kind.unknown(checkedId);
    return e;
  };

  return {
    async preview(input) {
      const { seconds, entry, invoker, policy } = await checked(input);
      void invoker;
      return {
        profile: input.profile,
        entry: entry.name,
        duration: seconds,
        mfa: entry.mfa ?? 'none',
        mfa_session: entry.mfa === 'required' && deps.mfa !== undefined && deps.mfa.holds(input.profile, now()),
        notify: [...(entry.notify ?? [])],
        rate_limits: rateLimitsFor(policy, input.profile).map((l) => l.name),
      };
    },

    async invoke(input) {
      const { s, code, justification, seconds, invoker, policy, entry } = await checked(input);
      const mfaVerified = await mfaStep(entry, input.profile, input.mfa_code);
      const at = now().getTime();
      const expiresAt = at + seconds * 1000;
      const id = randomBytes(8).toString('hex');
      const limits = rateLimitsFor(policy, input.profile);
      const taken: Taken[] = [];
      let event: BreakglassEvent;
      try {
        taken.push(
          await takeLock(
            s,
            { invoker: invoker.user, profile: input.profile, eventId: id, expiresAt, cooldownMs: cooldownMs(limits) },
            new Date(at),
          ),
        );
        taken.push(await takeSlots(s, quotasFor(limits, invoker.user, input.profile), id, now));
        event = await s.events.create({
          id,
          invoker: invoker.user,
          invoker_arn: invoker.arn,
          profile: input.profile,
          reason_code: code,
          justification,
          status: 'active',
          rule: entry.name,
          mfa_verified: mfaVerified,
          escalated: await escalated(s, policy, invoker.user, input.profile, at),
          notification_event: 'breakglass.invoked',
          created_at: iso(at),
          updated_at: iso(at),
          expires_at: iso(expiresAt),
          ttl: Math.floor((expiresAt + EVENT_HISTORY_MS) / 1000),
        });
      } catch (e) {
        // Give back in reverse; a failure to give back is logged, and the original refusal is what the caller needs.
        for (const t of taken.reverse()) {
          await t
            .release()
            .catch((err) =>
              deps.log.warn({ err: (err as Error)?.message, event_id: id }, 'break-glass limit not given back'),
            );
        }
        throw e;
      }
      deps.log.warn(
        { event: 'breakglass_invoked', id, user: invoker.user, profile: input.profile, escalated: event.escalated },
        'break-glass invoked',
      );
      announce('breakglass.invoked', event, invoker.arn);
      return eventView(event, now());
    },

    async list(filter) {
      const s = stores();
      let found: BreakglassEvent[];
      if (filter.mine) {
        const ids = await identities();
        const arns = new Set(ids.map((i) => i.arn));
        const users = [...new Set(ids.map((i) => i.user))];
        found = (await Promise.all(users.map((u) => s.events.queryAll(EVENT_INDEXES.invoker, u))))
          .flat()
          .filter((e) => arns.has(e.invoker_arn));
      } else if (filter.profile !== undefined) {
        found = await s.events.queryAll(EVENT_INDEXES.profile, filter.profile);
      } else {
        const [active, closed] = await Promise.all([
          s.events.queryAll(EVENT_INDEXES.status, 'active'),
          s.events.queryAll(EVENT_INDEXES.status, 'closed'),
        ]);
        found = [...active, ...closed];
      }
      const at = now();
      return found
        .map((e) => eventView(e, at))
        .filter((e) => filter.status === undefined || e.status === filter.status)
        .filter((e) => filter.profile === undefined || e.profile === filter.profile)
        .sort((a, b) => b.created_at.localeCompare(a.created_at))
        .slice(0, filter.limit ?? 100);
    },

    async show(id) {
      return eventView(await read(id), now());
    },

    async close(id, reason) {
      const text = checkText(reason, 'the reason', 1, CLOSE_REASON_MAX);
      const first = await read(id);
      const actor = await deps.identify(first.profile);
      // The invoker under any identity the policy knows by their name may close: the lock and quotas that an open event
      // holds are that name's too. By that exact name, as the policy grants: "BOB" (a role of that name, say) is not
      // bob, and closing takes an emergency responder's access away.
      if (actor.arn !== first.invoker_arn && actor.user !== first.invoker) {
        const entry = approvalEntryFor(policyFor(first.profile), first.profile);
        if (!entry || !isApprover(entry, actor.arn, deps.trustedSessionRoles)) {
          throw new SentinelError(
            'NotApprover',
            `only the invoker or an approver of ${first.profile} may close break-glass event ${first.id}`,
            {
              hint: entry
                ? `Approvers are listed in approvals entry "${entry.name}" (docs/approvals.md); the invoker is ${first.invoker}.`
                : `No approvals entry covers ${first.profile}, so only its invoker, ${first.invoker}, may close it.`,
            },
          );
        }
      }
      const closed = await stores().events.update(first.id, (current) => {
        const status = effectiveEventStatus(current, now());
        if (status !== 'active') {
          throw new SentinelError('Conflict', `break-glass event ${current.id} is ${status}, so it cannot be closed`, {
            hint: `Show it with \`sentinel breakglass show ${current.id}\`.`,
            details: { id: current.id, status },
          });
        }
        return {
          ...announcing('breakglass.closed'),
          status: 'closed' as const,
          closed_by: actor.user,
          closed_by_arn: actor.arn,
          closed_reason: text,
          closed_at: now().toISOString(),
        };
      });
      deps.log.warn({ event: 'breakglass_closed', id: closed.id, by: actor.user }, 'break-glass closed');
      announce('breakglass.closed', closed, actor.arn);
      return eventView(closed, now());
    },

    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
