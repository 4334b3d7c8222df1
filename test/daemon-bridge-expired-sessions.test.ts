// A daemon in vendor mode runs for weeks too: a vendor session nobody asks for after it expired (an API client that
// never ends its sessions) is let go here — its token, and its place in the listing and in the stop, which each cost a
// call to the vendor per session. The vendor is a double of the client interface (the wire is covered by
// vendor-bridge-*.test.ts); the clock is in hand.
import t from 'tap';
import type { DecisionLog } from '../core/audit/types.js';
import { silentLogger } from '../core/log.js';
import type { VendorCall, VendorClient } from '../core/vendor/client.js';
import { BridgeSessions } from '../daemon/sessions/bridge-sessions.js';
import type { Peer } from '../daemon/sessions/types.js';
import { TokenRegistry } from '../daemon/tokens.js';
import { until } from './support/wait.js';

const peer: Peer = { transport: 'unix', pid: 1234, uid: 1000 };

t.test('vendor sessions past their expiry are released without being asked for', async (t) => {
  const clock = { now: Date.parse('2026-06-01T10:00:00Z') };
  const calls: VendorCall[] = [];
  let serial = 0;
  const client: VendorClient = {
    url: 'https://vendor.example',
    region: 'us-east-1',
    call: async (request) => {
      calls.push(request);
      if (request.method === 'POST' && request.path === '/v1/sessions') {
        serial += 1;
        return {
          id: serial.toString(16).padStart(16, '0'),
          profile: 'dev',
          region: 'eu-west-1',
          expires_at: new Date(clock.now + 3600_000).toISOString(),
        };
      }
      return { status: 'ended' };
    },
  };
  const decisions: DecisionLog = { write: () => undefined, flush: async () => undefined, close: async () => undefined };
  let n = 0;
  const sessions = new BridgeSessions({
    vendor: { url: client.url, region: client.region, profile: null },
    client,
    decisions,
    tokens: new TokenRegistry(),
    log: silentLogger(),
    newRequestId: () => (n++).toString(16).padStart(16, '0'),
    now: () => new Date(clock.now),
    expirySweepMs: 5,
  });
  for (let i = 0; i < 30; i += 1) await sessions.openSession({ profile: 'dev', mode: 'server' }, peer);
  t.equal(sessions.activeTokens, 30, 'thirty live tokens while the sessions are active');
  clock.now += 3600_000;
  const fresh = await sessions.openSession({ profile: 'dev', mode: 'server' }, peer);
  const held = await until(
    () => sessions.activeTokens,
    (count) => count === 1,
    2000,
    5,
  ).catch(() => sessions.activeTokens);
  t.equal(held, 1, 'only the session opened since holds a token');
  calls.length = 0;
  await sessions.stop();
  t.same(
    calls.map((c) => `${c.method} ${c.path}`),
    [`DELETE /v1/sessions/${fresh.session.id}`],
    'the stop ends only the live session at the vendor',
  );
});
