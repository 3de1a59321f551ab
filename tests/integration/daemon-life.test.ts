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
});
