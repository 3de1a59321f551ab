// Every benchmark, each printing its figures as ratios against a reference measured in the same
// run. `npm run bench` runs them all; `npm run bench -- mqtt icmp` runs those named;
// `npm run bench -- peers` runs the side-by-side set of issue 21 (netpulse beside Prometheus,
// snmp_exporter and Alertmanager, and beside bare clients, on the daemon's real path).
import { benchSnmp } from './snmp-poll.ts';
import { benchPaging } from './paging.ts';
import { benchSink } from './sink.ts';
import { benchMemory } from './memory.ts';
import { benchMqtt } from './mqtt.ts';
import { benchMqttAcks } from './mqtt-acks.ts';
import { benchIcmp } from './icmp.ts';
import { benchCorrelation } from './correlation.ts';
import { benchDetection } from './detection.ts';
import { benchSubscribers } from './subscribers.ts';
import { benchImpact } from './impact.ts';
import { benchComplaints } from './complaints.ts';
import { benchCompensation } from './compensation.ts';
import { benchLabelled } from './labelled.ts';
import { benchCluster } from './cluster.ts';
import { benchTraps } from './traps.ts';
import { benchReports } from './reports.ts';
import { benchDashboard } from './dashboard.ts';

const BENCHES: [name: string, title: string, run: () => Promise<unknown>][] = [
  ['snmp', 'SNMP polling, the whole job: the netpulse process beside Prometheus + snmp_exporter, same agents and OIDs (snmpd, VictoriaMetrics)', benchSnmp],
  ['paging', 'Detection and paging: a switch and its 24 base stations die; netpulse beside Prometheus + Alertmanager, one webhook receiver', benchPaging],
  ['sink', 'Time-series sink with its spool (VictoriaMetrics on loopback)', benchSink],
  ['memory', 'Memory: the daemon polling 1,000 simulated devices', benchMemory],
  ['mqtt', 'MQTT ingest, QoS 1 JSON, counted in VictoriaMetrics: the netpulse process beside a bare mqtt.js + influxdb-client receiver (Mosquitto)', benchMqtt],
  ['mqtt-acks', 'MQTT acknowledgements under a steady stream, with a kill -9 (a netpulse process, Mosquitto, VictoriaMetrics)', benchMqttAcks],
  ['icmp', 'ICMP probing, 1,000 loopback targets (fping)', benchIcmp],
  ['correlation', 'Outage correlation: a storm in 50,000 elements', benchCorrelation],
  ['detection', 'Outage detection: 1,000 polled elements, switches dying one by one', benchDetection],
  ['subscribers', 'Subscriber import, 10 million rows into SQLite', benchSubscribers],
  ['impact', 'Subscriber impact with 10 million subscribers: scope, and "is X affected?" over HTTP', benchImpact],
  ['complaints', 'Complaints: matching quality on a labelled week, and 1,000/s over HTTP with 10M subscribers', benchComplaints],
  ['compensation', 'Compensation: the ledger for 1,000,000 subscribers, and outage closed to first credit', benchCompensation],
  ['labelled', 'Correlation on a labelled run: faults at every level, dead MQTT-only stations, silent parents, late and out-of-order complaints', benchLabelled],
  ['cluster', 'Cluster mode (issue 19): failover after kill -9 of the leader, scale-out to 3 members, steady-state overhead (netpulse processes, PostgreSQL, snmpd)', benchCluster],
  ['reports', 'Service reports (issue 22): the monthly report over 2,000 outages, 10M subscribers, 1M credits; the policy what-if against the ledger\'s settlement of the same outages', benchReports],
  ['dashboard', 'The NOC dashboard at 50,000 elements (issue 23): summary endpoints p99, first render and a new outage on screen in headless Chromium', benchDashboard],
  ['traps', 'SNMP traps (issue 20): linkDown trap against poll-only detection (snmpd), trap throughput against a bare net-snmp receiver (VictoriaMetrics)', benchTraps],
];

/** Named sets of benchmarks. */
const SETS: Record<string, string[]> = { peers: ['snmp', 'paging', 'mqtt', 'impact', 'complaints'] };

const wanted = process.argv.slice(2).flatMap((w) => SETS[w] ?? [w]);
const unknown = wanted.filter((w) => !BENCHES.some(([name]) => name === w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHES.map(([n]) => n).join(', ')}`);
  process.exit(2);
}
for (const [name, title, run] of BENCHES) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== ${title} ==`);
  await run();
}
process.exit(0);
