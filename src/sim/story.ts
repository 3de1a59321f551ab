import type { Category, Channel, Complaint } from '../../correlators/complaints/complaint.ts';
import type { MaintenanceWindow } from '../../correlators/outages/outage.ts';
import type { Element } from '../topology/topology.ts';
import type { Logger } from '../log.ts';
import type { SimNetwork } from './network.ts';
import type { SimSubscriber } from './inventory.ts';

/** What happens to the simulated network at one moment of the story. */
export type Effect =
  /** The devices stop answering (power lost, fibre cut): SNMP times out, MQTT telemetry stops and its will says offline. */
  | { do: 'down'; devices: string[] }
  | { do: 'up'; devices: string[] }
  /** A cell's radio gets worse (or, with 0, recovers). */
  | { do: 'radio'; station: string; cell: number; db: number }
  /** Planned work announced through the maintenance path. */
  | { do: 'plan'; window: MaintenanceWindow }
  /** Subscribers served by `elements` complain, `per10k` a minute per 10,000 of them (at least `min`), until `until`. */
  | { do: 'complaints'; elements: string[]; categories: Category[]; per10k: number; min?: number; until: number; withCell?: boolean };

export interface Act {
  /** ms from the start of the turn */
  at: number;
  say?: string;
  effect: Effect;
}

/** The network the script picks its victims from. */
export interface Cast {
  switches: string[];
  stations: { id: string; cells: number }[];
  /** The elements that are devices of their own (they go dark with their uplink). */
  devices: ReadonlySet<string>;
  /** Everything below each element (cells, PON ports), for the complaint waves. */
  below: (id: string) => string[];
}

/**
 * One turn of the storyline, pure: a switch loses power and is repaired; a cell's radio degrades
 * and recovers; a base station's backhaul fibre flaps; planned work takes a station down inside
 * its announced window; a cell fails silently (its telemetry looks fine) and only its
 * subscribers' complaints reveal it. Times are for a 10-minute turn, scaled to `cycleMs`; the
 * victims rotate from turn to turn.
 */
export function script(cast: Cast, turn: number, cycleMs: number): Act[] {
  const s = (seconds: number) => Math.round((seconds * cycleMs) / 600);
  const acts: Act[] = [];
  const at = (seconds: number, effect: Effect, say?: string) => acts.push({ at: s(seconds), effect, ...(say && { say }) });
  const sw = cast.switches.length > 0 ? cast.switches[turn % cast.switches.length] : undefined;
  // The other acts' stations: none behind this turn's switch, and far apart (a subscriber's second
  // cell may be on the next station), so each act's complaints are about that act alone.
  const behindSw = new Set(sw ? cast.below(sw) : []);
  const others = cast.stations.filter((x) => !behindSw.has(x.id));
  const pool = others.length > 0 ? others : cast.stations;
  const step = Math.max(1, Math.floor(pool.length / 4));
  const st = (k: number) => pool[(turn * 7 + (k - 1) * step) % pool.length];
  if (sw) {
    const under = cast.below(sw);
    const behind = [sw, ...under.filter((id) => cast.devices.has(id))];
    at(0, { do: 'down', devices: behind }, `${sw} loses power: it and the ${behind.length - 1} devices behind it go dark`);
    at(5, { do: 'complaints', elements: under, categories: ['no_service', 'no_service', 'broadband_down', 'call_drop'], per10k: 15, until: s(70) });
    at(50, { do: 'up', devices: behind }, `${sw} repaired: power restored`);
  }
  if (cast.stations.length === 0) return acts;
  const weak = st(1);
  const weakCell = 1 + (turn % weak.cells);
  at(90, { do: 'radio', station: weak.id, cell: weakCell, db: -32 }, `${weak.id}-C${weakCell}: interference, RSRP and SINR fall`);
  at(100, { do: 'complaints', elements: [`${weak.id}-C${weakCell}`], categories: ['weak_signal', 'slow_data', 'call_drop'], per10k: 60, min: 1, until: s(210), withCell: true });
  at(210, { do: 'radio', station: weak.id, cell: weakCell, db: 0 }, `${weak.id}-C${weakCell}: interference source switched off`);
  const flap = st(2);
  // Up for 12 s at a time: long enough to look recovered, too short for the recovery to be confirmed.
  const flapPlan: [number, 'down' | 'up'][] = [[240, 'down'], [258, 'up'], [270, 'down'], [288, 'up'], [300, 'down'], [318, 'up']];
  for (const [t, d] of flapPlan) at(t, { do: d, devices: [flap.id] }, d === 'down' ? `${flap.id}: backhaul fibre drops` : `${flap.id}: backhaul fibre back`);
  at(242, { do: 'complaints', elements: cast.below(flap.id), categories: ['no_service', 'call_drop'], per10k: 40, min: 1, until: s(320) });
  const planned = st(3);
  at(300, { do: 'plan', window: { id: `demo-work-${turn}`, elements: [planned.id], start: 0, end: 0, reason: 'demo: software upgrade' } }, `planned work on ${planned.id} announced`);
  at(380, { do: 'down', devices: [planned.id] }, `${planned.id}: taken down for planned work`);
  at(440, { do: 'up', devices: [planned.id] }, `${planned.id}: planned work done`);
  const silent = st(4);
  const silentCell = `${silent.id}-C${1 + ((turn + 1) % silent.cells)}`;
  at(460, { do: 'complaints', elements: [silentCell], categories: ['no_service', 'no_service', 'call_drop'], per10k: 200, min: 6, until: s(560), withCell: true },
    `${silentCell} stops carrying traffic while its telemetry looks normal (a sleeping cell)`);
  return acts.sort((a, b) => a.at - b.at);
}

