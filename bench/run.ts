// All benchmarks of the foundation, each printing its figures as ratios against a reference
// measured in the same run. `npm run bench`; BENCH_SECONDS shortens or lengthens the SNMP rounds.
import { benchSnmp } from './snmp-poll.ts';
import { benchSink } from './sink.ts';
import { benchMemory } from './memory.ts';
import { benchMqtt } from './mqtt.ts';
import { benchIcmp } from './icmp.ts';
import { benchCorrelation } from './correlation.ts';
import { benchDetection } from './detection.ts';
import { benchSubscribers } from './subscribers.ts';

console.log('== SNMP polling end to end (Debian snmpd on loopback) ==');
await benchSnmp();
console.log('\n== Time-series sink with its spool (VictoriaMetrics on loopback) ==');
await benchSink();
console.log('\n== Memory: the daemon polling 1,000 simulated devices ==');
await benchMemory();
console.log('\n== MQTT ingest, QoS 1 JSON (Mosquitto on loopback) ==');
await benchMqtt();
console.log('\n== ICMP probing, 1,000 loopback targets (fping) ==');
await benchIcmp();
console.log('\n== Outage correlation: a storm in 50,000 elements ==');
await benchCorrelation();
console.log('\n== Outage detection: 1,000 polled elements, switches dying one by one ==');
await benchDetection();
console.log('\n== Subscriber import, 10 million rows into SQLite ==');
await benchSubscribers();
process.exit(0);
