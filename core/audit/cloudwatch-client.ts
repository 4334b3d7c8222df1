// The CloudWatch Logs client for forwarding and for `audit verify-logs --against-cloudwatch`, loaded on first use (the
// daemon without audit.cloudwatch never imports it). Endpoints are never special-cased: AWS_ENDPOINT_URL_CLOUDWATCH_LOGS
// points it at the emulator in tests.
import type { CloudWatchLogsClient, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';

export type LogsModule = typeof import('@aws-sdk/client-cloudwatch-logs');

let logsModule: Promise<LogsModule> | undefined;
export const loadLogs = (): Promise<LogsModule> => (logsModule ??= import('@aws-sdk/client-cloudwatch-logs'));

export interface LogsClientOptions {
  region?: string | null;
  profile?: string | null;
  /** Milliseconds for the connection and for the whole request (default 10 s: a batch is up to 1 MiB). */
  timeoutMs?: number;
  /** The SDK's own retries; the forwarder retries itself, with its own backoff, so it asks for one attempt. */
  maxAttempts?: number;
}

export async function createLogsClient(options: LogsClientOptions = {}): Promise<CloudWatchLogsClient> {
  const { CloudWatchLogsClient } = await loadLogs();
  const timeout = options.timeoutMs ?? 10_000;
  return new CloudWatchLogsClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: timeout, requestTimeout: timeout },
  });
}

export interface LogEvents {
  logGroupName: string;
  logStreamName: string;
  logEvents: Array<{ timestamp: number; message: string }>;
}

/**
 * PutLogEvents bodies, JSON.stringify'd and encoded into one buffer that is reused from batch to batch. The SDK's own
 * JSON serialiser writes every character of a message through JavaScript (escaping the quotes of a JSON line one by
 * one): about 10 µs of CPU per decision-log line, most of what forwarding cost; JSON.stringify takes about 1.5 µs, and
 * a fresh megabyte buffer per batch would cost another 4 µs a line in allocation and page faults. The caller sends one
 * batch at a time (a body is not reused before its request has been answered or abandoned).
 */
export function logEventsEncoder(): (input: LogEvents) => Buffer {
  let buffer = Buffer.allocUnsafeSlow(2 * 1024 * 1024);
  return (input) => {
    const json = JSON.stringify(input);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > buffer.length) buffer = Buffer.allocUnsafeSlow(bytes);
    return buffer.subarray(0, buffer.write(json, 'utf8'));
  };
}

/**
 * A PutLogEvents command (one per attempt) whose body is `body`, a document from logEventsEncoder(). The command
 * carries no events for the SDK to serialise; its serialised body is replaced, right after the serialiser ran and
 * before the length is set and the request signed, by the same JSON document (AWS JSON 1.1: the input's members by
 * name), so the request on the wire is the one the SDK would send.
 */
export async function putLogEventsCommand(
  input: Pick<LogEvents, 'logGroupName' | 'logStreamName'>,
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
  const sts = new STSClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  });
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
