import type { Config } from './config/schema.ts';
import type { SimNetwork } from './sim/network.ts';
import { loadProfiles, type Profile } from '../collectors/snmp/profile.ts';
import { loadTrapDefinitions } from '../collectors/traps/definitions.ts';
import { ruleBook } from '../correlators/health/check.ts';
import { Topology, TopologyError } from './topology/topology.ts';
import { loadTopology } from './topology/load.ts';

// What check-config (and the start) checks beyond the schema: the files the config names, and
// what is valid but unwise. Each problem in the `path: message` form of the config validation.

/**
 * Checks what the schema cannot: that every target's profiles exist and load. Returns problems
 * in the same `path: message` form as the config validation.
 */
export function checkProfiles(config: Config): { path: string; message: string }[] {
  let profiles: Map<string, Profile>;
  try {
    profiles = loadProfiles(config.snmp.profilesDir);
  } catch (err) {
    return [{ path: 'snmp.profilesDir', message: (err as Error).message }];
  }
  const problems: { path: string; message: string }[] = [];
  config.snmp.targets.forEach((t, i) => {
    const names = t.profiles ?? config.snmp.defaults.profiles;
    names.forEach((n, j) => {
      if (!profiles.has(n)) {
        problems.push({ path: `snmp.targets[${i}].profiles${t.profiles ? `[${j}]` : ''}`, message: `unknown profile "${n}" (known: ${[...profiles.keys()].join(', ')})` });
      }
    });
  });
  return problems;
}

/**
 * Checks that the trap definitions load (the shipped ones and `traps.definitions`), when traps are
 * enabled or definitions are named: each problem names the file and the path in it.
 */
export function checkTrapDefinitions(config: Config): { path: string; message: string }[] {
  if (!config.traps.enabled && config.traps.definitions.length === 0) return [];
  try {
    loadTrapDefinitions(config.traps.definitions);
    return [];
  } catch (err) {
    return [{ path: 'traps.definitions', message: (err as Error).message }];
  }
}

/**
 * What is valid but unwise: an SNMP or ICMP target whose element is not in the topology (never
 * judged); an MQTT subscription or presence topic that names no elements, kinds or regions (it
 * may speak for every element: any publisher the broker lets in can put a core switch down).
 * Printed by check-config, logged at start.
 */
export function configWarnings(config: Config, topology?: Topology): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const book = ruleBook(config.health.thresholds, config.health.rules);
  // A target whose element is not in the topology is polled and written, but never judged: a typo cuts it out of outage tracking.
  if (topology && topology.size > 0) {
    const check = (kind: string, targets: readonly { name: string; element?: string }[]) => targets.forEach((t, i) => {
      const element = t.element ?? t.name;
      if (!topology.elements.has(element)) out.push({ path: `${kind}.targets[${i}]${t.element ? '.element' : '.name'}`, message: `element "${element}" is not in the topology: it is polled and written but never judged (no health, no outage)` });
    });
    check('snmp', config.snmp.targets);
    check('icmp', config.icmp.targets);
    if (config.traps.enabled) config.traps.sources.forEach((t, i) => {
      if (!topology.elements.has(t.element)) out.push({ path: `traps.sources[${i}].element`, message: `element "${t.element}" is not in the topology: its traps are written but never judged (no health, no outage)` });
    });
  }
  // An SNMP profile writing a measurement the health rules read, but none of the fields they read.
  let profiles: Map<string, Profile> | undefined;
  try {
    profiles = loadProfiles(config.snmp.profilesDir);
  } catch { /* checkProfiles reports it */ }
  for (const [name, p] of profiles ?? []) {
    for (const m of p.measurements) {
      const rules = book.get(m.measurement);
      if (rules && !m.fields.some((f) => rules.some((r) => r.field === f.name || r.field === f.rate))) {
        out.push({ path: `snmp profile ${name}`, message: `${m.measurement} without ${rules.map((r) => r.field).join(', ')}: its health rules have nothing to read` });
      }
    }
  }
  config.mqtt.brokers.forEach((b, i) => {
    const open = (a: { elements?: unknown; kinds?: unknown; regions?: unknown }) => !a.elements && !a.kinds && !a.regions;
    b.subscriptions.forEach((s, j) => {
      if (open(s.allow)) out.push({ path: `mqtt.brokers[${i}].subscriptions[${j}].allow`, message: `names no elements, kinds or regions: ${s.topic} may speak for every element of the topology` });
      // What the health rules read (README: Health): a mapping that feeds none of it judges nothing, silently.
      const fields = Object.keys(s.fields);
      const rules = book.get(s.measurement ?? '');
      if (s.measurement === 'reachability' || s.format === 'line' || s.format === 'value') return;
      if (!rules) {
        out.push({ path: `mqtt.brokers[${i}].subscriptions[${j}].measurement`, message: `no health rule reads ${s.measurement} (they read reachability, ${[...book.keys()].join(', ')}; health.rules adds more): it is written, but judges nothing` });
      } else if (!fields.some((f) => rules.some((r) => r.field === f))) {
        out.push({ path: `mqtt.brokers[${i}].subscriptions[${j}].fields`, message: `${s.measurement} without ${rules.map((r) => r.field).join(', ')}: its health rules have nothing to read (its elements stay unknown)` });
      }
    });
    if (b.presence && open(b.presence.allow)) out.push({ path: `mqtt.brokers[${i}].presence.allow`, message: `names no elements, kinds or regions: ${b.presence.topic} may say any element of the topology is offline` });
  });
  return out;
}

/** Checks the topology file, if any: every problem as `topology.file: <where>: <what>`. */
export function checkTopology(config: Config): { path: string; message: string }[] {
  if (!config.topology.file) return [];
  try {
    loadTopology(config.topology.file);
    return [];
  } catch (err) {
    if (err instanceof TopologyError) return err.problems.map((p) => ({ path: 'topology.file', message: `${config.topology.file}: ${p.where}: ${p.message}` }));
    return [{ path: 'topology.file', message: (err as Error).message }];
  }
}

/** The topology: the configured file plus the simulator's own elements. Throws TopologyError. */
export function readTopology(config: Config, sim: SimNetwork | undefined): Topology {
  const b = Topology.build([...(config.topology.file ? loadTopology(config.topology.file).elements.values() : []), ...(sim?.elements() ?? [])]);
  if (!b.topology) throw new TopologyError(config.topology.file ?? 'simulated topology', b.problems);
  return b.topology;
}
