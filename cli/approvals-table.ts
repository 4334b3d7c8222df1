// The approver's side of approvals (DESIGN §10): `approve`, `deny`, `requests revoke` and table listings run with the
// approver's own AWS identity (sts:GetCallerIdentity, never a typed name) straight against the requests table, and
// check the approver against the policy of the request's profile from the configured source (file, or SSM with
// signatures when signing_key is set; unavailable → refused). Notifications are delivered before the command exits,
// bounded to 20 s, with a warning when they fail. Loaded lazily: it pulls in the AWS SDK.
import { SentinelError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import type { Policy } from '../core/policy/schema.js';
import { REQUEST_INDEXES, REQUEST_KIND, REQUEST_TABLE, type ApprovalRequest } from '../core/approvals/record.js';
import { decideRequest, revokeRequest, view, type Outcome } from '../core/approvals/service.js';
import { notifyRequest, recordNotificationStatus } from '../core/approvals/notify.js';
import { createNotifier, unsettledStatus, within } from '../core/notify/notifier.js';
import { awsNotifierPorts } from '../core/notify/aws-ports.js';
import { writeStatusIf } from '../core/notify/record-status.js';
import { notificationStatus, type NotificationEvent } from '../core/notify/types.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { createTableClient } from '../core/records/client.js';
import { loadConfig } from '../core/config.js';
import { resolveAwsTarget } from './aws-target.js';
import type { GlobalOptions } from './program.js';
import type { TableFlags } from './table-flags.js';
import { assertTableKind, explainNotFound as explainNotFoundIn } from './table-kind.js';

/** DESIGN §12: a CLI that wrote the table itself finishes delivery before it exits, at most this long. */
export const CLI_NOTIFY_BOUND_MS = 20_000;

export interface ApproverContext {
  store: DynamoRecordStore<ApprovalRequest>;
  me: { arn: string; user: string };
  policyFor(profile: string): Promise<Policy>;
  close(): Promise<void>;
  /** Notifies the entry's targets and records the outcome; returns it (null when nothing was sent) and a warning line
   * (null unless it failed). */
  notify(event: NotificationEvent, outcome: Outcome): Promise<{ status: string | null; warning: string | null }>;
}

export async function approverContext(
  flags: TableFlags,
  globals: GlobalOptions,
  needIdentity = true,
): Promise<ApproverContext> {
  const config = loadConfig({ configFlag: globals.config });
  const target = await resolveAwsTarget(flags, globals);
  const store = new DynamoRecordStore(REQUEST_KIND, {
    client: createTableClient(target),
    table: flags.table ?? config.requests.table,
  });
  let me: { arn: string; user: string; trustedSessionRoles: readonly string[] } = {
    arn: '',
    user: '',
    trustedSessionRoles: config.identity.trustedSessionRoles,
  };
  if (needIdentity) {
    const { whoami } = await import('./whoami.js');
    const id = await whoami({ profile: target.profile, region: target.region }, globals);
    me = { ...me, arn: id.arn, user: id.policyName };
  }
  const { createPolicyProvider } = await import('../core/policy/provider.js');
  const provider = createPolicyProvider(config, { log: createLogger({ level: 'silent' }) });
  let started: Promise<void> | undefined;
  const ports = awsNotifierPorts(target);
  // The bound cuts webhook deliveries short, so what they came to is recorded before the command exits.
  const deadline = new AbortController();
  const notifier = createNotifier({ ...ports, webhook: { signal: deadline.signal } });
  const policyFor = async (profile: string): Promise<Policy> => {
    await (started ??= provider.start());
    const policy = provider.policyFor?.(profile) ?? null;
    if (!policy) {
      const why = provider.status().lastError;
      throw new SentinelError('PolicyUnavailable', `no valid policy for ${profile}${why ? `: ${why}` : ''}`, {
        hint: 'Approvers are checked against the policy in force; fix or publish it, then try again.',
      });
    }
    return policy;
  };
  return {
    store,
    me,
    policyFor,
    async notify(event, outcome) {
      const policy = await policyFor(outcome.request.profile);
      const targets = outcome.entry.notify ?? [];
      if (!targets.length) return { status: null, warning: null };
      const results = await within(
        notifyRequest(notifier, policy, outcome.entry, event, me.arn, outcome.request, new Date()),
        CLI_NOTIFY_BOUND_MS,
        deadline,
      );
      // Never leave the status of the event before this one on the record: it would say `delivered` for this one. The
      // outcome goes on while the request still names this event; the interim only onto the version the decision
      // wrote (an outcome recorded since stands).
      const status = results ? notificationStatus(results) : unsettledStatus(targets, CLI_NOTIFY_BOUND_MS);
      await (
        results
          ? recordNotificationStatus(store, event, outcome.request, results)
          : writeStatusIf(store, outcome.request.id, status, (c) => c.updated_at === outcome.request.updated_at)
      ).catch(() => {});
      return { status, warning: status.startsWith('failed') ? `notification ${status}` : null };
    },
    async close() {
      ports.destroy();
      await provider.close();
      await store.close();
    },
  };
}

/** The request as the command left it, with what its own event's notification came to (the record names the event). */
function answer(outcome: Outcome, status: string | null): ReturnType<typeof view> {
  const v = view(outcome.request, new Date());
  return status === null ? v : { ...v, notification_status: status };
}

export async function decide(
  ctx: ApproverContext,
  id: string,
  decision: 'approve' | 'deny',
  comment: string | undefined,
): Promise<{ request: ReturnType<typeof view>; warning: string | null }> {
  const outcome = await decideRequest(
    ctx.store,
    ctx.policyFor,
    { approver: ctx.me, id, decision, ...(comment !== undefined ? { comment } : {}) },
    () => new Date(),
  );
  const { status, warning } = await ctx.notify(decision === 'approve' ? 'request.approved' : 'request.denied', outcome);
  return { request: answer(outcome, status), warning };
}

export async function revoke(
  ctx: ApproverContext,
  id: string,
  reason: string,
): Promise<{ request: ReturnType<typeof view>; warning: string | null }> {
  const outcome = await revokeRequest(ctx.store, ctx.policyFor, { approver: ctx.me, id, reason }, () => new Date());
  const { status, warning } = await ctx.notify('request.revoked', outcome);
  return { request: answer(outcome, status), warning };
}

export interface ListFilter {
  status?: string;
  profile?: string;
}

/** Table listing for approvers: by profile, else by stored status, else the pending ones; every match (the CLI pages
 * them, cli/list-page.ts). */
export async function list(ctx: ApproverContext, filter: ListFilter): Promise<ReturnType<typeof view>[]> {
  // Another kind of table would answer "no requests match": say which table it is instead.
  await assertTableKind(ctx.store.client, REQUEST_TABLE, ctx.store.table);
  const now = new Date();
  const stored = filter.status === 'expired' ? undefined : filter.status;
  const records = filter.profile
    ? await ctx.store.queryAll(REQUEST_INDEXES.profile, filter.profile)
    : stored
      ? await ctx.store.queryAll(REQUEST_INDEXES.status, stored)
      : filter.status === 'expired'
        ? [
            ...(await ctx.store.queryAll(REQUEST_INDEXES.status, 'pending')),
            ...(await ctx.store.queryAll(REQUEST_INDEXES.status, 'approved')),
          ]
        : await ctx.store.queryAll(REQUEST_INDEXES.status, 'pending');
  return records
    .map((r) => view(r, now))
    .filter((r) => filter.status === undefined || r.status === filter.status)
    .filter((r) => filter.profile !== undefined || filter.status !== undefined || r.status === 'pending');
}

/** `work` against ctx's table; its NotFound becomes "that is not a requests table" when the table is another kind. */
export const explainNotFound = <T>(ctx: ApproverContext, work: () => Promise<T>): Promise<T> =>
  explainNotFoundIn(ctx.store.client, REQUEST_TABLE, ctx.store.table, work);

export async function show(ctx: ApproverContext, id: string): Promise<ReturnType<typeof view>> {
  const r = await ctx.store.get(id);
  if (!r) throw REQUEST_KIND.unknown(id);
  return view(r, new Date());
}
