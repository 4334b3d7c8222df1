// The Node flags every daemon Sentinel starts runs with (`daemon start`, the systemd and launchd units, `npm start`).
// A warm credential request allocates a few kilobytes that die young, so V8's default young generation (16 MiB
// semi-spaces on 64-bit) only holds garbage between scavenges and shows up as resident memory. The cap is a trade
// measured with bench/daemon.ts (Node 20, same runs): 2 MiB kept the idle daemon smallest (84 MiB against 111 with no
// cap) but scavenged so often that one request in a hundred waited for one (p99 2.0× a bare server's); 4 MiB costs
// 4 MiB more (88 MiB) and brings p99 to 1.4–1.5× and CPU per request down a little.
// --single-threaded-gc was measured and not kept: bench/node-flags.ts, five side-by-side runs, gave -5.7, -2.9, -3.7,
// -3.2 and +3.4 % CPU per request — within the noise — and it would put every major GC's marking on the thread that
// answers credentials, which a large policy's heap would feel.
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
