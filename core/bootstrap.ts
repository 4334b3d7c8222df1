// `sentinel init bootstrap` and `init status` (DESIGN §16): what a team needs in an AWS account before the first
// daemon starts — a policy parameter per profile, holding a starting policy that validates and denies by default, and
// the record tables — planned first, then created. Nothing that exists is changed, so a second run does nothing; a
// parameter is created with Overwrite false, so two admins bootstrapping at once cannot overwrite each other.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { SentinelError } from './errors.js';
import { parsePolicy } from './policy/load.js';
import { awsFailure, parameterName, readParameter, signatureName } from './policy/distribution.js';
import { parseEnvelope } from './policy/signature.js';
import type { TableShape } from './records/shape.js';
import { describeTable, ensureTable, type TableReport } from './records/table.js';

export function startingPolicy(profile: string): string {
  return `# Starting policy for the profile ${profile}, written by \`sentinel init bootstrap\`. It denies every request.
# Edit it, check it with \`sentinel policy validate <file>\`, then publish it signed:
#   sentinel policy pull ${profile} -o ${profile}.yaml
#   sentinel policy push ${profile} ${profile}.yaml --sign --key <kms key>
version: "1"
rules:
  - name: ${profile}-default-deny
    effect: deny
    conditions: { profiles: [${profile}] }
    reason: starting policy from sentinel init bootstrap; nobody has access to ${profile} yet
`;
}

export interface PlanItem {
  kind: 'parameter' | 'table';
  name: string;
  action: 'create' | 'exists';
  /** The table's shape name (sessions, requests, ...) or the profile of a parameter. */
  of: string;
}

export interface BootstrapRequest {
  root: string;
  profiles: string[];
  tables: Array<{ shape: TableShape; name: string }>;
}

export async function planBootstrap(
  ssm: SSMClient,
  dynamodb: DynamoDBClient | null,
  request: BootstrapRequest,
): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  for (const profile of request.profiles) {
    const name = parameterName(request.root, profile);
    const stored = await readParameter(ssm, name);
    items.push({ kind: 'parameter', name, action: stored ? 'exists' : 'create', of: profile });
  }
  for (const { shape, name } of request.tables) {
    const desc = await describeTable(dynamodb!, shape, name);
    items.push({ kind: 'table', name, action: desc ? 'exists' : 'create', of: shape.init });
  }
  return items;
}

export interface Applied extends PlanItem {
  result: 'created' | 'exists';
  table?: TableReport;
}

/** Creates what the plan says to create (and only that); re-checks tables, whose shape may be wrong. */
export async function applyBootstrap(
  ssm: SSMClient,
  dynamodb: DynamoDBClient | null,
  request: BootstrapRequest,
  plan: PlanItem[],
  onProgress?: (line: string) => void,
): Promise<Applied[]> {
  const { PutParameterCommand } = await import('@aws-sdk/client-ssm');
  const out: Applied[] = [];
  for (const item of plan) {
    if (item.kind === 'parameter') {
      if (item.action === 'exists') {
        out.push({ ...item, result: 'exists' });
        continue;
      }
      const text = startingPolicy(item.of);
      // The starting policy must be one the daemon accepts: a placeholder that fails validation is a broken account.
      if (!parsePolicy(text).ok) throw new Error(`the starting policy for ${item.of} does not validate`);
      try {
        await ssm.send(
          new PutParameterCommand({ Name: item.name, Value: text, Type: 'String', Tier: 'Standard', Overwrite: false }),
        );
        out.push({ ...item, result: 'created' });
      } catch (e) {
        if ((e as { name?: string }).name === 'ParameterAlreadyExists') out.push({ ...item, result: 'exists' });
        else throw awsFailure(`SSM PutParameter ${item.name}`, e);
      }
    } else {
      const spec = request.tables.find((x) => x.name === item.name)!;
      const report = await ensureTable(dynamodb!, spec.shape, spec.name, { onProgress });
      out.push({ ...item, result: report.action === 'created' ? 'created' : 'exists', table: report });
    }
  }
  return out;
}

export interface StatusParameter {
  name: string;
  profile: string;
  version: number | null;
  tier: string | null;
  /** The envelope stored beside the policy, read but not verified (`sentinel policy verify` does that): its serial, or
   * null when it is not an envelope at all. Null when none is stored. */
  signature: { serial: number | null } | null;
}

const envelopeSerial = (text: string): number | null => {
  const parsed = parseEnvelope(text);
  return parsed.ok ? parsed.envelope.metadata.serial : null;
};

/** The policy parameters under the root (with their tier and signature serial) and the state of each table. */
export async function bootstrapStatus(
  ssm: SSMClient,
  dynamodb: DynamoDBClient | null,
  root: string,
  tables: Array<{ shape: TableShape; name: string }>,
): Promise<{
  parameters: StatusParameter[];
  tables: Array<{ of: string; name: string; status: string; error?: { code: string; message: string } }>;
}> {
  const { DescribeParametersCommand } = await import('@aws-sdk/client-ssm');
  const prefix = root === '/' ? '/' : `${root}/`;
  const parameters: StatusParameter[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    let page;
    try {
      page = await ssm.send(
        new DescribeParametersCommand({
          ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [prefix] }],
          MaxResults: 50,
          NextToken: token,
        }),
      );
    } catch (e) {
      throw awsFailure(`SSM DescribeParameters under ${root}`, e);
    }
    for (const p of page.Parameters ?? []) {
      const profile = p.Name!.slice(prefix.length);
      if (profile.includes('/')) continue;
      const sig = await readParameter(ssm, signatureName(profile));
      parameters.push({
        name: p.Name!,
        profile,
        version: p.Version ?? null,
        tier: p.Tier ?? null,
        signature: sig ? { serial: envelopeSerial(sig.value) } : null,
      });
    }
    token = page.NextToken;
  } while (token && ++pages < 100);
  // Together, and each on its own: one table DynamoDB does not answer for is reported as such, and neither hides the
  // others nor makes the listing wait for each in turn.
  const tableStates = await Promise.all(
    tables.map(async ({ shape, name }) => {
      try {
        const desc = dynamodb ? await describeTable(dynamodb, shape, name) : undefined;
        return { of: shape.init, name, status: desc?.TableStatus ?? 'missing' };
      } catch (e) {
        if (!(e instanceof SentinelError)) throw e;
        return { of: shape.init, name, status: 'unknown', error: { code: e.code, message: e.message } };
      }
    }),
  );
  return { parameters, tables: tableStates };
}
