// systemd socket activation (sd_listen_fds(3)): the listening socket arrives as fd 3 when LISTEN_PID names this
// process. The variables are removed afterwards so that no child mistakes them for its own.

export const SD_LISTEN_FDS_START = 3;

/** fd 3 when systemd passed this process a listening socket, else undefined. */
export function activatedFd(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | undefined {
  if (env.LISTEN_PID !== String(pid)) return undefined;
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count < 1) return undefined;
  return SD_LISTEN_FDS_START;
}

/** How many fds systemd passed (only the first is used). */
export function activatedCount(env: NodeJS.ProcessEnv = process.env): number {
  const count = Number(env.LISTEN_FDS);
  return Number.isInteger(count) && count > 0 ? count : 0;
}

export function clearActivationEnv(env: NodeJS.ProcessEnv = process.env): void {
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
}