const CHANNELS: Channel[] = ['hotline', 'hotline', 'app', 'web', 'store'];
const NOISE: Category[] = ['billing', 'billing', 'service_attitude', 'wifi', 'slow_data', 'other', 'weak_signal'];
const WORDS: Partial<Record<Category, string>> = {
  no_service: 'No signal at all since a while', broadband_down: 'Internet at home is down', call_drop: 'Calls keep dropping',
  weak_signal: 'Signal is very weak here', slow_data: 'Mobile data is extremely slow', wifi: 'Wi-Fi at home keeps disconnecting',
  billing: 'Question about my last bill', service_attitude: 'Unhappy with the shop staff', other: 'Something is not working',
};

export interface StoryHooks {
  /** Takes a complaint as a complaint system would send it. */
  complain(c: Complaint): Promise<void>;
  /** Announces planned work, as the maintenance API does. */
  plan(w: MaintenanceWindow): Promise<void>;
  /** A line of the story, for the log and the dashboard. */
  told?(line: string, at: number): void;
  logger: Logger;
  /** Where its draws come from (who complains, about what, when): Math.random unless a test fixes them. */
  random?: () => number;
}

interface Wave { elements: string[]; categories: Category[]; perMinute: number; until: number; withCell: boolean; owed: number; pool: SimSubscriber[] }

/**
 * Plays the script on the simulated network, turn after turn, and generates the complaints that
 * follow the faults, plus background noise, from the generated subscribers.
 */
export class Story {
  private readonly net: SimNetwork;
  private readonly hooks: StoryHooks;
  private readonly cfg: { cycle: number; startAfter: number; noisePerMinute: number; faultComplaintsPerMinute: number };
  private readonly subscribers: SimSubscriber[];
  private readonly byElement = new Map<string, SimSubscriber[]>();
  private readonly cast: Cast;
  private timer: NodeJS.Timeout | undefined;
  private started = 0;
  private turn = -1;
  private next = 0;
  private acts: Act[] = [];
  private waves: Wave[] = [];
  private noiseOwed = 0;
  private seq = 0;
  private last = 0;
  private pending = Promise.resolve();

  private readonly random: () => number;
  constructor(net: SimNetwork, subscribers: SimSubscriber[], cfg: Story['cfg'], hooks: StoryHooks) {
    this.random = hooks.random ?? Math.random;
    this.net = net;
    this.hooks = hooks;
    this.cfg = cfg;
    this.subscribers = subscribers;
    for (const s of subscribers) for (const e of s.serving) {
      const list = this.byElement.get(e) ?? [];
      list.push(s);
      this.byElement.set(e, list);
    }
    const elements = net.elements();
    const children = new Map<string, Element[]>();
    for (const e of elements) for (const p of e.parents) children.set(p, [...(children.get(p) ?? []), e]);
    const below = (id: string): string[] => (children.get(id) ?? []).flatMap((c) => [c.id, ...below(c.id)]);
    this.cast = {
      // Its own devices only: the generated fleet's hubs have no agent to stop.
      switches: elements.filter((e) => e.kind === 'aggregation' && net.device(e.id)).map((e) => e.id),
      stations: net.devices.filter((d) => d.spec.kind === 'base-station').map((d) => ({ id: d.spec.name, cells: d.spec.rows })),
      devices: new Set(net.devices.map((d) => d.spec.name)),
      below,
    };
  }

