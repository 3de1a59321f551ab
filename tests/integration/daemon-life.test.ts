import { describe, it, expect } from 'vitest';
import { connect } from 'node:net';
import { testDaemon } from '../helpers/daemon.ts';

const listening = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});

describe('the daemon\'s life', () => {
  it('a stop before start stops nothing, and the daemon started after it still stops', async () => {
    const { daemon } = testDaemon({});
    await daemon.stop();
    await daemon.start();
    const port = daemon.apiPort!;
    expect(await listening(port)).toBe(true);
    await daemon.stop();
    expect(await listening(port)).toBe(false);
    await daemon.stop(); // twice: nothing more
  });

  it('says it is alive and ready without a token, and not ready (503, naming the check) when its store stops answering', async () => {
    const { daemon } = testDaemon({});
    await daemon.start();
    const base = `http://127.0.0.1:${daemon.apiPort}`;
    try {
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'alive' });
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', checks: { started: 'ok', store: 'ok' } }]);
      await daemon.store.db.close();
      const down = await fetch(`${base}/readyz`);
      expect(down.status).toBe(503);
      expect((await down.json()).checks.store).toMatch(/^unreachable: /);
    } finally {
      await daemon.stop();
    }
  });
});
