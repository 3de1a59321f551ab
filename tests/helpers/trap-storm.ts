// A trap storm from one source, run as a process of its own so the receiver's event loop is free:
//   node tests/helpers/trap-storm.ts <port> <count> <from-address> <community> <sysName>
// Sends `count` SNMPv2c linkDown traps to 127.0.0.1:<port> from <from-address>: half of them the same
// trap again and again (ifIndex 7: duplicates), half of them each about an interface of its own (a
// rate to limit). Prints "sent <count> in <ms> ms" when done.
import dgram from 'node:dgram';
import { v2cTrap } from './snmp-wire.ts';

const [port, count, from, community, sysName] = process.argv.slice(2);
const s = dgram.createSocket('udp4');
s.bind(0, from, async () => {
  const start = Date.now();
  for (let i = 0; i < Number(count); i++) {
    const ifIndex = i % 2 ? 7 : 1000 + i;
    s.send(v2cTrap({ community, requestId: i, uptime: i, trapOid: '1.3.6.1.6.3.1.1.5.3', vbs: [
      { oid: `1.3.6.1.2.1.2.2.1.1.${ifIndex}`, v: { type: 'int', value: ifIndex } },
      { oid: '1.3.6.1.2.1.1.5.0', v: { type: 'str', value: sysName } },
    ] }), Number(port), '127.0.0.1');
    if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the socket drain its queue
  }
  await new Promise((r) => setImmediate(r));
  console.log(`sent ${count} in ${Date.now() - start} ms`);
  s.close();
});