  start(now = Date.now()): void {
    this.started = now + this.cfg.startAfter;
    this.last = now;
    this.timer = setInterval(() => this.step(Date.now()), 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pending;
  }

  /** Advances the story to `now`: acts that are due, then the complaints owed since the last step. */
  step(now: number): void {
    const elapsed = now - this.started;
    if (elapsed >= 0) {
      const turn = Math.floor(elapsed / this.cfg.cycle);
      if (turn !== this.turn) {
        this.turn = turn;
        this.acts = script(this.cast, turn, this.cfg.cycle);
        this.next = 0;
      }
      const into = elapsed - turn * this.cfg.cycle;
      const turnStart = this.started + turn * this.cfg.cycle;
      while (this.next < this.acts.length && this.acts[this.next].at <= into) this.act(this.acts[this.next++], turnStart, now);
    }
    const minutes = Math.max(0, now - this.last) / 60_000;
    this.last = now;
    this.noiseOwed += this.cfg.noisePerMinute * minutes;
    for (; this.noiseOwed >= 1; this.noiseOwed--) {
      const s = this.subscribers[Math.floor(this.random() * this.subscribers.length)];
      if (s) this.complaint(s, NOISE[Math.floor(this.random() * NOISE.length)], now, false);
    }
    this.waves = this.waves.filter((w) => w.until > now);
    for (const w of this.waves) {
      w.owed += w.perMinute * minutes;
      for (; w.owed >= 1; w.owed--) {
        const s = w.pool[Math.floor(this.random() * w.pool.length)];
        const cell = w.withCell ? s.serving.find((e) => w.elements.includes(e)) : undefined;
        this.complaint(s, w.categories[Math.floor(this.random() * w.categories.length)], now, cell);
      }
    }
  }

  private act(a: Act, turnStart: number, now: number): void {
    if (a.say) {
      this.hooks.logger.info({ turn: this.turn }, `demo story: ${a.say}`);
      this.hooks.told?.(a.say, now);
    }
    const e = a.effect;
    switch (e.do) {
      case 'down':
      case 'up':
        for (const name of e.devices) {
          const d = this.net.device(name);
          if (d) this.track(e.do === 'down' ? d.stop() : d.start().then(() => undefined));
        }
        return;
      case 'radio': {
        const d = this.net.device(e.station);
        if (!d) return;
        if (e.db === 0) d.state.cellOffsetDb.delete(e.cell);
        else d.state.cellOffsetDb.set(e.cell, e.db);
        return;
      }
      case 'plan': {
        // Announced now, more than a minute ahead, from shortly before the work to shortly after it (the script's 380 s to 440 s).
        const scale = this.cfg.cycle / 600_000;
        const w = { ...e.window, id: `${e.window.id}-${turnStart.toString(36)}`, start: turnStart + Math.round(375_000 * scale), end: turnStart + Math.round(450_000 * scale) };
        this.track(this.hooks.plan(w));
        return;
      }
      case 'complaints': {
        const seen = new Set<SimSubscriber>();
        for (const el of e.elements) for (const s of this.byElement.get(el) ?? []) seen.add(s);
        const pool = [...seen];
        if (pool.length === 0) return;
        const perMinute = Math.max(e.min ?? 0, (pool.length / 10_000) * e.per10k * (this.cfg.faultComplaintsPerMinute / 15));
        this.waves.push({ elements: e.elements, categories: e.categories, perMinute, until: turnStart + e.until, withCell: e.withCell ?? false, owed: 0.5, pool });
        return;
      }
    }
  }

  private complaint(s: SimSubscriber, category: Category, now: number, cell: string | false | undefined): void {
    const c: Complaint = {
      id: `demo-${this.started.toString(36)}-${++this.seq}`, subscriberId: s.id,
      channel: CHANNELS[Math.floor(this.random() * CHANNELS.length)], category,
      text: WORDS[category], reportedAt: now - Math.floor(this.random() * 20_000), ...(cell && { cell }),
    };
    this.track(this.hooks.complain(c));
  }

  private track(p: Promise<void>): void {
    this.pending = Promise.all([this.pending, p.catch((err) => this.hooks.logger.warn({ err }, 'demo story step failed'))]).then(() => undefined);
  }
}
