// `audit verify-logs --against-cloudwatch` (DESIGN §14): the file and its forwarded copy, compared position by
// position (the forwarder sends every line in order, so event i is line i). A cut tail shows as events CloudWatch has
// and the file does not; a chain rewritten by someone holding the key shows as lines that differ. Both streams are
// read page by page: memory stays bounded whatever their length.
import { SentinelError } from '../errors.js';
import { createLogsClient, streamEvents } from './cloudwatch-client.js';
import { readFileLines } from './line-reader.js';
import type { Finding } from './verify.js';

export interface CompareTarget {
  logGroup: string;
  logStream: string;
  profile?: string;
  region?: string;
}

async function* nonBlank(file: string): AsyncGenerator<{ n: number; text: string | null }> {
  for await (const l of readFileLines(file)) if (l.text === null || l.text.trim() !== '') yield l;
}

export async function compareWithCloudWatch(
  file: string,
  target: CompareTarget,
): Promise<{ events: number; findings: Finding[] }> {
  const client = await createLogsClient({ region: target.region, profile: target.profile });
  const findings: Finding[] = [];
  let events = 0;
  let altered: { from: number; to: number; first: number } | null = null;
  const closeAltered = () => {
    if (!altered) return;
    const { from, to, first } = altered;
    findings.push({
      line: from,
      kind: 'altered',
      message:
        from === to
          ? `differs from CloudWatch event ${first}: edited here, or the chain was rewritten`
          : `lines ${from} to ${to} differ from CloudWatch events ${first} to ${first + to - from}: edited here, or the chain was rewritten`,
    });
    altered = null;
  };
  const local = nonBlank(file);
  const remote = streamEvents(client, target.logGroup, target.logStream);
  let lastLine = 0;
  try {
    for (;;) {
      const [l, r] = await Promise.all([local.next(), remote.next()]);
      if (l.done && r.done) break;
      if (!r.done) events++;
      if (!l.done) lastLine = l.value.n;
      if (!l.done && !r.done) {
        if (l.value.text === r.value.message) closeAltered();
        else if (altered && altered.to + 1 === l.value.n) altered.to = l.value.n;
        else {
          closeAltered();
          altered = { from: l.value.n, to: l.value.n, first: events };
        }
        continue;
      }
      closeAltered();
      if (r.done) {
        let count = 1;
        const from = l.value!.n;
        for await (const _ of local) count++;
        findings.push({
          line: from,
          kind: 'missing_in_cloudwatch',
          message: `${count} line(s) from line ${from} on are not in CloudWatch: not forwarded yet, or removed there`,
        });
      } else {
        let count = 1;
        for await (const _ of remote) count++;
        events += count - 1;
        findings.push({
          line: lastLine + 1,
          kind: 'extra_in_cloudwatch',
          message: `CloudWatch has ${count} event(s) after the file's last line: the file's tail was cut`,
        });
      }
      break;
    }
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'ResourceNotFoundException')
      throw new SentinelError('UsageError', `the log stream ${target.logGroup}/${target.logStream} does not exist`, {
        hint: 'Check --log-group/--log-stream (or audit.cloudwatch in config.yaml) and the region.',
      });
    // No answer at all (every attempt timed out, or no connection) is not a permission problem: say which it is.
    const code = (e as { code?: string }).code ?? '';
    if (name === 'TimeoutError' || /^(ECONN|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE)/.test(code))
      throw new SentinelError(
        'InternalError',
        `CloudWatch Logs did not answer (${name === 'TimeoutError' ? name : code})`,
        {
          hint: 'Check network access to CloudWatch Logs in the region (or AWS_ENDPOINT_URL_CLOUDWATCH_LOGS), then run it again.',
        },
      );
    throw new SentinelError('InternalError', `CloudWatch Logs could not be read (${name ?? 'error'})`, {
      hint: 'Check the AWS profile and region, and that it may call logs:GetLogEvents on the stream.',
    });
  } finally {
    client.destroy();
  }
  return { events, findings };
}
