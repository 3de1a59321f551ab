import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';

describe('topology reload', () => {
  it('applies a changed file without a restart, and keeps the running topology when the new file is bad', async () => {
    const file = join(tempDir('topo'), 'topology.csv');
    writeFileSync(file, 'id,kind,site,parents\nCORE-1,core,dc1,\nAGG-7,aggregation,n,CORE-1\n');
    const { daemon, logs } = testDaemon({ topology: { file } });
    await daemon.start();
    try {
      expect((await daemon.store.elements()).map((e) => e.id)).toEqual(['AGG-7', 'CORE-1']);
      writeFileSync(file, 'id,kind,site,parents\nCORE-1,core,dc1,\nAGG-7,aggregation,n,CORE-1\nBS-1,base_station,n1,AGG-7;AGG-8\n');
      await expect(daemon.reloadTopology()).rejects.toThrow('line 4 (parents): unknown parent "AGG-8"');
      expect((await daemon.store.elements()).map((e) => e.id)).toEqual(['AGG-7', 'CORE-1']);
      writeFileSync(file, 'id,kind,site,parents\nCORE-1,core,dc1,\nAGG-7,aggregation,n,CORE-1\nAGG-8,aggregation,s,CORE-1\nBS-1,base_station,n1,AGG-7;AGG-8\n');
      expect(await daemon.reloadTopology()).toBe(4);
      expect((await daemon.store.elements()).find((e) => e.id === 'BS-1')!.parents).toEqual(['AGG-7', 'AGG-8']);
      expect(logs.some((l) => l.msg === 'topology reloaded' && l.elements === 4)).toBe(true);
    } finally {
      await daemon.stop();
    }
  });
});
