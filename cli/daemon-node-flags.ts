// The Node flags every daemon Sentinel starts runs with (`daemon start`, the systemd and launchd units, `npm start`).
// A warm credential request allocates a few kilobytes that die young, so V8's default young generation (16 MiB
// semi-spaces on 64-bit) only holds garbage between scavenges and shows up as resident memory. The cap is a trade
// measured with bench/daemon.ts (Node 20, same runs): 2 MiB kept the idle daemon smallest (84 MiB against 111 with no
// cap) but scavenged so often that one request in a hundred waited for one (p99 2.0× a bare server's); 4 MiB costs
// 4 MiB more (88 MiB) and brings p99 to 1.4–1.5× and CPU per request down a little.
// --single-threaded-gc: with a heap this small, handing each scavenge to V8's helper threads costs more (futex wake-ups,
// a second core taken from the client) than it saves. Two daemons side by side under the same load (tmp A/B, three
// runs, Node 20 and 24): 3–6 % less CPU per request and 3–4 % more requests per second, p99 and p99.9 unchanged.
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--single-threaded-gc'];
