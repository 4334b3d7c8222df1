// The requester's side of approvals (DESIGN §10, §3.3 `/v1/requests`), for a credential server (the local daemon
// today): the requester is the identity the server will serve for that profile, never a name from the request body.
// Notifications go out in the background after the record is written, and their outcome is recorded on it.
import { SentinelError } from '../errors.js';
import type { OpLogger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { PolicyProvider } from '../policy/types.js';
import type { RecordStore } from '../records/store.js';
import { REQUEST_INDEXES, type ApprovalRequest } from './record.js';
import { notifyRequest, recordNotificationStatus } from './notify.js';
import { cancelRequest, checkRequestId, createRequest, view, type Actor } from './service.js';
import { approvalEntryFor } from './entry.js';
import { whyNotHonoured } from './override.js';
import { callerIdentities } from '../identity/caller-identities.js';

export interface RequesterDeps {
  /** null with the memory session store: approvals need a table others can read. */
  store: RecordStore<ApprovalRequest> | null;
  policy: () => PolicyProvider;
  /** The identity served for a profile (GetCallerIdentity on its base credentials). */
  identify(profile: string): Promise<Actor>;
  /** Every profile name the server knows (to find the caller's identities for `mine`). */
  profiles(): Promise<string[]>;
  notifier: Notifier;
  log: OpLogger;
  now?: () => Date;
  /** As the override lookup has them: whether an approval is honoured is judged as that lookup judges it. */
  trustedSessionRoles?: readonly string[];
}

/** A request as its requester sees it; `not_honoured` says why an approved one grants nothing here. */
export type RequestView = ReturnType<typeof view> & { not_honoured?: string };

export interface RequesterApi {
  create(input: { profile: string; justification: unknown; duration?: unknown }): Promise<RequestView>;
  mine(): Promise<RequestView[]>;
  show(id: unknown): Promise<RequestView>;
  cancel(id: unknown): Promise<RequestView>;
  /** Deliveries still running (tests and shutdown wait for them). */
  idle(): Promise<void>;
}

export function createRequesterApi(deps: RequesterDeps): RequesterApi {
  const now = deps.now ?? (() => new Date());
  const inFlight = new Set<Promise<void>>();

  const store = (): RecordStore<ApprovalRequest> => {
    if (!deps.store) {
      throw new SentinelError(
        'BadRequest',
        'approvals need a shared table, and this daemon uses the memory session store',
        {
          hint: 'Set sessions.store: dynamodb (and requests.table) in config.yaml, create the table with `sentinel init approvals`, then restart the daemon.',
        },
      );
    }
    return deps.store;
  };

  const identities = () =>
    callerIdentities(
      () => deps.profiles(),
      (p) => deps.identify(p),
    );

  const background = (work: () => Promise<void>) => {
    const p = work()
      .catch((e) => deps.log.warn({ err: (e as Error)?.message }, 'approval notification status not recorded'))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const deliver = (
    event: 'request.created' | 'request.approved' | 'request.cancelled',
    request: ApprovalRequest,
    actor: string,
  ) => {
    const policy = deps.policy().policyFor?.(request.profile);
    const entry = policy ? approvalEntryFor(policy, request.profile) : null;
    if (!policy || !entry || !(entry.notify ?? []).length) return;
    background(async () => {
      const results = await notifyRequest(deps.notifier, policy, entry, event, actor, request, now());
      await recordNotificationStatus(store(), event, request, results);
    });
  };

  const seen = (r: ApprovalRequest): RequestView => {
    const v: RequestView = view(r, now());
    if (v.status !== 'approved') return v;
    const policy = deps.policy().policyFor?.(r.profile);
    const why = policy
      ? whyNotHonoured(r, policy, now(), deps.trustedSessionRoles)
      : `no valid policy is loaded for ${r.profile}`;
    return why ? { ...v, not_honoured: why } : v;
  };

  const ownedBy = async (id: unknown) => {
    const checked = checkRequestId(id);
    const r = await store().get(checked);
    const mine = r ? (await identities()).some((i) => i.arn === r.requester_arn) : false;
    if (!r || !mine) throw store().kind.unknown(checked);
    return r;
  };

  return {
    async create(input) {
      const s = store();
      const requester = await deps.identify(input.profile);
      const provider = deps.policy();
      const policy = provider.policyFor?.(input.profile);
      if (!policy) {
        throw new SentinelError('PolicyUnavailable', `no valid policy is loaded for ${input.profile}`);
      }
      const decideNow = (user: string, profile: string, time: Date) =>
        provider.decide({ user, profile, time, mode: 'server', sessionStore: 'dynamodb' });
      const { request } = await createRequest(s, policy, decideNow, { ...input, requester }, now());
      deliver('request.created', request, requester.arn);
      if (request.auto_approved) deliver('request.approved', request, 'sentinel');
      return seen(request);
    },
    async mine() {
      const s = store();
      const ids = await identities();
      const users = [...new Set(ids.map((i) => i.user))];
      const arns = new Set(ids.map((i) => i.arn));
      const found = (await Promise.all(users.map((u) => s.queryAll(REQUEST_INDEXES.requester, u)))).flat();
      return found
        .filter((r) => arns.has(r.requester_arn))
        .sort((a, b) => b.created_at.localeCompare(a.created_at))
        .map(seen);
    },
    async show(id) {
      return seen(await ownedBy(id));
    },
    async cancel(id) {
      const r = await ownedBy(id);
      const cancelled = await cancelRequest(store(), { arn: r.requester_arn, user: r.requester }, r.id, now);
      deliver('request.cancelled', cancelled, r.requester_arn);
      return view(cancelled, now());
    },
    async idle() {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
