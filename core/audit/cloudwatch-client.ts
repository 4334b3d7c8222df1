// The CloudWatch Logs client for forwarding and for `audit verify-logs --against-cloudwatch`, loaded on first use (the
// daemon without audit.cloudwatch never imports it). Endpoints are never special-cased: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
// points it at the emulator in tests.
import type { CloudWatchLogsClient, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { MAX_ATTEMPTS, STS_BUDGET_MS, boundedClientConfig, type ClientTarget } from '../aws-http.js';

export type LogsModule = typeof import('@aws-sdk/client-cloudwatch-logs');

let logsModule: Promise<LogsModule> | undefined;
export const loadLogs = (): Promise<LogsModule> => (logsModule ??= import('@aws-sdk/client-cloudwatch-logs'));

export interface LogsClientOptions extends ClientTarget {
  /** Milliseconds per attempt, connection and whole request (default 10 s: a batch is up to 1 MiB). An endpoint that
   * accepts and never answers fails the attempt then, rather than holding the forwarder or the command forever. */
  timeoutMs?: number;
  /** The SDK's own retries; the forwarder retries itself, with its own backoff, so it asks for one attempt. */
  maxAttempts?: number;
}

export async function createLogsClient(options: LogsClientOptions = {}): Promise<CloudWatchLogsClient> {
  const { CloudWatchLogsClient } = await loadLogs();
  return new CloudWatchLogsClient(
    boundedClientConfig(options, {
      timeoutMs: options.timeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    }),
  );
}

/**
 * A PutLogEvents command (one per attempt) whose body is `body`, the whole JSON document (log-events-body.ts). The SDK's
 * serialiser writes every character of a message through JavaScript — about 10 µs of CPU per decision-log line, most
 * of what forwarding cost — so the command carries no events for it to serialise, and its serialised body is replaced,
 * right after the serialiser ran and before the length is set and the request signed, by the document with the
 * events (AWS JSON 1.1: the input's members by name): the request on the wire is the one the SDK would send.
 */
export async function putLogEventsCommand(
  input: { logGroupName: string; logStreamName: string },
  body: Buffer,
): Promise<PutLogEventsCommand> {
  const { PutLogEventsCommand } = await loadLogs();
  const command = new PutLogEventsCommand({ ...input, logEvents: [] });
  type Args = { request?: { body?: unknown } };
  const withBody = (next: (args: Args) => Promise<unknown>) => (args: Args) => {
    if (args.request) args.request.body = body;
    return next(args);
  };
  // A serialize-step middleware (the SDK's middleware types are not a dependency of ours).
  command.middlewareStack.addRelativeTo(withBody as never, {
    relation: 'after',
    toMiddleware: 'serializerMiddleware',
    name: 'sentinelLogEventsBody',
  });
  return command;
}

/** Every event of a stream from its head, page by page (GetLogEvents ends when the forward token stops moving). */
export async function* streamEvents(
  client: CloudWatchLogsClient,
  logGroupName: string,
  logStreamName: string,
): AsyncGenerator<{ message: string; timestamp: number }> {
  const { GetLogEventsCommand } = await loadLogs();
  let token: string | undefined;
  for (;;) {
    const page = await client.send(
      new GetLogEventsCommand({ logGroupName, logStreamName, startFromHead: true, nextToken: token }),
    );
    for (const e of page.events ?? []) yield { message: e.message ?? '', timestamp: e.timestamp ?? 0 };
    if (!page.nextForwardToken || page.nextForwardToken === token) return;
    token = page.nextForwardToken;
  }
}

/** `<host>-<policy user>` (DESIGN §14): the stream name when audit.cloudwatch.log_stream is not set. The policy user
 * name follows identity.trusted_session_roles (DESIGN §5.3), as everywhere else. */
export async function defaultLogStream(
  options: LogsClientOptions & { trustedSessionRoles?: readonly string[] },
): Promise<string> {
  const [{ STSClient, GetCallerIdentityCommand }, { hostname }, { parseCallerArn }] = await Promise.all([
    import('@aws-sdk/client-sts'),
    import('node:os'),
    import('../identity/arn.js'),
  ]);
  const sts = new STSClient(
    boundedClientConfig(options, {
      timeoutMs: Math.min(options.timeoutMs ?? STS_BUDGET_MS, STS_BUDGET_MS),
      maxAttempts: options.maxAttempts ?? MAX_ATTEMPTS,
    }),
  );
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    const host =
      hostname()
        .replace(/[:*\u0000-\u001f\u007f]/g, '')
        .slice(0, 200) || 'host';
    return `${host}-${parseCallerArn(who.Arn, options.trustedSessionRoles).policyName}`;
  } finally {
    sts.destroy();
  }
}
