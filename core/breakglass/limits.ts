// Race-proof break-glass limits (DESIGN §11): the invoker's lock (one active event per profile, and the cooldown) and
// the quota slots, each taken by a conditional write and given back if a later step of the invocation fails. What
// two daemons decide at the same moment is decided by DynamoDB's condition check, never by a count read earlier.
import { setTimeout as delay } from 'node:timers/promises';
import { formatDuration, parseDuration } from '../duration.js';
import { SentinelError } from '../errors.js';
import type { Condition } from '../records/condition.js';
import type { RateLimitEntry } from '../policy/rate-limits-section.js';
import {
  effectiveEventStatus,
  lockId,
  slotId,
  type BreakglassLock,
  type BreakglassStores,
  type QuotaSlot,
} from './record.js';

const iso = (ms: number) => new Date(ms).toISOString();
/** A lock or slot is kept a day past the moment it stops counting, then TTL may reap it. */
const KEEP_MS = 86_400_000;
/** How long a lock without its event counts as an invocation still under way: longer than one can run (the vendor's
 * Lambda timeout is 20 s; a daemon's DynamoDB calls end within seconds). */
export const LOCK_IN_FLIGHT_MS = 60_000;
/** Lost races on the lock before giving up with Conflict. */
const LOCK_ATTEMPTS = 5;
/** Reads of a quota's slots before giving up with Conflict: slots another invocation takes and gives back (refused by
 * a later quota) look free for a moment, and 20 racers on two daemons exhausted two rounds under load. */
const QUOTA_ROUNDS = 5;

function retryAfterSeconds(untilMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((untilMs - nowMs) / 1000));
}

function rateLimited(message: string, untilMs: number, nowMs: number): SentinelError {
  const seconds = retryAfterSeconds(untilMs, nowMs);
  return new SentinelError(
    'RateLimited',
    `${message}; it frees up at ${iso(untilMs)} (in ${formatDuration(seconds * 1000)})`,
    {
      retryAfter: seconds,
      hint: 'Break-glass is rate-limited by the rate_limits section of the policy; try again after that time, or ask a policy administrator.',
      details: { retry_after: seconds, frees_at: iso(untilMs) },
    },
  );
}

/** The longest cooldown among the entries in force (ms; 0 = none). */
export function cooldownMs(limits: readonly RateLimitEntry[]): number {
  return Math.max(0, ...limits.map((l) => (l.cooldown ? parseDuration(l.cooldown)! : 0)));
}

export interface Taken {
  /** Gives back what was taken (best effort is not enough: the caller awaits it and reports a failure). */
  release(): Promise<void>;
}

/**
 * Takes the invoker's lock for a new event: refused with Conflict when an event of theirs on the profile is still
 * active (naming it), with RateLimited while the cooldown of the previous one runs.
 */
export async function takeLock(
  stores: BreakglassStores,
  input: { invoker: string; profile: string; eventId: string; expiresAt: number; cooldownMs: number },
  now: Date,
): Promise<Taken> {
  const t = now.getTime();
  const id = lockId(input.invoker, input.profile);
  const cooldownUntil = t + input.cooldownMs;
  const mine: BreakglassLock = {
    id,
    updated_at: iso(t),
    event_id: input.eventId,
    active_until: iso(input.expiresAt),
    cooldown_until: iso(cooldownUntil),
    ttl: Math.floor((Math.max(input.expiresAt, cooldownUntil) + KEEP_MS) / 1000),
  };
  const free: Condition = {
    anyOf: [
      { notExists: true },
      {
        allOf: [
          { field: 'active_until', lessThan: iso(t) },
          { field: 'cooldown_until', lessThan: iso(t) },
        ],
      },
    ],
  };
  let condition: Condition = free;
  let previous: BreakglassLock | undefined;
  for (let attempt = 1; attempt <= LOCK_ATTEMPTS; attempt++) {
    if (await stores.locks.putIf(mine, condition)) {
      const before = previous;
      return {
        release: async () => {
          const back = before
            ? await stores.locks.putIf(before, { field: 'event_id', equals: input.eventId })
            : await stores.locks.deleteIf(id, { field: 'event_id', equals: input.eventId });
          if (!back) throw new SentinelError('Conflict', `break-glass lock ${id} changed before it was given back`);
        },
      };
    }
    const held = await stores.locks.get(id);
    if (!held) {
      condition = free;
      previous = undefined;
      continue;
    }
    if (Date.parse(held.active_until) > t) {
      const event = await stores.events.get(held.event_id);
      // No event behind a fresh lock: another invocation took it and has not written its event yet (it is taking its
      // quota slots). Taking the lock over would let both open an event; only a lock left behind by an invocation that
      // died before writing its event (older than any invocation can run) is taken over.
      if (!event && t - Date.parse(held.updated_at) < LOCK_IN_FLIGHT_MS) {
        throw new SentinelError(
          'Conflict',
          `another break-glass invocation of yours on ${input.profile} is under way (event ${held.event_id})`,
          {
            // Or one that failed and could not give the lock back: a minute after it was taken, it is taken over.
            hint: 'See it in a few seconds with `sentinel breakglass list --mine`; if no event of yours shows, invoke again (after at most a minute).',
            details: { id: held.event_id },
          },
        );
      }
      if (event && effectiveEventStatus(event, now) === 'active') {
        throw new SentinelError(
          'Conflict',
          `you already have an active break-glass event on ${input.profile}: ${event.id} (until ${event.expires_at})`,
          {
            hint: `Use it, or close it first with \`sentinel breakglass close ${event.id} --reason <text>\`.`,
            details: { id: event.id, status: 'active' },
          },
        );
      }
    }
    const cooldownEnd = Date.parse(held.cooldown_until);
    if (cooldownEnd > t)
      throw rateLimited(`the cooldown after your last break-glass on ${input.profile} runs`, cooldownEnd, t);
    // The previous event was closed early and its cooldown is over: take the lock over, if nobody else did meanwhile.
    condition = { field: 'updated_at', equals: held.updated_at };
    previous = held;
  }
  throw new SentinelError('Conflict', `break-glass lock ${id} kept changing`, {
    hint: 'Another invocation raced this one; run it again.',
  });
}

