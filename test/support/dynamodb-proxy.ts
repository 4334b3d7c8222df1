// A loopback HTTP proxy in front of dynalite: every request still reaches the real engine over the wire, and the test
// sees which operations were sent (X-Amz-Target) and can make an operation answer with a DynamoDB error instead, as
// DynamoDB itself would (HTTP 400, `__type` in the JSON body) — throttling, above all, which dynalite never does.
//
//   const proxy = await startDynamoProxy(dynalite.url);      // point AWS_ENDPOINT_URL_DYNAMODB at proxy.url
//   proxy.fail('GetItem', 'ThrottlingException');             // until fail('GetItem', null)
//   proxy.count('UpdateItem')
import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DynamoOperation {
  op: string;
  /** The request body as JSON (table, key, expressions). */
  body: any;
  at: number;
}

export interface DynamoProxy {
  url: string;
  operations: DynamoOperation[];
  count(op: string, where?: (body: any) => boolean): number;
  /** Answer `op` with this DynamoDB error code (400) until cleared with null. */
  fail(op: string, code: string | null): void;
  /** While frozen, requests are read and never answered (an endpoint that hangs, like a `kill -STOP`ped engine). */
  freeze(on: boolean): void;
  close(): Promise<void>;
}

export async function startDynamoProxy(upstream: string): Promise<DynamoProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const operations: DynamoOperation[] = [];
  const failures = new Map<string, string>();
  let frozen = false;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const op =
        String(req.headers['x-amz-target'] ?? '')
          .split('.')
          .pop() ?? '';
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      operations.push({ op, body, at: Date.now() });
      if (frozen) return;
      const failure = failures.get(op);
      if (failure) {
        const payload = Buffer.from(
          JSON.stringify({
            __type: `com.amazonaws.dynamodb.v20120810#${failure}`,
            message: 'injected by the test proxy',
          }),
        );
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.0',
          'content-length': payload.length,
          'x-amzn-requestid': 'proxy',
        });
        res.end(payload);
        return;
      }
      const forward = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      forward.on('error', () => {
        // The engine is gone: drop the client's connection as a dead endpoint would.
        res.destroy();
      });
      forward.end(raw);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    operations,
    count: (op, where) => operations.filter((o) => o.op === op && (!where || where(o.body))).length,
    freeze: (on) => {
      frozen = on;
    },
    fail: (op, code) => {
      if (code === null) failures.delete(op);
      else failures.set(op, code);
    },
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
