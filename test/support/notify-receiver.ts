// A stand-in for systemd's NOTIFY_SOCKET: a Unix datagram socket that reports every datagram with the sender's
// kernel-attached credentials (SO_PASSCRED → SCM_CREDENTIALS). Node cannot bind AF_UNIX datagram sockets, so the
// socket lives in a small Debian python3 child (not pyenv's: /usr/bin/python3 is always there on the project image).
// The child exits when its stdin closes, so it cannot outlive the test process even if a teardown is skipped.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export const PYTHON = '/usr/bin/python3';

export interface NotifyMessage {
  /** The datagram as UTF-8 text. */
  data: string;
  /** Sender pid/uid/gid as the kernel attached them (SCM_CREDENTIALS); null if the kernel attached none. */
  pid: number | null;
  uid: number | null;
  gid: number | null;
}

export interface NotifyReceiver {
  /** The value to put in NOTIFY_SOCKET: an absolute path, or `@name` for an abstract socket. */
  address: string;
  /** Every datagram received so far, in arrival order. */
  messages: NotifyMessage[];
  /** Resolves with the first message (already received or future) that matches; rejects after timeoutMs. */
  waitFor(predicate: (message: NotifyMessage) => boolean, timeoutMs?: number): Promise<NotifyMessage>;
  /** Stops the receiver and removes its socket file; idempotent. */
  close(): Promise<void>;
}

export interface NotifyReceiverOptions {
  /** Bind an abstract name (`@sentinel-test-…`) instead of a file in a fresh temp dir. */
  abstract?: boolean;
  /** Bind exactly this address (path or `@name`) instead of a generated one. */
  address?: string;
}

const SCRIPT = String.raw`
import json, os, select, socket, struct, sys
address = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
# A leading NUL makes CPython bind an abstract name with the exact length, as systemd does.
s.bind("\0" + address[1:] if address.startswith("@") else address)
out = sys.stdout
out.write(json.dumps({"ready": True}) + "\n"); out.flush()
stdin = sys.stdin.fileno()
while True:
    readable, _, _ = select.select([s, stdin], [], [])
    if stdin in readable and not os.read(stdin, 4096):
        break
    if s in readable:
        data, ancdata, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(12))
        pid = uid = gid = None
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= 12:
                pid, uid, gid = struct.unpack("iII", payload[:12])
        out.write(json.dumps({"data": data.decode("utf-8", "replace"), "pid": pid, "uid": uid, "gid": gid}) + "\n")
        out.flush()
if not address.startswith("@"):
    try: os.unlink(address)
    except OSError: pass
`;

export async function startNotifyReceiver(options: NotifyReceiverOptions = {}): Promise<NotifyReceiver> {
  if (!existsSync(PYTHON)) throw new Error(`the notify receiver needs ${PYTHON} (Debian package python3)`);
  let dir: string | undefined;
  let address = options.address;
  if (address === undefined) {
    if (options.abstract) {
      address = `@sentinel-test-${process.pid}-${randomBytes(6).toString('hex')}`;
    } else {
      dir = mkdtempSync(join(tmpdir(), 'sentinel-notify-'));
      address = join(dir, 'notify.sock');
    }
  }

  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(PYTHON, ['-I', '-c', SCRIPT, address], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: NotifyMessage[] = [];
  const waiters = new Set<{ check(): void; fail(error: Error): void }>();
  let stderr = '';
  let exited: Error | undefined;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 16_384) stderr += chunk;
  });
  // An EPIPE on stdin after the child died is expected; the exit handler reports the death.
  child.stdin.on('error', () => {});

  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = new Error(`notify receiver exited (code ${code}, signal ${signal}): ${stderr.trim()}`);
      for (const waiter of waiters) waiter.fail(exited);
      resolve();
    });
  });

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`notify receiver did not start within 5 s: ${stderr.trim()}`)),
      5000,
    );
    child.once('exit', () => {
      clearTimeout(timer);
      reject(exited);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return;
      }
      if (isReady(parsed)) {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (!isMessage(parsed)) return;
      messages.push(parsed);
      for (const waiter of waiters) waiter.check();
    });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exitedPromise;
        clearTimeout(killer);
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  try {
    await ready;
  } catch (error) {
    await close();
    throw error;
  }

  return {
    address,
    messages,
    waitFor(predicate, timeoutMs = 5000) {
      return new Promise<NotifyMessage>((resolve, reject) => {
        const waiter = {
          check() {
            const found = messages.find(predicate);
            if (!found) return;
            finish();
            resolve(found);
          },
          fail(error: Error) {
            finish();
            reject(error);
          },
        };
        const timer = setTimeout(() => {
          waiter.fail(
            new Error(`no matching notify message within ${timeoutMs} ms; received: ${JSON.stringify(messages)}`),
          );
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        waiters.add(waiter);
        waiter.check();
        if (exited && waiters.has(waiter)) waiter.fail(exited);
      });
    },
    close,
  };
}

function isReady(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { ready?: unknown }).ready === true;
}

function isMessage(value: unknown): value is NotifyMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const idOrNull = (v: unknown) => v === null || (typeof v === 'number' && Number.isInteger(v));
  return typeof m.data === 'string' && idOrNull(m.pid) && idOrNull(m.uid) && idOrNull(m.gid);
}
