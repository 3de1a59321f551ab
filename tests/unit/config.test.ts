import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText, loadConfig, ConfigError, validateConfig } from '../../src/config/load.ts';
import { configWarnings, checkProfiles } from '../../src/check-config.ts';
import { checkPolicies } from '../../correlators/compensation/assemble.ts';
import { tempDir } from '../helpers/temp.ts';

describe('config', () => {
  it('accepts the embedded defaults: simulator on, series in local files', () => {
    const c = loadConfig(undefined, {});
    expect(c.sim.enabled).toBe(true);
    expect(c.timeseries.influx).toBeNull();
    expect(c.timeseries.flushInterval).toBe(1000);
    expect(c.timeseries.spool.maxBytes).toBe(1024 ** 3);
  });

  it('accepts the shipped example with its secrets from the environment', () => {
    const text = readFileSync('config/netpulse.example.yaml', 'utf8');
    const env = { INFLUX_TOKEN: 'tok', SNMP_COMMUNITY: 'c0mmunity', SNMP_AUTH_KEY: 'authkey123', SNMP_PRIV_KEY: 'privkey123', MQTT_PASSWORD: 'mqttpw', BILLING_WEBHOOK_SECRET: 'billing-secret-0123456789', WEBHOOK_SECRET: '5f0c9e7a1b2d4c6e8f0a' };
    const { config, problems } = parseConfigText(text, env);
    expect(problems).toEqual([]);
    expect(checkProfiles(config!)).toEqual([]);
    expect(checkPolicies(config!)).toEqual([]);
    expect(config!.snmp.targets.find((t) => t.version === '3')?.auth?.authKey).toBe('authkey123');
  });

  it('names a bad compensation schedule and a policy that does not exist', () => {
    expect(parseConfigText('compensation: { schedule: "every minute" }', {}).problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['compensation.schedule: not a cron expression (e.g. "*/15 * * * *")']);
    const { config } = parseConfigText('compensation: { policies: [ { policy: nosuch } ] }', {});
    expect(checkPolicies(config!)[0]).toMatchObject({ path: 'compensation.policies', message: expect.stringMatching(/^no policy "nosuch" in .*config\/policies \(there: be-bipt, de-tkg, demo, nl-telecommunicatiewet, ofcom-uk, operator-default\)$/) });
  });

  it.each([
    ['an unknown privacy protocol', 'snmp: { targets: [ { name: a, host: h, version: "3", auth: { user: u, authKey: 12345678, privKey: 12345678, privProtocol: blowfish } } ] }',
      'snmp.targets[0].auth.privProtocol: expected one of aes, aes256b, aes256r, des'],
    ['a short SNMPv3 key', 'snmp: { targets: [ { name: a, host: h, version: "3", auth: { user: u, authKey: short, privKey: 12345678 } } ] }',
      'snmp.targets[0].auth.authKey: must be at least 8 characters (RFC 3414)'],
    ['SNMPv3 without auth', 'snmp: { targets: [ { name: a, host: h, version: "3" } ] }', 'snmp.targets[0].auth: required for SNMP version 3'],
    ['a bad duration', 'snmp: { defaults: { interval: 5 parsecs } }', 'snmp.defaults.interval: expected a duration such as 500ms, 30s, 5m, 1h (got "5 parsecs")'],
    ['a bad size', 'timeseries: { spool: { maxBytes: lots } }', 'timeseries.spool.maxBytes: expected a size such as 512KiB, 64MiB, 1GiB (got "lots")'],
    ['an unknown key', 'snmp: { concurency: 4 }', 'snmp: unknown key "concurency"'],
    ['the example config\'s placeholder secret', 'alerts: { webhooks: [ { name: p, url: "https://pager.example.net/x", secret: change-me-to-a-long-secret } ] }',
      'alerts.webhooks[0].secret: this is a placeholder, not a secret: set a random one (e.g. openssl rand -hex 32)'],
    ['the alert stream on a listener of its own', 'alerts: { sse: { port: 8089 } }',
      'alerts.sse: the alert stream moved to the API: GET /v1/alerts/stream with a bearer token (role noc or dashboard); remove alerts.sse'],
    ['a string where a number belongs', 'snmp: { targets: [ { name: a, host: h, port: "161" } ] }', 'snmp.targets[0].port: expected number, got string'],
    ['a duplicate target', 'snmp: { targets: [ { name: a, host: h }, { name: a, host: i } ] }', 'snmp.targets[1].name: duplicate target name "a" (also targets[0])'],
    ['an InfluxDB without a token', 'timeseries: { influx: { version: 2, url: "http://x:8086", org: o, bucket: b } }', 'timeseries.influx.token: expected string, got undefined'],
    ['an unset secret', 'timeseries: { influx: { version: 2, url: "http://x:8086", org: o, bucket: b, token: "${NO_SUCH_VAR}" } }', 'timeseries.influx.token: environment variable NO_SUCH_VAR is not set'],
    ['a JSON subscription without fields', 'mqtt: { brokers: [ { name: b, url: "mqtt://h:1883", subscriptions: [ { topic: t, format: json, element: x, measurement: m } ] } ] }',
      'mqtt.brokers[0].subscriptions[0].fields: json subscriptions need at least one field'],
    ['a shared group written into the topic', 'mqtt: { brokers: [ { name: b, url: "mqtt://h", subscriptions: [ { topic: "$share/g/t", format: line } ] } ] }',
      'mqtt.brokers[0].subscriptions[0].topic: write the group in `share`, not in the topic'],
    ['a publisher counter on a shared subscription', 'mqtt: { brokers: [ { name: b, url: "mqtt://h", subscriptions: [ { topic: t, share: g, format: json, element: x, measurement: m, fields: { v: "$.v" }, sequence: { path: "$.seq", publisher: "$.id" } } ] } ] }',
      "mqtt.brokers[0].subscriptions[0].sequence: a shared subscription splits each publisher's counter between the instances: gaps cannot be judged here (remove sequence, or share)"],
    ['a broker URL without a scheme', 'mqtt: { brokers: [ { name: b, url: "h:1883" } ] }', 'mqtt.brokers[0].url: expected mqtt://host:port or mqtts://host:port'],
    ['an unknown payload format', 'mqtt: { brokers: [ { name: b, url: "mqtt://h", subscriptions: [ { topic: t, format: xml } ] } ] }',
      'mqtt.brokers[0].subscriptions[0].format: expected one of json, line, value'],
    ['a duplicate ICMP target', 'icmp: { targets: [ { name: a, host: h }, { name: a, host: i } ] }', 'icmp.targets[1].name: duplicate target name "a" (also targets[0])'],
    ['a trap receiver that would refuse everything', 'traps: { enabled: true }', 'traps.communities: traps are enabled but no community and no user is configured: every trap would be refused'],
    ['a trap listen address that is no address', 'traps: { address: localhost }', 'traps.address: expected an IPv4 or IPv6 address such as 192.0.2.17'],
    ['a trap port past 65535', 'traps: { port: 70000 }', 'traps.port: must be at most 65535'],
    ['a trap user without its privacy key', 'traps: { users: [ { user: u, authKey: "12345678" } ] }', 'traps.users[0].privKey: required for level authPriv'],
    ['a trap user with a context (receivers have none)', 'traps: { users: [ { user: u, level: noAuthNoPriv, context: c } ] }', 'traps.users[0]: unknown key "context"'],
    ['a duplicate trap user', 'traps: { users: [ { user: u, level: noAuthNoPriv }, { user: u, level: noAuthNoPriv } ] }', 'traps.users[1].user: duplicate user "u" (also users[0])'],
    ['a trap source that is no address', 'traps: { sources: [ { address: sw1.example.net, element: SW-1 } ] }', 'traps.sources[0].address: expected an IPv4 or IPv6 address'],
    ['a trap source given twice', 'traps: { sources: [ { address: 192.0.2.1, element: A }, { address: 192.0.2.1, element: B } ] }', 'traps.sources[1].address: duplicate source address "192.0.2.1" (also sources[0])'],
    ['a trap rate of zero', 'traps: { rate: { perSecond: 0 } }', 'traps.rate.perSecond: must be at least 0.001'],
    ['a trap engine ID that is not hex', 'traps: { engineID: xyz }', 'traps.engineID: expected 5 to 32 bytes in hex'],
    ['no room for any trap source', 'traps: { maxSources: 0 }', 'traps.maxSources: must be at least 1'],
    ['broken YAML', 'snmp: [\n  - a: b\n c', 'line '],
  ])('names the path and the problem for %s', (_what, yaml, expected) => {
    const { config, problems } = parseConfigText(yaml, {});
    expect(config).toBeUndefined();
    const lines = problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    expect(lines.some((l) => l.startsWith(expected))).toBe(true);
  });

  it('reports every problem at once, not the first only', () => {
    const { problems } = parseConfigText('snmp: { concurrency: 0, targets: [ { name: "bad name", host: h, retries: -1 } ] }', {});
    expect(problems.map((p) => p.path).sort()).toEqual(['snmp.concurrency', 'snmp.targets[0].name', 'snmp.targets[0].retries']);
  });

  it('uses ${VAR:-default} when the variable is unset', () => {
    const { config } = parseConfigText('snmp: { defaults: { community: "${COMM:-public}" } }', {});
    expect(config!.snmp.defaults.community).toBe('public');
  });

  it('names an unknown profile at its target', () => {
    const { config } = parseConfigText('snmp: { targets: [ { name: a, host: h, profiles: [system, no-such] } ] }', {});
    expect(checkProfiles(config!)).toEqual([{ path: 'snmp.targets[0].profiles[1]', message: expect.stringContaining('unknown profile "no-such"') }]);
  });

  it('throws a ConfigError listing the problems when loading a bad file', () => {
    expect(() => loadConfig('/nonexistent/netpulse.yaml', {})).toThrow(ConfigError);
  });
});

