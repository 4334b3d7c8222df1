// What refusing another user costs (DESIGN §3.1, §7). Every request of a peer that is not the daemon's user — its uid is
// another, or the connection's owner cannot be found — is refused, and each refusal was a full decision-log line (a
// CloudWatch event too) and an operational-log line. Another local user flooding the loopback port (14,000 refusals a
// second, measured) wrote the owner's state directory full, and with `audit.cloudwatch.required` pushed the forwarding
// lag past its bound, which refuses the owner's own credentials. So each peer — transport and uid, an unknown owner
// being one peer — has a budget per window: the first refusals are recorded in full, the rest are counted, and the
// count is written as one peer_refusals line when the window ends, when the peer is pushed out of the table, and at
// stop. Every refusal is either a line of its own or in exactly one count.
import { LRUCache } from 'lru-cache';
import type { RefusalCount } from '../../core/authorize/decision-entry.js';
import type { OpLogger } from '../../core/log.js';
import type { Peer } from '../sessions/types.js';

/** Refusals recorded in full per peer and window. Enough to show who knocked and how (another user's tool pointed at the
 * wrong port shows its first attempts every minute, with the pid on the Unix socket); more repeats the same line. With
 * the count, a peer costs at most 11 lines (about 7 KB signed) a minute, which neither the disk nor the forwarding lag
 * bound (10,000 lines) notices, where the flood it replaces wrote 32 GB an hour. */
export const RECORDED_PER_WINDOW = 10;
/** A minute: an operator reading the log sees the count of a flood within a minute of it, in lines a minute apart. */
export const REFUSAL_WINDOW_MS = 60_000;
/** Peers tracked at once. Ports and connections make no new peers, only uids do, so a machine has a handful; the
 * bound keeps memory fixed whatever happens, and a peer pushed out has its count written first. */
export const MAX_PEERS = 1024;

export interface PeerRefusalOptions {
  /** Writes a peer's count (a peer_refusals line, DaemonSessions.recordCountedRefusals). */
  record(counted: RefusalCount): void;
  log: OpLogger;
  recordedPerWindow?: number;
  windowMs?: number;
  maxPeers?: number;
  now?: () => number;
}

interface Tally {
  transport: Peer['transport'];
  uid: number | null;
  recorded: number;
  counted: number;
  first: number;
  last: number;
}

export class PeerRefusals {
  private readonly tallies: LRUCache<string, Tally>;
  private readonly recordedPerWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PeerRefusalOptions) {
    this.recordedPerWindow = options.recordedPerWindow ?? RECORDED_PER_WINDOW;
    this.windowMs = options.windowMs ?? REFUSAL_WINDOW_MS;
    this.now = options.now ?? Date.now;
    this.tallies = new LRUCache({
      max: options.maxPeers ?? MAX_PEERS,
      dispose: (tally, _key, reason) => {
        if (reason === 'evict') this.write(tally);
      },
    });
  }

  /** True: record this refusal in full. False: it is counted, and written with the peer's count. */
  admit(peer: Peer): boolean {
    const key = `${peer.transport}:${peer.uid ?? 'unknown'}`;
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = { transport: peer.transport, uid: peer.uid, recorded: 0, counted: 0, first: 0, last: 0 };
      this.tallies.set(key, tally);
      this.timer ??= setInterval(() => this.endWindow(), this.windowMs).unref();
    }
    if (tally.recorded < this.recordedPerWindow) {
      tally.recorded += 1;
      return true;
    }
    const now = this.now();
    if (tally.counted === 0) {
      tally.first = now;
      this.options.log.warn(
        {
          event: 'peer_refusals_limited',
          transport: tally.transport,
          peer_uid: tally.uid,
          recorded: tally.recorded,
          window_seconds: this.windowMs / 1000,
        },
        "refusing another user's requests faster than they are worth recording; counting the rest until the window ends",
      );
    }
    tally.counted += 1;
    tally.last = now;
    return false;
  }

  /** Writes every count and starts a new window for every peer (at stop: nothing counted is lost). */
  flush(): void {
    for (const tally of this.tallies.values()) this.write(tally);
    this.tallies.clear();
  }

  close(): void {
    this.flush();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The timer runs only while some peer is being refused: a window with no refusal at all stops it. */
  private endWindow(): void {
    if (this.tallies.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    this.flush();
  }

  private write(tally: Tally): void {
    if (tally.counted === 0) return;
    const counted: RefusalCount = {
      transport: tally.transport,
      uid: tally.uid,
      count: tally.counted,
      first: new Date(tally.first),
      last: new Date(tally.last),
    };
    tally.counted = 0;
    this.options.log.warn(
      {
        event: 'peer_refusals_counted',
        transport: counted.transport,
        peer_uid: counted.uid,
        count: counted.count,
        first_timestamp: counted.first.toISOString(),
        last_timestamp: counted.last.toISOString(),
      },
      "another user's requests were refused and counted, not recorded one by one; the decision log has their count",
    );
    this.options.record(counted);
  }
}
