// The reference receiver of bench/mqtt.ts, in its own process: a bare mqtt.js client (persistent
// session, the same receive window as netpulse's) writing each message's point with the bare
// @influxdata/influxdb-client WriteApi (its default batching: 1,000 points or 1 s). mqtt.js
// acknowledges on receipt; nothing is persisted before the write. Prints one JSON line when connected.
//   node bench/mqtt-bare.ts <broker url> <client id> <influx url> <round tag> [receive maximum, 100]
import mqtt from 'mqtt';
import { InfluxDB, Point } from '@influxdata/influxdb-client';

const [url, clientId, influx, round, inFlight = '100'] = process.argv.slice(2);
const api = new InfluxDB({ url: influx, token: 't' }).getWriteApi('o', 'b', 'ms', { maxRetries: 3 });
const c = mqtt.connect(url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600, receiveMaximum: Number(inFlight) } });
c.on('connect', () => console.log(JSON.stringify({ msg: 'connected', time: Date.now() })));
c.on('message', (topic, payload) => {
  const level = topic.split('/');
  const m = JSON.parse(payload.toString());
  api.writePoint(new Point('lte_cell').tag('element', level[1]).tag('cell', `${level[1]}-C${level[3]}`).tag('round', round)
    .floatField('rsrp_dbm', m.rsrp).floatField('sinr_db', m.sinr).intField('connected_users', m.users).timestamp(m.ts));
});
c.on('error', (err) => console.error(err.message));
process.on('SIGTERM', () => { void api.close().finally(() => c.end(false, {}, () => process.exit(0))); });