describe('check-config warnings', () => {
  it('names an MQTT subscription or presence topic that may speak for every element', () => {
    const { config } = parseConfigText(`mqtt:
  brokers:
    - name: m
      url: mqtt://127.0.0.1:1883
      presence: { topic: p/+, element: "{1}" }
      subscriptions:
        - { topic: a/+, format: json, element: "{1}", measurement: x, fields: { v: $.v } }
        - { topic: b/+, format: json, element: "{1}", measurement: x, fields: { v: $.v }, allow: { kinds: [base_station] } }
`, {});
    expect(configWarnings(config!).map((w) => w.path).filter((p) => p.endsWith('.allow'))).toEqual(['mqtt.brokers[0].subscriptions[0].allow', 'mqtt.brokers[0].presence.allow']);
  });
});

describe('check-config warnings about targets', () => {
  it('names an SNMP or ICMP target whose element is not in the topology', async () => {
    const { Topology } = await import('../../src/topology/topology.ts');
    const { topology } = Topology.build([{ id: 'SW-1', kind: 'aggregation', parents: [] }]);
    const { config } = parseConfigText(`snmp:
  targets:
    - { name: SW-1, host: 127.0.0.1 }
    - { name: sw2, element: SW-2, host: 127.0.0.2 }
icmp:
  targets:
    - { name: SW-1-ping, element: SW-1, host: 127.0.0.1 }
    - { name: typo, host: 127.0.0.3 }
`, {});
    expect(configWarnings(config!, topology!).map((w) => `${w.path}: ${w.message.split(':')[0]}`)).toEqual([
      'snmp.targets[1].element: element "SW-2" is not in the topology',
      'icmp.targets[1].name: element "typo" is not in the topology',
    ]);
  });

  it('names a trap source whose element is not in the topology, and trap definitions that do not load', async () => {
    const { Topology } = await import('../../src/topology/topology.ts');
    const { checkTrapDefinitions } = await import('../../src/check-config.ts');
    const { topology } = Topology.build([{ id: 'SW-1', kind: 'aggregation', parents: [] }]);
    const dir = tempDir('trap-defs');
    writeFileSync(join(dir, 'bad.yaml'), 'definitions: [ { name: x, oid: 1.3.6.1.4.1.1, meaning: sometimes } ]\n');
    const { config } = parseConfigText(`traps:
  enabled: true
  communities: [public]
  sources: [ { address: 192.0.2.1, element: SW-1 }, { address: 192.0.2.2, element: SW-2 } ]
  definitions: [ ${join(dir, 'bad.yaml')} ]
`, {});
    expect(configWarnings(config!, topology!).map((w) => `${w.path}: ${w.message.split(':')[0]}`)).toEqual(['traps.sources[1].element: element "SW-2" is not in the topology']);
    expect(checkTrapDefinitions(config!)).toEqual([{ path: 'traps.definitions', message: `${join(dir, 'bad.yaml')}: invalid trap definitions\n  definitions[0].meaning: expected one of reboot, link-down, link-up, security, alarm, event` }]);
    expect(checkTrapDefinitions(parseConfigText('traps: { enabled: false }', {}).config!)).toEqual([]);
  });
});

