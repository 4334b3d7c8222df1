// Where `sentinel server sessions | session | revoke` read and revoke sessions: the local daemon's control API by
// default, or the DynamoDB session table directly with --table (an admin's machine, no daemon). Both behind one small
// interface, so the commands do not care which answers. The SDK and the store load lazily.
import { SentinelError } from '../core/errors.js';
import type { Session, SessionQuery } from '../core/sessions/types.js';
import { resolveAwsTarget, type AwsTarget } from './aws-target.js';
import { checkTableFlags, type TableFlags } from './table-flags.js';
import type { GlobalOptions } from './program.js';

export interface SessionSource {
  list(q: SessionQuery): Promise<{ sessions: Session[]; cursor?: string }>;
  get(id: string): Promise<Session>;
  revoke(id: string, reason: string): Promise<Session>;
  close(): Promise<void>;
}

function unwrapSession(body: unknown): Session {
  const b = body as { session?: unknown } | null;
  const s = (b && typeof b === 'object' && 'session' in b ? b.session : body) as Session | null;
  if (!s || typeof s !== 'object' || typeof s.id !== 'string' || typeof s.status !== 'string') {
    throw new SentinelError('InternalError', 'the daemon answered with something that is not a session');
  }
  return s;
}

async function daemonSource(globals: GlobalOptions): Promise<SessionSource> {
  const { connect } = await import('./client.js');
  const client = await connect(globals);
  return {
    async list(q) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
      const body = await client.get<{ sessions?: unknown; cursor?: unknown }>(`/v1/sessions?${params}`);
      if (!body || !Array.isArray(body.sessions))
        throw new SentinelError('InternalError', 'the daemon answered a session list without sessions');
      return {
        sessions: body.sessions.map(unwrapSession),
        ...(typeof body.cursor === 'string' ? { cursor: body.cursor } : {}),
      };
    },
    async get(id) {
      return unwrapSession(await client.get(`/v1/sessions/${id}`));
    },
    async revoke(id, reason) {
      return unwrapSession(await client.post(`/v1/sessions/${id}/revoke`, { reason }));
    },
    async close() {},
  };
}

async function tableSource(flags: TableFlags, globals: GlobalOptions): Promise<SessionSource> {
  const target = await resolveAwsTarget(flags, globals);
  const [{ createTableClient }, { DynamoSessionStore }, { withEffectiveStatus }] = await Promise.all([
    import('../core/records/client.js'),
    import('../core/sessions/dynamodb.js'),
    import('../core/sessions/record.js'),
  ]);
  const store = new DynamoSessionStore({
    client: createTableClient(target),
    table: flags.table!,
    ownsClient: true,
  });
  return {
    async list(q) {
      const page = await store.list(q);
      return { sessions: page.items, ...(page.cursor ? { cursor: page.cursor } : {}) };
    },
    async get(id) {
      const s = await store.get(id);
      if (!s)
        throw new SentinelError('SessionUnknown', `no session ${id} in table ${flags.table}`, { details: { id } });
      return withEffectiveStatus(s, new Date());
    },
    async revoke(id, reason) {
      return store.revoke(id, await adminName(target, globals), reason);
    },
    close: () => store.close(),
  };
}

/** revoked_by: the policy user name of whoever holds the admin credentials, as STS says (never a typed name). */
async function adminName(target: AwsTarget, globals: GlobalOptions): Promise<string> {
  const { whoami } = await import('./whoami.js');
  const me = await whoami({ profile: target.profile, region: target.region }, globals);
  return me.policyName;
}

export async function withSource<T>(
  flags: TableFlags,
  globals: GlobalOptions,
  run: (source: SessionSource) => Promise<T>,
): Promise<T> {
  checkTableFlags(
    flags,
    'Add --table T to read the DynamoDB table, or filter by session profile with --for-profile P.',
  );
  const source = flags.table !== undefined ? await tableSource(flags, globals) : await daemonSource(globals);
  try {
    return await run(source);
  } finally {
    await source.close();
  }
}
