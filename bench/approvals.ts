// A credential request under an approval costs one BatchGetItem where a direct one costs one GetItem (issue 11,
// "Measure"; DESIGN §3.4): warm credential fetches for an approved `prod` session against a direct `dev` session of
// the same daemon (DynamoDB session store on dynalite, in this process), same run, same transport (Unix socket,
// autocannon, 10 connections), alternating rounds, median of the per-round ratios.
//
// Needs dist/ (`npm run build`). BENCH_ROUNDS (default 5), BENCH_DURATION seconds per run (default 3).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUEST_KIND, REQUEST_TABLE } from '../core/approvals/record.js';
import { decideRequest } from '../core/approvals/service.js';
import { parsePolicy } from '../core/policy/load.js';
import { DynamoRecordStore } from '../core/records/dynamodb.js';
import { ensureTable } from '../core/records/table.js';
import { SESSION_TABLE } from '../core/sessions/schema.js';
import { BASE_ACCESS_KEY, BASE_ARN } from '../test/support/daemon.js';
import { startDynalite } from '../test/support/dynalite.js';
import { startSts } from '../test/support/sts-emulator.js';
import {
  CONNECTIONS,
  DURATION_S,
  ROUNDS,
  compareRounds,
  requestsPerSecond,
  startBenchDaemon,
  stopAll,
} from './_daemons.js';

const POLICY = `version: "1"
rules:
  - { name: dev-direct, effect: allow, conditions: { profiles: [dev] } }
  - { name: prod-needs-approval, effect: require_approval, conditions: { profiles: [prod] } }
approvals:
  - { name: prod-approvers, profiles: [prod], approvers: [carol], max_duration: 2h }
`;
const parsed = parsePolicy(POLICY);
if (!parsed.ok) throw new Error('bad bench policy');

const sts = await startSts({ identities: { [BASE_ACCESS_KEY]: BASE_ARN } });
const dynalite = await startDynalite();
const client = new DynamoDBClient({
  endpoint: dynalite.url,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDBENCHADMIN000001', secretAccessKey: 'bench' },
});
try {
  await ensureTable(client, SESSION_TABLE, 'bench-sessions', { pollMs: 5 });
  await ensureTable(client, REQUEST_TABLE, 'bench-requests', { pollMs: 5 });
  const requests = new DynamoRecordStore(REQUEST_KIND, { client, table: 'bench-requests', ownsClient: false });
  const daemon = await startBenchDaemon(sts.url, {
    policy: POLICY,
    config:
      'aws_profile: base\nregion: us-east-1\nsessions: { store: dynamodb, table: bench-sessions }\n' +
      'requests: { table: bench-requests }\n',
    env: { AWS_ENDPOINT_URL_DYNAMODB: dynalite.url },
  });
  const filed = await daemon.post('/v1/requests', {
    profile: 'prod',
    justification: 'benchmark of the approved path',
    duration: 3600,
  });
  await decideRequest(
    requests,
    async () => parsed.policy,
    { approver: { arn: 'arn:aws:iam::123456789012:user/carol', user: 'carol' }, id: filed.id, decision: 'approve' },
    () => new Date(),
  );
  const [approved, direct] = [await daemon.open('prod'), await daemon.open('dev')];
  const ratio = await compareRounds(
    ['approved', 'direct'],
    () => requestsPerSecond(daemon.socketPath, approved),
    () => requestsPerSecond(daemon.socketPath, direct),
  );
  console.log(
    `\nwarm GET /v1/credentials over the Unix socket, ${ROUNDS} rounds of ${DURATION_S}s (autocannon, ${CONNECTIONS} connection(s)),`,
  );
  console.log('one daemon, DynamoDB session store on dynalite:');
  console.log(`approved session / direct session, median of the per-round ratios: ${(100 * ratio).toFixed(1)} %`);
} finally {
  await stopAll();
  client.destroy();
  await dynalite.close();
  await sts.close();
}
