import { build, type Daemon } from '../../src/daemon.ts';
import { validateConfig } from '../../src/config/load.ts';
import { memoryLogger } from '../fakes/logger.ts';
import { tempDir } from './servers.ts';

/** Builds a daemon from a partial config (validated like a file), data in a temp dir. */
export function testDaemon(raw: Record<string, any>): { daemon: Daemon; logs: any[]; dataDir: string } {
  const dataDir = tempDir('daemon');
  // The API on a free port unless the test says otherwise: tests run side by side.
  const api = raw.api === null ? null : { port: 0, ...(raw.api ?? {}) };
  const { config, problems } = validateConfig({ ...raw, api, daemon: { dataDir, shutdownTimeout: '5s', ...(raw.daemon ?? {}) } }, {});
  if (!config) throw new Error(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  const { logger, lines } = memoryLogger();
  return { daemon: build(config, { logger }), logs: lines, dataDir };
}
