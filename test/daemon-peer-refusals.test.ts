// The bound on what another local user can make the daemon write by being refused (daemon/server/peer-refusals.ts):
// each peer that is not the daemon's user (uid and transport; an owner that cannot be found is one peer) has its first
// refusals of a window recorded in full and the rest counted into one peer_refusals line.
import t from 'tap';
import { Writable } from 'node:stream';
import type { RefusalCount } from '../core/authorize/decision-entry.js';
import { createLogger } from '../core/log.js';
import { PeerRefusals } from '../daemon/server/peer-refusals.js';

t.test('the bound per peer, alone', async (t) => {
  const capture = () => {
    let text = '';
    const log = createLogger({
      destination: new Writable({
        write(chunk, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      }),
    });
    return { log, text: () => text };
  };

  t.test('budget, count and flush', async (t) => {
    const written: RefusalCount[] = [];
    const ops = capture();
    let now = 1_000_000;
    const refusals = new PeerRefusals({
      record: (c) => written.push(c),
      log: ops.log,
      recordedPerWindow: 3,
      now: () => now,
    });
    t.teardown(() => refusals.close());
    const tcp = { transport: 'tcp' as const, pid: null, uid: 1001 };
    const answers = Array.from({ length: 10 }, () => ((now += 10), refusals.admit(tcp)));
    t.same(answers, [true, true, true, false, false, false, false, false, false, false]);
    t.equal(refusals.admit({ transport: 'unix', pid: 7, uid: 1001 }), true, 'another transport is another peer');
    t.equal(refusals.admit({ transport: 'tcp', pid: null, uid: 1002 }), true, 'another uid too');
    t.same(written, [], 'nothing written before the window ends');
    refusals.flush();
    t.same(written, [
      {
        transport: 'tcp',
        uid: 1001,
        count: 7,
        first: new Date(1_000_040),
        last: new Date(1_000_100),
      },
    ]);
    t.equal(refusals.admit(tcp), true, 'a new window, a new budget');
    t.equal(ops.text().match(/peer_refusals_limited/g)?.length, 1);
    t.match(ops.text(), /"event":"peer_refusals_counted","transport":"tcp","peer_uid":1001,"count":7/);
  });

  t.test('each window ends with its counts; an idle table stops the timer', async (t) => {
    const written: RefusalCount[] = [];
    const refusals = new PeerRefusals({
      record: (c) => written.push(c),
      log: capture().log,
      recordedPerWindow: 2,
      windowMs: 100,
    });
    t.teardown(() => refusals.close());
    const peer = { transport: 'tcp' as const, pid: null, uid: null };
    for (let i = 0; i < 5; i += 1) refusals.admit(peer);
    await new Promise((resolve) => setTimeout(resolve, 250));
    t.same(
      written.map((c) => c.count),
      [3],
      'one count for the window',
    );
    for (let i = 0; i < 4; i += 1) refusals.admit(peer);
    await new Promise((resolve) => setTimeout(resolve, 450));
    t.same(
      written.map((c) => c.count),
      [3, 2],
      'and one for the next',
    );
    t.equal((refusals as unknown as { timer?: unknown }).timer, undefined, 'no timer while nobody is refused');
  });

  t.test('the table is bounded: a peer pushed out has its count written first', async (t) => {
    const written: RefusalCount[] = [];
    const refusals = new PeerRefusals({
      record: (c) => written.push(c),
      log: capture().log,
      recordedPerWindow: 1,
      maxPeers: 8,
    });
    t.teardown(() => refusals.close());
    const table = (refusals as unknown as { tallies: { size: number } }).tallies;
    let largest = 0;
    for (let uid = 2000; uid < 7000; uid += 1) {
      for (let i = 0; i < 3; i += 1) refusals.admit({ transport: 'tcp', pid: null, uid });
      largest = Math.max(largest, table.size);
    }
    t.equal(largest, 8, 'never more than maxPeers');
    refusals.flush();
    t.equal(written.length, 5000, 'one count per peer');
    t.ok(
      written.every((c) => c.count === 2),
      'each with exactly its own refusals',
    );
    t.equal(new Set(written.map((c) => c.uid)).size, 5000);
  });
});
