import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseDefinitions, loadTrapDefinitions, compileDefinitions, matchDefinition, interpret, DefinitionError, BUILTIN_TRAPS_DIR, type TrapDefinition,
} from '../../collectors/traps/definitions.ts';
import type { Trap, TrapVarbind } from '../../collectors/traps/decode.ts';
import { tempDir } from '../helpers/temp.ts';

const trap = (oid: string, varbinds: TrapVarbind[] = [], uptime?: number): Trap => ({
  version: '2c', inform: false, source: { address: '192.0.2.7', port: 162 }, community: 'public', oid, varbinds, problems: [], ...(uptime !== undefined && { uptime }),
});
const int = (oid: string, value: number): TrapVarbind => ({ oid, type: 'Integer', value });
const str = (oid: string, value: string): TrapVarbind => ({ oid, type: 'OctetString', value });

/** The worked vendor example of standard.yaml, uncommented: it must stay valid. */
function vendorExample(): string {
  const text = readFileSync(join(BUILTIN_TRAPS_DIR, 'standard.yaml'), 'utf8');
  const lines = text.split('\n').filter((l) => /^ {2}# ( {2}|- )/.test(l)).map((l) => l.replace(/^ {2}# /, '  '));
  return `definitions:\n${lines.join('\n')}\n`;
}

const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DefinitionError);
    return (err as Error).message;
  }
  throw new Error('expected a DefinitionError');
};

