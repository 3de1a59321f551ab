import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, onTestFinished } from 'vitest';

const made = new Set<string>();
const beforeRemoval: Array<() => Promise<void>> = [];

/** True while a test runs (not while the file is collected, nor outside vitest). */
function inTest(): boolean {
  try { return expect.getState().currentTestName !== undefined; } catch { return false; }
}

/**
 * A directory under the system temp dir, readable by the unprivileged users servers run as. It is
 * removed when the test file ends (not when the test does: a daemon killed and started again, or a
 * server shared by the file's tests, may still need it); outside vitest (bench scripts), at exit.
 */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `netpulse-${prefix}-`));
  chmodSync(d, 0o755);
  made.add(d);
  // Only when a file first imported the helpers inside a test: no file hook then, the test's end it is.
  if (!fileHook && inTest()) onTestFinished(() => remove(d));
  return d;
}

/**
 * Runs `stop` at the end of the test file before the temp dirs go: what still runs in them (a
 * server a test left running) is stopped first.
 */
export function beforeTempDirsRemoved(stop: () => Promise<void>): void {
  beforeRemoval.push(stop);
}

function remove(d: string): void {
  rmSync(d, { recursive: true, force: true });
  made.delete(d);
}

function removeAll(): void {
  for (const d of made) remove(d);
}

// Vitest evaluates this module once per test file, while it collects the file: the hook belongs to
// the file. `after` hooks run in reverse order of registration, so this one, registered at the first
// import of a helper, runs after the file's own `afterAll`s have stopped what they started.
let fileHook = false;
if (!inTest()) {
  try {
    afterAll(async () => {
      for (const stop of beforeRemoval.splice(0)) await stop();
      removeAll();
    });
    fileHook = true;
  } catch {
    // Not in a test file (a bench script imports the helpers): the exit hook below.
  }
}
process.on('exit', removeAll);
