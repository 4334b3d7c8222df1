// The Node flags every daemon Sentinel starts runs with (`daemon start`, the systemd and launchd units, `npm start`).
// A warm credential request allocates a few kilobytes that die young, so V8's default young generation (16 MiB
// semi-spaces on 64-bit) only holds garbage between scavenges and shows up as resident memory: capping a semi-space at
// 2 MiB keeps the idle daemon about 25 MiB smaller (bench/daemon.ts) for a scavenge every few hundred requests.
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