describe('trap definitions', () => {
  it('ships the standard traps: coldStart, warmStart, linkDown, linkUp, authenticationFailure, each with its MIB', () => {
    const d = loadTrapDefinitions();
    expect(d.all.map((x) => [x.name, x.mib, x.meaning])).toEqual([
      ['coldStart', 'SNMPv2-MIB', 'reboot'], ['warmStart', 'SNMPv2-MIB', 'reboot'], ['linkDown', 'IF-MIB', 'link-down'],
      ['linkUp', 'IF-MIB', 'link-up'], ['authenticationFailure', 'SNMPv2-MIB', 'security'], ['egpNeighborLoss', 'RFC1213-MIB', 'event'],
    ]);
  });

  it('keeps its commented vendor example valid: both alarm forms', () => {
    const defs = parseDefinitions(vendorExample(), 'standard.yaml (example)');
    expect(defs.map((d) => [d.name, d.meaning])).toEqual([['exampleAlarm', 'alarm'], ['examplePowerAlarm', 'alarm']]);
  });

  it.each([
    ['an unknown meaning', 'definitions: [ { name: x, oid: 1.3.6.1.4.1.1, meaning: broken } ]', 'definitions[0].meaning: expected one of reboot, link-down, link-up, security, alarm, event'],
    ['a name OID', 'definitions: [ { name: x, oid: IF-MIB::linkDown, meaning: event } ]', 'definitions[0].oid: expected a numeric trap OID'],
    ['a varbind without its OID', 'definitions: [ { name: x, oid: 1.3.6.1.4.1.1, meaning: event, varbinds: [ { name: y } ] } ]', 'definitions[0].varbinds[0].oid:'],
    ['an unknown key', 'definitions: [ { name: x, oid: 1.3.6.1.4.1.1, meaning: event, severity: high } ]', 'definitions[0]: Unrecognized key: "severity"'],
    ['an alarm with both forms', 'definitions: [ { name: a, meaning: alarm, raise: 1.3.6.1.4.1.1.1, clear: 1.3.6.1.4.1.1.2, oid: 1.3.6.1.4.1.1.3 } ]', 'definitions[0]: an alarm is either raise and clear'],
    ['an alarm raise without its clear', 'definitions: [ { name: a, meaning: alarm, raise: 1.3.6.1.4.1.1.1 } ]', 'definitions[0].clear: required with raise'],
    ['an alarm severity without its map', 'definitions: [ { name: a, meaning: alarm, oid: 1.3.6.1.4.1.1.1, severity: sev, varbinds: [ { name: sev, oid: 1.3.6.1.4.1.1.9 } ] } ]', 'definitions[0].severities: required for an alarm with one trap OID'],
    ['an alarm id that names no varbind', 'definitions: [ { name: a, meaning: alarm, raise: 1.3.6.1.4.1.1.1, clear: 1.3.6.1.4.1.1.2, id: alarmId } ]', 'definitions[0].id: names no varbind of this definition'],
    ['a severity mapped to nonsense', 'definitions: [ { name: a, meaning: alarm, oid: 1.3.6.1.4.1.1.1, severity: s, severities: { "1": fine }, varbinds: [ { name: s, oid: 1.3.6.1.4.1.1.9 } ] } ]', 'definitions[0].severities.1:'],
    ['two definitions of one name', 'definitions: [ { name: x, oid: 1.3.6.1.4.1.1, meaning: event }, { name: x, oid: 1.3.6.1.4.1.2, meaning: event } ]', 'definitions[1].name: duplicate name "x" (also definitions[0])'],
    ['broken YAML', 'definitions: [ { name: x', 'my-traps.yaml: '],
  ])('names the file and the path of %s', (_what, text, expected) => {
    const m = failure(() => parseDefinitions(text, 'my-traps.yaml'));
    expect(m.startsWith('my-traps.yaml: ')).toBe(true);
    expect(m).toContain(expected);
  });

  it('reads the operator\'s files and folders after the shipped ones: the same name replaces, another name claiming a shipped OID is refused', () => {
    const dir = tempDir('trap-defs');
    mkdirSync(join(dir, 'more'));
    writeFileSync(join(dir, 'quiet.yaml'), 'definitions: [ { name: linkDown, mib: IF-MIB, oid: 1.3.6.1.6.3.1.1.5.3, meaning: event } ]\n');
    writeFileSync(join(dir, 'more', 'vendor.yml'), 'definitions: [ { name: acmeFan, oid: "1.3.6.1.4.1.32473.9.*", meaning: event } ]\n');
    writeFileSync(join(dir, 'more', 'notes.txt'), 'not a definition');
    const d = loadTrapDefinitions([join(dir, 'quiet.yaml'), join(dir, 'more')]);
    expect(matchDefinition(d, '1.3.6.1.6.3.1.1.5.3')?.def.meaning).toBe('event');
    expect(matchDefinition(d, '1.3.6.1.4.1.32473.9.0.4')?.def.name).toBe('acmeFan');
    writeFileSync(join(dir, 'clash.yaml'), 'definitions: [ { name: myLinkDown, oid: 1.3.6.1.6.3.1.1.5.3, meaning: event } ]\n');
    expect(failure(() => loadTrapDefinitions([join(dir, 'clash.yaml')]))).toMatch(/trap OID 1\.3\.6\.1\.6\.3\.1\.1\.5\.3 is claimed by linkDown \(.*standard\.yaml\) and by myLinkDown \(.*clash\.yaml\): give yours the same name to replace it/);
    expect(failure(() => loadTrapDefinitions([join(dir, 'missing.yaml')]))).toMatch(/missing\.yaml: cannot read: ENOENT/);
    writeFileSync(join(dir, 'bad.yaml'), 'definitions:\n  - { name: x, oid: 1.3.6.1.4.1.1, meaning: event }\n  - { name: y, meaning: link-down }\n');
    expect(failure(() => loadTrapDefinitions([join(dir, 'bad.yaml')]))).toBe(`${join(dir, 'bad.yaml')}: invalid trap definitions\n  definitions[1].oid: expected string, received undefined`);
  });

  it('matches the most specific definition: exact before prefix, the longer prefix before the shorter; none for an unknown trap', () => {
    const def = (name: string, oid: string): { def: TrapDefinition } => ({ def: parseDefinitions(`definitions: [ { name: ${name}, oid: "${oid}", meaning: event } ]`, 't')[0] });
    const d = compileDefinitions([def('vendor', '1.3.6.1.4.1.9.*'), def('family', '1.3.6.1.4.1.9.9.41.*'), def('one', '1.3.6.1.4.1.9.9.41.2.0.1')]);
    expect(matchDefinition(d, '1.3.6.1.4.1.9.9.41.2.0.1')?.def.name).toBe('one');
    expect(matchDefinition(d, '1.3.6.1.4.1.9.9.41.2.0.2')?.def.name).toBe('family');
    expect(matchDefinition(d, '1.3.6.1.4.1.9.1.0.1')?.def.name).toBe('vendor');
    expect(matchDefinition(d, '1.3.6.1.4.1.9')).toBeUndefined(); // a prefix covers what is under it, not itself
    expect(matchDefinition(d, '1.3.6.1.4.1.99.1')).toBeUndefined();
    expect(matchDefinition(d, '1.3.6.1.4.1.91.1')).toBeUndefined(); // 1.3.6.1.4.1.9.* is not a string prefix
  });
});