interface Quota {
  rule: string;
  scope: 'u' | 'p';
  who: string;
  max: number;
  windowMs: number;
  what: string;
}

/** Every quota of the entries in force for (invoker, profile). */
export function quotasFor(limits: readonly RateLimitEntry[], invoker: string, profile: string): Quota[] {
  const out: Quota[] = [];
  for (const l of limits) {
    if (!l.quota_window) continue;
    const windowMs = parseDuration(l.quota_window)!;
    const w = formatDuration(windowMs);
    if (l.max_per_user !== undefined)
      out.push({
        ...{ rule: l.name, scope: 'u', who: invoker, max: l.max_per_user, windowMs },
        what: `your quota of ${l.max_per_user} break-glass event${l.max_per_user === 1 ? '' : 's'} per ${w} (rate_limits "${l.name}") is used up`,
      });
    if (l.max_per_profile !== undefined)
      out.push({
        ...{ rule: l.name, scope: 'p', who: profile, max: l.max_per_profile, windowMs },
        what: `the quota of ${l.max_per_profile} break-glass event${l.max_per_profile === 1 ? '' : 's'} on ${profile} per ${w} (rate_limits "${l.name}") is used up`,
      });
  }
  return out;
}

async function takeOne(stores: BreakglassStores, q: Quota, eventId: string, now: Date): Promise<QuotaSlot> {
  const t = now.getTime();
  const ids = Array.from({ length: q.max }, (_, n) => slotId(q.rule, q.scope, q.who, n));
  const stamp = iso(t);
  const free = (s: QuotaSlot | undefined) => s === undefined || s.freed_at < stamp;
  for (let round = 0; round < QUOTA_ROUNDS; round++) {
    // A racer that took a slot and was then refused by another quota gives it back: wait for the churn to settle.
    if (round > 0) await delay(5 + Math.random() * 20);
    // One consistent read says which slots look free; the conditional write on each decides.
    const current = await stores.slots.getMany(ids);
    for (const id of ids) {
      if (!free(current.get(id))) continue;
      const slot: QuotaSlot = {
        id,
        updated_at: stamp,
        event_id: eventId,
        taken_at: stamp,
        freed_at: iso(t + q.windowMs),
        ttl: Math.floor((t + q.windowMs + KEEP_MS) / 1000),
      };
      if (await stores.slots.putIf(slot, { anyOf: [{ notExists: true }, { field: 'freed_at', lessThan: stamp }] }))
        return slot;
    }
    const after = await stores.slots.getMany(ids);
    if (ids.every((id) => !free(after.get(id)))) {
      const earliest = Math.min(...ids.map((id) => Date.parse(after.get(id)!.freed_at)));
      throw rateLimited(q.what, earliest, t);
    }
  }
  throw new SentinelError('Conflict', 'break-glass quota slots kept changing', {
    hint: 'Other invocations raced this one; run it again.',
  });
}

async function giveBack(stores: BreakglassStores, slot: QuotaSlot, now: Date): Promise<void> {
  // Freed a millisecond ago, so the next taker's `freed_at < :now` holds at once.
  const back = { ...slot, updated_at: iso(now.getTime()), freed_at: iso(now.getTime() - 1) };
  const mine: Condition = { field: 'event_id', equals: slot.event_id };
  await stores.slots.putIf(back, mine);
}

/** Takes one slot of every quota, or none: a refusal gives back what was taken before it. */
export async function takeSlots(
  stores: BreakglassStores,
  quotas: readonly Quota[],
  eventId: string,
  now: () => Date,
): Promise<Taken & { slots: QuotaSlot[] }> {
  const slots: QuotaSlot[] = [];
  const release = async () => {
    await Promise.all(slots.map((s) => giveBack(stores, s, now())));
  };
  try {
    for (const q of quotas) slots.push(await takeOne(stores, q, eventId, now()));
  } catch (e) {
    await release();
    throw e;
  }
  return { slots, release };
}