describe('check-config warnings about health', () => {
  it('names an MQTT mapping whose measurement or fields no health rule reads', () => {
    const { config } = parseConfigText(`mqtt:
  brokers:
    - name: m
      url: mqtt://127.0.0.1:1883
      subscriptions:
        - { topic: a/+, format: json, element: "{1}", measurement: lte_cell, fields: { rsrp: $.rsrp }, allow: { kinds: [cell] } }
        - { topic: b/+, format: json, element: "{1}", measurement: lte_cell, fields: { rsrp_dbm: $.rsrp }, allow: { kinds: [cell] } }
        - { topic: c/+, format: json, element: "{1}", measurement: radio, fields: { rsrp_dbm: $.rsrp }, allow: { kinds: [cell] } }
`, {});
    expect(configWarnings(config!).map((w) => w.path)).toEqual(['mqtt.brokers[0].subscriptions[0].fields', 'mqtt.brokers[0].subscriptions[2].measurement']);
  });
});

describe('health rules in config', () => {
  it('takes rules over fields, and then check-config stops warning of the mapping they read', () => {
    const yaml = (rules: string) => `health: { rules: [${rules}] }
mqtt:
  brokers:
    - name: m
      url: mqtt://127.0.0.1:1883
      subscriptions:
        - { topic: a/+, format: json, element: "{1}", measurement: lte_cell, fields: { rsrp: $.rsrp }, allow: { kinds: [cell] } }
`;
    expect(configWarnings(parseConfigText(yaml(''), {}).config!).map((w) => w.path)).toEqual(['mqtt.brokers[0].subscriptions[0].fields']);
    expect(configWarnings(parseConfigText(yaml('{ measurement: lte_cell, field: rsrp, source: radio, elementTag: cell_name, degradedBelow: -110 }'), {}).config!)).toEqual([]);
    expect(parseConfigText(yaml('{ measurement: lte_cell, field: rsrp, source: radio }'), {}).problems.map((p) => `${p.path}: ${p.message}`))
      .toEqual(['health.rules[0].field: give at least one of failUnless, failBelow, failAbove, degradedBelow, degradedAbove']);
  });
});

describe('check-config warnings about SNMP profiles', () => {
  it('names a profile writing lte_cell with none of the fields the radio rules read', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tempDir('profiles');
    writeFileSync(join(dir, 'vendor-cell.yaml'), `name: vendor-cell
measurements:
  - measurement: lte_cell
    table: true
    fields:
      - { name: rsrp, oid: 1.3.6.1.4.1.99999.1.1 }
`);
    const { config } = parseConfigText(`snmp: { profilesDir: ${dir} }`, {});
    expect(configWarnings(config!)).toEqual([{ path: 'snmp profile vendor-cell', message: 'lte_cell without oper_status, rsrp_dbm, sinr_db: its health rules have nothing to read' }]);
  });

  it('refuses cluster mode without PostgreSQL, naming the setting', () => {
    const r = validateConfig({ cluster: { enabled: true } }, {});
    expect(r.config).toBeUndefined();
    expect(r.problems.map((p) => p.path)).toEqual(['cluster.enabled']);
    expect(validateConfig({ cluster: { enabled: true }, store: { url: 'postgres://np@db/netpulse' } }, {}).config?.cluster).toMatchObject({ enabled: true, lease: 10_000 });
  });
});
