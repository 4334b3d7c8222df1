// Replacing a file whole: a temporary file next to it, then a rename, so a reader sees the old content or the new,
// never half of either. The temporary file is created exclusively (O_EXCL: a symlink or file already at its name is
// not followed or reused) and never left behind on failure.
import { renameSync, rmSync, writeFileSync } from 'node:fs';

export function replaceFile(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    rmSync(tmp, { force: true }); // one a killed process of the same pid left
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
