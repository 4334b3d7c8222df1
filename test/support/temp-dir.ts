// A private temporary directory for one test, removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HasTeardown {
  teardown(fn: () => void | Promise<void>): void;
}

export function tempDir(t: HasTeardown, prefix = 'sentinel-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
