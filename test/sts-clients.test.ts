// The STS clients (core/issuer/sts-clients.ts): one client per (region, access key), all of them on one request handler,
// so a call made with other credentials reuses the keep-alive connection of the last; close() ends it. Measured on
// the wire: a TCP relay in front of the STS emulator counts the connections the real SDK opens.
import t from 'tap';
import { connect, createServer, type Socket } from 'node:net';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { createStsClients } from '../core/issuer/sts-clients.js';
import { startSts } from './support/sts-emulator.js';
import { until } from './support/wait.js';

t.test('clients for different keys share one keep-alive connection; close() ends it', async (t) => {
  const sts = await startSts({
    identities: {
      AKIAALICE: 'arn:aws:iam::111111111111:user/alice',
      AKIABOB: 'arn:aws:iam::111111111111:user/bob',
    },
  });
  t.teardown(() => sts.close());
  const upstream = new URL(sts.url);
  const open = new Set<Socket>();
  let accepted = 0;
  const relay = createServer((c) => {
    accepted++;
    open.add(c);
    c.on('close', () => open.delete(c));
    const u = connect(Number(upstream.port), upstream.hostname);
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.on('close', () => u.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.teardown(() => relay.close());
  const port = (relay.address() as { port: number }).port;
  const env = process.env.AWS_ENDPOINT_URL_STS;
  process.env.AWS_ENDPOINT_URL_STS = `http://127.0.0.1:${port}`;
  t.teardown(() => {
    if (env === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    else process.env.AWS_ENDPOINT_URL_STS = env;
  });

  const clients = createStsClients();
  const alice = await clients.client('us-east-1', { accessKeyId: 'AKIAALICE', secretAccessKey: 's' });
  const bob = await clients.client('us-east-1', { accessKeyId: 'AKIABOB', secretAccessKey: 's' });
  t.not(alice, bob, 'one client per access key (SDK v3 binds credentials to a client)');
  t.equal(await clients.client('us-east-1', { accessKeyId: 'AKIAALICE', secretAccessKey: 's' }), alice, 'and kept');
  const arns: string[] = [];
  for (const c of [alice, bob, alice, bob]) arns.push((await c.send(new GetCallerIdentityCommand({}))).Arn!);
  t.same(arns, [
    'arn:aws:iam::111111111111:user/alice',
    'arn:aws:iam::111111111111:user/bob',
    'arn:aws:iam::111111111111:user/alice',
    'arn:aws:iam::111111111111:user/bob',
  ]);
  t.equal(accepted, 1, 'four calls with two sets of credentials used one connection');
  t.equal(open.size, 1, 'kept alive between calls');
  clients.close();
  t.equal(
    await until(
      () => open.size,
      (n) => n === 0,
      2000,
    ),
    0,
    'close() ends the kept connection',
  );
});
