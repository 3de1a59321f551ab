import { int, type FieldValue, type Sample } from '../../src/sample.ts';
import { isIntegerType, type Trap } from './decode.ts';
import type { Interpretation } from './definitions.ts';
import type { TrapVerdict } from './conditions.ts';

/** A tag value from a sender (a v3 context name): no control characters, which line protocol cannot carry. */
const tagText = (v: string) => v.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

/**
 * One trap as Telegraf's `snmp_trap` input writes it, so dashboards built on Telegraf's data work:
 * tags `source` (the sender's IP address), `name` (the definition's name, else the trap OID), `mib`
 * (when the definition names it), `oid` (with a leading dot, as Telegraf writes it), `version`
 * (1, 2c, 3), `community` (v1 and v2c), `context_name` and `engine_id` (v3, when sent), and ours:
 * `agent_address` (v1), `meaning` (when defined), `inform` (true for an inform); the sample's
 * element is the element it speaks for. Fields: each varbind under its definition's name, else its
 * OID, integers as integers; `sysUpTimeInstance` (hundredths of a second); `snmpTrapEnterprise.0`
 * for a v1 trap. Pure.
 */
export function trapSample(trap: Trap, i: Interpretation, element: string, time: number): Sample {
  const tags: Record<string, string> = {
    source: trap.source.address, name: i.name, oid: `.${trap.oid}`, version: trap.version,
  };
  if (i.mib) tags.mib = i.mib;
  if (i.meaning) tags.meaning = i.meaning;
  if (trap.community !== undefined) tags.community = tagText(trap.community);
  if (trap.contextName) tags.context_name = tagText(trap.contextName);
  if (trap.contextEngineID) tags.engine_id = trap.contextEngineID;
  if (trap.agentAddress) tags.agent_address = trap.agentAddress;
  if (trap.inform) tags.inform = 'true';
  const fields: Record<string, FieldValue> = {};
  trap.varbinds.forEach((vb, n) => {
    const name = i.fieldNames[n] ?? vb.oid;
    if (vb.value === null || name in fields) return;
    fields[name] = isIntegerType(vb.type) && (typeof vb.value === 'number' || /^\d+$/.test(String(vb.value))) ? int(BigInt(vb.value)) : vb.value;
  });
  if (trap.uptime !== undefined) fields.sysUpTimeInstance = int(trap.uptime);
  if (trap.version === '1' && trap.enterprise) fields['snmpTrapEnterprise.0'] = trap.enterprise;
  if (Object.keys(fields).length === 0) fields.varbinds = int(0); // a point needs a field: a bare trap says so
  return { element, measurement: 'snmp_trap', tags, fields, time };
}

/**
 * What traps say of an element's health, as a `reachability` sample with `probe=trap` (what
 * `checksOf` turns into a check of source `trap`): `up` false while a link is down or an alarm says
 * down (and for a reboot), `degraded` true for an alarm that says degraded; always `decisive`, so the
 * health tracker takes it as a statement (the source's state at once, no hysteresis), and a down
 * stands until a trap (or the wiring's confirming poll, through this same function) says up.
 * `uptime` (hundredths of a second) when the trap carried one: a reboot's says how long ago.
 */
export function trapHealthSample(element: string, v: Pick<TrapVerdict, 'up' | 'degraded' | 'reason'>, time: number, extra: { source?: string; trap?: string; uptime?: number } = {}): Sample {
  const tags: Record<string, string> = { probe: 'trap' };
  if (extra.source) tags.source = extra.source;
  const fields: Record<string, FieldValue> = { up: v.up, decisive: true, reason: v.reason };
  if (v.degraded) fields.degraded = true;
  if (extra.trap) fields.trap = extra.trap;
  if (extra.uptime !== undefined) fields.uptime = int(extra.uptime);
  return { element, measurement: 'reachability', tags, fields, time };
}
