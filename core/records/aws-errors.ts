// Turns whatever the AWS SDK threw into the table's "unavailable" error with a message of our own. AWS error text can carry
// ARNs, account ids and request details, so it never reaches a user or a log line through here; only the error's
// name (a fixed identifier such as ThrottlingException) is kept, in details, to tell the cases apart.
import { SentinelError } from '../errors.js';
import { withArticle, type TableShape } from './shape.js';

const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const ACCESS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'IncompleteSignatureException',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

function errorName(err: unknown): string | undefined {
  const e = err as { name?: unknown; code?: unknown } | null;
  const name =
    e && typeof e === 'object'
      ? typeof e.code === 'string' && NETWORK_CODES.has(e.code)
        ? e.code
        : e.name
      : undefined;
  return typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name) ? name : undefined;
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

export function storeUnavailable(err: unknown, table: string, shape: TableShape): SentinelError {
  if (err instanceof SentinelError) return err;
  const name = errorName(err);
  const details = { table, ...(name ? { aws_error: name } : {}) };
  if (name === 'ResourceNotFoundException') {
    return new SentinelError(shape.unavailable, `the ${shape.noun} table ${table} does not exist`, {
      details,
      hint: `Create it with \`sentinel init ${shape.init} --table ${table} --region <region>\`, or fix the table name and region in config.yaml.`,
    });
  }
  // Raised before any request: no credentials were found at all, so AWS refused nothing.
  if (name === 'CredentialsProviderError') {
    return new SentinelError(
      shape.unavailable,
      `no AWS credentials could be found for the ${shape.noun} table ${table}`,
      {
        details,
        hint: 'Name a profile that has credentials (aws_profile in config.yaml, or --profile), or sign in (`aws sso login --profile <name>`), then run it again.',
      },
    );
  }
  if (name && ACCESS.has(name)) {
    return new SentinelError(
      shape.unavailable,
      `AWS refused Sentinel's credentials for the ${shape.noun} table ${table}`,
      {
        details,
        hint: `Check the AWS profile in use (aws_profile in config.yaml, or --profile) and its IAM policy (\`sentinel init ${shape.init} --plan\` prints it).`,
      },
    );
  }
  if (name && THROTTLING.has(name)) {
    return new SentinelError(shape.unavailable, `DynamoDB is throttling requests to the ${shape.noun} table ${table}`, {
      details,
    });
  }
  // A query on an index the table lacks: the name in config.yaml points at another kind of table. AWS's text is only
  // matched here, never passed on; the indexes named are the shape's own.
  if (name === 'ValidationException' && /does not have the specified index/.test(String((err as Error).message))) {
    return new SentinelError(
      shape.unavailable,
      `the table ${table} lacks the indexes of ${withArticle(shape.noun)} table (${shape.indexes.map((i) => i.name).join(', ')}): it is another kind of table`,
      {
        details,
        hint: `Fix the table name in config.yaml (or --table): \`sentinel init ${shape.init}\` creates ${withArticle(shape.noun)} table, with its indexes.`,
      },
    );
  }
  if (name === 'TimeoutError' || (name && NETWORK_CODES.has(name)) || name === 'AbortError') {
    return new SentinelError(shape.unavailable, `the ${shape.noun} table ${table} cannot be reached`, { details });
  }
  return new SentinelError(shape.unavailable, `the ${shape.noun} table ${table} did not answer as expected`, {
    details,
  });
}
