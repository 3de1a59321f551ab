import type { Kernel, Module } from '../src/module.ts';
import { bounded, module } from '../src/module.ts';
import type { SnmpTargetConfig, MqttBrokerConfig } from '../src/config/schema.ts';
import type { Collector } from './collector.ts';
import { SnmpCollector } from './snmp/collector.ts';
import { loadProfiles, resolveProfiles } from './snmp/profile.ts';
import { resolveTarget, netSnmpSessionFactory, type SessionFactory } from './snmp/session.ts';
import { MqttCollector } from './mqtt/collector.ts';
import type { MqttConnect } from './mqtt/connect.ts';
import { IcmpCollector, type Fping } from './icmp/collector.ts';
import { TrapCollector } from './traps/collector.ts';
import { loadTrapDefinitions, type TrapHealth } from './traps/definitions.ts';
import { linkElement, confirm, settleIfContradicted } from './traps/confirm.ts';
import { ApiError } from '../src/api/http.ts';
import { ok } from '../src/api/openapi.ts';

/** The I/O the collectors are built with; tests and benchmarks pass their own. */
export interface CollectorFactories {
  snmpSession?: SessionFactory;
  mqttConnect?: MqttConnect;
  fping?: Fping;
}

/**
 * The inputs, last up and first down: SNMP targets (the config's and `more`'s: the simulator's),
 * one MQTT collector per broker (likewise), polling only the targets `more.owns` (in a cluster), ICMP when it has targets, the SNMP trap
 * receiver when `traps.enabled` (on every instance: devices send to the addresses they are given); each emits into the pipeline.
 * Built at start, so a profile or trap definition that went missing since check-config stops the start with its name.
 */
export function collectorsModule(k: Kernel, more: { targets(): SnmpTargetConfig[]; brokers(): MqttBrokerConfig[]; owns?: (target: string) => boolean; member?: string }, io: CollectorFactories) {
  const { config, log } = k;
  const collectors: Collector[] = [];
  let traps: TrapCollector | undefined;
  const m: Module = module('collectors', 'every', async () => {
    const profiles = loadProfiles(config.snmp.profilesDir);
    const targets = [...config.snmp.targets, ...more.targets()].map((t) => resolveTarget(t, config.snmp.defaults));
    for (const t of targets) resolveProfiles(t.profiles, profiles, `snmp target ${t.name}`);
    if (targets.length > 0) {
      collectors.push(new SnmpCollector({
        targets, profiles, concurrency: config.snmp.concurrency,
        sessionFactory: io.snmpSession ?? netSnmpSessionFactory, ...(more.owns && { owns: more.owns }),
        known: (id: string) => k.topology().elements.has(id),
        // A scheduled poll may contradict what a trap left (its clear lost: traps are UDP).
        // A parent's poll also reads the ports its children hang off (`uplink.parentIfIndex`).
        onPolled: (element, r) => {
          if (!traps) return;
          if (traps.holds(element)) settleIfContradicted(traps, element, element, [r], 'a poll found it up');
          for (const c of k.topology().children.get(element) ?? []) {
            if (traps.holds(c)) settleIfContradicted(traps, c, element, [r], 'a poll of its parent found its port up');
          }
        },
        logger: log.child({ component: 'collector', collector: 'snmp' }),
      }));
    }
    for (const broker of [...config.mqtt.brokers, ...more.brokers()]) {
      collectors.push(new MqttCollector({
        broker, logger: log.child({ component: 'collector', collector: 'mqtt', broker: broker.name }), ...(io.mqttConnect && { connect: io.mqttConnect }),
        ...(more.member && { instance: more.member }),
        elements: (id) => k.topology().elements.get(id), times: { aheadMs: config.times.maxAhead, pastMs: config.times.maxSampleAge },
      }));
    }
    if (config.icmp.targets.length > 0) collectors.push(new IcmpCollector({ config: config.icmp, logger: log.child({ component: 'collector', collector: 'icmp' }), ...(io.fping && { run: io.fping }), ...(more.owns && { owns: more.owns }) }));
    if (config.traps.enabled) {
      const snmp = collectors.find((c): c is SnmpCollector => c instanceof SnmpCollector);
      traps = new TrapCollector({
        config: config.traps, definitions: loadTrapDefinitions(config.traps.definitions), targets,
        known: (id) => k.topology().elements.has(id), logger: log.child({ component: 'collector', collector: 'traps' }),
        linkElement: (sender, ifIndex) => linkElement(k.topology(), sender, ifIndex),
        // A trap can be lost or lie: the element is polled at once, and the poll decides when they disagree.
        ...(snmp && { onHealth: (element: string, health: TrapHealth, sender: string, cleared?: 'down' | 'degraded') => void confirm(snmp, traps!, element, health, sender, log, cleared) }),
      });
      collectors.push(traps);
    }
    for (const c of collectors) await c.start(k.pipeline.emit);
    log.info({ collectors: collectors.map((c) => c.name) }, 'netpulse started');
  }, async (deadline) => {
    await bounded(Promise.all(collectors.map((c) => c.stop())), deadline, 'collectors', log);
  }, {
    metrics: () => collectors.map((c) => c.metrics?.() ?? '').join(''),
    routes: ({ route, roles }) => route({
      method: 'GET', url: '/v1/elements/:id/traps', roles: roles.READ,
      summary: "The last traps an element sent (as this instance received them), and the link and alarm conditions they hold up",
      responses: ok('Its traps'),
    }, async (req) => {
      const id = (req.params as { id: string }).id;
      if (!k.topology().elements.has(id)) throw new ApiError(404, 'not_found', `no element ${id}`);
      return {
        element: id,
        traps: [...(traps?.recent(id) ?? [])].reverse().map((t) => ({ ...t, at: new Date(t.at).toISOString() })),
        conditions: traps?.conditions.active(id) ?? [],
      };
    }),
  });
  return { module: m, collectors };
}
