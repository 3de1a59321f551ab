import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { hashToken } from '../api/auth.ts';
import type { Store } from '../store/store.ts';
import type { Topology } from '../topology/topology.ts';
import type { ComplaintService } from '../../correlators/complaints/service.ts';
import type { MaintenanceWindow } from '../../correlators/outages/outage.ts';
import { importSubscribers } from '../../correlators/subscribers/import.ts';
import { EmbeddedBroker } from './broker.ts';
import type { SimNetwork } from './network.ts';
import { simSubscribers } from './inventory.ts';
import { Story } from './story.ts';
import { inventoryOf } from '../../correlators/subscribers/inventory-repository.ts';
import { outagesOf } from '../../correlators/outages/repository.ts';

export interface SimulationDeps {
  store: Store;
  topology: () => Topology;
  complaints: ComplaintService;
  /** After planned work was saved, so the correlator sees it (as the maintenance API does). */
  maintenanceChanged: () => Promise<void>;
  /** After the generated inventory was loaded, so active outages' scopes follow it. */
  subscribersChanged: () => Promise<void>;
  told?: (line: string, at: number) => void;
  logger: Logger;
}

/**
 * Starts the simulated operator: the embedded broker (when configured), the devices, the
 * generated inventory (loaded once, into an empty store) and the storyline. Everything else the
 * demo shows is the daemon's own production path. `quiet` ends the storyline before the store
 * closes; `stop` stops the rest once the pipeline has drained.
 */
export async function startSimulation(config: Config, sim: SimNetwork, d: SimulationDeps): Promise<{ quiet(): Promise<void>; stop(): Promise<void> }> {
  const cfg = config.sim;
  const log = d.logger;
  let broker: EmbeddedBroker | undefined;
  if (cfg.mqtt.embedded) {
    broker = new EmbeddedBroker();
    const url = await broker.start(cfg.host, cfg.mqtt.embedded.port);
    sim.useEmbeddedBroker(url);
    log.info({ url }, 'embedded MQTT broker (aedes) listening for the simulator');
  }
  await sim.start();
  log.info({ devices: sim.devices.length }, 'simulated network started');
  if (cfg.subscribers > 0 && (await inventoryOf(d.store).subscriberCount()) === 0) {
    const elements = sim.elements();
    const lines = (async function* () {
      for (const s of simSubscribers(elements, cfg.subscribers)) yield JSON.stringify(s) + '\n';
    })();
    const topology = d.topology();
    const r = await importSubscribers(d.store, lines, { format: 'jsonl', mode: 'incremental', known: (e) => topology.elements.has(e) });
    log.info({ loaded: r.loaded, rejected: r.rejected, seconds: Math.round(r.seconds * 10) / 10 }, 'generated subscriber inventory loaded');
    await d.subscribersChanged();
  }
  let story: Story | undefined;
  if (cfg.story.enabled) {
    story = new Story(sim, [...simSubscribers(sim.elements(), cfg.subscribers)], cfg.story, {
      complain: async (c) => { await d.complaints.submit(d.store, c, Date.now()); },
      plan: async (w: MaintenanceWindow) => {
        await outagesOf(d.store).saveMaintenance(w, 'demo-story', Date.now());
        await d.maintenanceChanged();
      },
      told: d.told,
      logger: log.child({ component: 'story' }),
    });
    story.start();
    log.info({ cycle: cfg.story.cycle, firstActIn: cfg.story.startAfter }, 'demo storyline started');
  }
  return {
    /** Ends the storyline (no more faults, complaints or planned work); the devices go on. */
    async quiet() {
      await story?.stop();
    },
    async stop() {
      await story?.stop();
      await sim.stop();
      await broker?.stop();
    },
  };
}

/**
 * The demo's dashboard token: made on first start and kept in `<dataDir>/dashboard-token`
 * (readable by the daemon's user only), so the dashboard's address stays the same across restarts.
 */
export function dashboardToken(dataDir: string): string {
  const file = join(dataDir, 'dashboard-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(18).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/**
 * The simulator's dashboard access: its token (made once, kept in the data directory) may read the
 * dashboard; where to find it is logged when the API listens, never the token itself.
 */
export function dashboardAccess(dataDir: string, log: Logger): { extraTokens: () => { name: string; hash: string; roles: 'dashboard'[] }[]; onListening: (url: string) => void } {
  const token = dashboardToken(dataDir);
  return {
    extraTokens: () => [{ name: 'dashboard', hash: hashToken(token), roles: ['dashboard'] }],
    onListening: (url) => log.info({ url: `${url}/ui/`, tokenFile: join(dataDir, 'dashboard-token') }, 'NOC dashboard (its token is in tokenFile)'),
  };
}