describe('interpreting a trap through its definition', () => {
  const d = loadTrapDefinitions();
  const vendor = compileDefinitions([...d.all, ...parseDefinitions(vendorExample(), 'example')].map((def) => ({ def })));

  it('names a linkDown by IF-MIB, its interface by ifIndex and ifName: a condition raised until the linkUp of that ifIndex', () => {
    const down = interpret(trap('1.3.6.1.6.3.1.1.5.3', [int('1.3.6.1.2.1.2.2.1.1.3', 3), int('1.3.6.1.2.1.2.2.1.8.3', 2), str('1.3.6.1.2.1.31.1.1.1.1.3', 'Gi0/3'), int('1.3.6.1.4.1.9.2.2.1.1.20.3', 1)]), d);
    expect(down).toEqual({
      name: 'linkDown', mib: 'IF-MIB', meaning: 'link-down', fieldNames: ['ifIndex', 'ifOperStatus', 'ifName', '1.3.6.1.4.1.9.2.2.1.1.20.3'],
      health: { state: 'down', condition: 'if:3', reason: 'linkDown ifIndex 3 (Gi0/3)' }, scope: 'if:3', problems: [],
    });
    expect(interpret(trap('1.3.6.1.6.3.1.1.5.4', [int('1.3.6.1.2.1.2.2.1.1.3', 3)]), d).health).toEqual({ state: 'clear', condition: 'if:3', reason: 'linkUp ifIndex 3' });
  });

  it('takes the ifIndex from a varbind\'s instance when the ifIndex varbind is missing (some agents send only ifOperStatus.N)', () => {
    const i = interpret(trap('1.3.6.1.6.3.1.1.5.3', [int('1.3.6.1.2.1.2.2.1.8.12', 2)]), d);
    expect(i.health).toMatchObject({ condition: 'if:12' });
    const none = interpret(trap('1.3.6.1.6.3.1.1.5.3'), d);
    expect(none.health).toMatchObject({ state: 'down', condition: 'if:?' });
    expect(none.problems).toEqual(['linkDown without an ifIndex (no ifIndex varbind)']);
  });

  it('reads a coldStart as a reboot: a moment\'s failure with the agent\'s uptime, no lasting condition', () => {
    expect(interpret(trap('1.3.6.1.6.3.1.1.5.1', [], 1234), d)).toMatchObject({ name: 'coldStart', meaning: 'reboot', health: { state: 'down', reason: 'coldStart: the agent restarted (up 0:00:12.34)' } });
    expect(interpret(trap('1.3.6.1.6.3.1.1.5.1'), d).health?.condition).toBeUndefined();
  });

  it('gives authenticationFailure no health verdict (it is for the NOC), and an unknown trap its OID for a name and no meaning', () => {
    expect(interpret(trap('1.3.6.1.6.3.1.1.5.5'), d)).toMatchObject({ name: 'authenticationFailure', meaning: 'security', scope: 'oid:1.3.6.1.6.3.1.1.5.5' });
    expect(interpret(trap('1.3.6.1.6.3.1.1.5.5'), d).health).toBeUndefined();
    const unknown = interpret(trap('1.3.6.1.4.1.32473.77.0.1', [int('1.3.6.1.4.1.32473.77.1', 5), str('1.3.6.1.2.1.1.5.0', 'BS-1')]), d);
    // Varbinds any trap may carry are named all the same (standard.yaml's common varbinds).
    expect(unknown).toEqual({ name: '1.3.6.1.4.1.32473.77.0.1', fieldNames: ['1.3.6.1.4.1.32473.77.1', 'sysName'], scope: 'oid:1.3.6.1.4.1.32473.77.0.1', problems: [] });
  });

  it('reads a vendor alarm with a severity varbind: its values mapped, its id naming the alarm, an unlisted severity without meaning', () => {
    const alarm = (id: string, sev: number) => trap('1.3.6.1.4.1.32473.2.0.1', [str('1.3.6.1.4.1.32473.2.1.1.0', id), int('1.3.6.1.4.1.32473.2.1.2.0', sev)]);
    expect(interpret(alarm('PSU-2', 5), vendor)).toMatchObject({ name: 'exampleAlarm', mib: 'NETPULSE-EXAMPLE-ALARM-MIB', fieldNames: ['alarmId', 'alarmSeverity'], scope: 'alarm:exampleAlarm:PSU-2', health: { state: 'down', condition: 'alarm:exampleAlarm:PSU-2', reason: 'exampleAlarm PSU-2 severity 5' } });
    expect(interpret(alarm('PSU-2', 2), vendor).health?.state).toBe('degraded');
    expect(interpret(alarm('PSU-2', 1), vendor).health?.state).toBe('clear');
    const odd = interpret(alarm('PSU-2', 9), vendor);
    expect(odd.health).toBeUndefined();
    expect(odd.problems).toEqual(['exampleAlarm: severity "9" is not in its severities: no health meaning']);
  });

  it('reads a vendor raise and clear pair: the clear matches the raise of the same id', () => {
    const raise = interpret(trap('1.3.6.1.4.1.32473.2.0.2', [str('1.3.6.1.4.1.32473.2.1.1.0', 'mains')]), vendor);
    const clear = interpret(trap('1.3.6.1.4.1.32473.2.0.3', [str('1.3.6.1.4.1.32473.2.1.1.0', 'mains')]), vendor);
    expect(raise.health).toEqual({ state: 'degraded', condition: 'alarm:examplePowerAlarm:mains', reason: 'examplePowerAlarm mains raised' });
    expect(clear.health).toEqual({ state: 'clear', condition: 'alarm:examplePowerAlarm:mains', reason: 'examplePowerAlarm mains cleared' });
  });
});
