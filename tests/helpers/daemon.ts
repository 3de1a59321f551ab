import { build, type Daemon, type DaemonDeps } from '../../src/daemon.ts';
import { validateConfig } from '../../src/config/load.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { tempDir } from './servers.ts';

/** Builds a daemon from a partial config (validated like a file), data in a temp dir. */
export function testDaemon(raw: Record<string, any>, deps: Partial<DaemonDeps> = {}): { daemon: Daemon; logs: any[]; dataDir: string } {
  const dataDir = tempDir('daemon');
  // The API on a free port unless the test says otherwise: tests run side by side.
  const api = raw.api === null ? null : { port: 0, ...(raw.api ?? {}) };
  // Alerts at once unless the test is about the hold-down: most tests follow one outage's alerts.
  const alerts = { holdDown: 0, ...(raw.alerts ?? {}) };
  const { config, problems } = validateConfig({ ...raw, api, alerts, daemon: { dataDir, shutdownTimeout: '5s', ...(raw.daemon ?? {}) } }, {});
  if (!config) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const { logger, lines } = memoryLogger();
  return { daemon: build(config, { logger, ...deps }), logs: lines, dataDir };
}
