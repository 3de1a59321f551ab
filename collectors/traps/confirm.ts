import type { SnmpCollector } from '../snmp/collector.ts';
import type { TrapCollector } from './collector.ts';
import type { TrapHealth } from './definitions.ts';
import type { Topology } from '../../src/topology/topology.ts';
import type { Logger } from '../../src/log.ts';
import type { Batch } from '../../src/sample.ts';

// What a trap and a poll of the same device say together: which element a link trap speaks for,
// the out-of-cycle poll that confirms a trap, and the polls (confirming or scheduled) that end what
// traps hold when they read it otherwise. The poll decides when they disagree.

/**
 * The element a link trap about interface `ifIndex` of `sender` speaks for (see `Element.uplink`):
 * the sender when it is its own uplink, the child that hangs off that port of the sender (its
 * `uplink.parent`, or its first parent), none for any other port.
 */
export function linkElement(t: Topology, sender: string, ifIndex: number): string | undefined {
  if (t.elements.get(sender)?.uplink?.ifIndex === ifIndex) return sender;
  return (t.children.get(sender) ?? []).find((c) => {
    const e = t.elements.get(c);
    return e?.uplink?.parentIfIndex === ifIndex && (e.uplink.parent ?? e.parents[0]) === sender;
  });
}

/**
 * The poll that confirms a trap: the element's targets (for a link, the sender's) polled out of cycle. A down it contradicts
 * ends (the trap's source says up again): a reboot is over once the element answers; a link trap
 * is contradicted only by the polled ifOperStatus of that interface being up (an answering device
 * says nothing about one of its links). Clears the same way: a linkUp is contradicted by that
 * interface polled down, and its condition is raised again (`cleared`: as it was). Alarms, raised
 * or cleared, have nothing a poll can read: the trap stands.
 */
export async function confirm(snmp: SnmpCollector, traps: TrapCollector, element: string, health: TrapHealth, sender: string, log: Logger, cleared?: 'down' | 'degraded'): Promise<void> {
  const link = health.condition?.startsWith('if:') ? health.condition : undefined;
  if (health.state === 'clear' && (!link || !cleared)) return;
  try {
    // The interface is the sender's (its uplink, or the port a child hangs off): the sender is polled.
    const polled = link ? sender : element;
    // A poll that starts after the trap: one already under way may have read the port before it changed.
    const polls = await snmp.pollNow(polled, { fresh: true });
    let contradicted: boolean;
    if (health.state === 'clear') contradicted = raiseIfContradicted(traps, element, link!, cleared!, polls, health.reason);
    else {
      settleIfContradicted(traps, element, polled, polls, `the confirming poll found it up (${health.reason})`);
      // What the trap raised is over (this poll, or the scheduled one it also was, read it up).
      contradicted = polls.some((p) => p.answered) && (health.condition ? !traps.conditions.active(element).some((c) => c.condition === health.condition) : !traps.holds(element));
    }
    log.info({ element, trap: health.reason, polled: polls.length, answered: polls.some((p) => p.answered), contradicted }, 'trap confirmed by an out-of-cycle poll');
  } catch (err) {
    log.warn({ err, element }, 'the poll confirming a trap failed');
  }
}

/** ifOperStatus down, notPresent, lowerLayerDown (testing, dormant and unknown say nothing of the link). */
const LINK_DOWN = new Set([2, 6, 7]);

/**
 * The link a condition is about: `if:N`, port N of the element itself; `if:N@P`, port N of `P`
 * that the element hangs off (the collector names the device when the trap came from a parent).
 */
function linkOf(element: string, condition: string): { device: string; port: string } | undefined {
  const m = /^if:(\d+)(?:@(.+))?$/.exec(condition);
  return m ? { device: m[2] ?? element, port: m[1] } : undefined;
}

const ifOperStatus = (polls: readonly { samples: Batch }[], port: string): number | undefined => {
  for (const p of polls) for (const x of p.samples) if (x.tags.ifIndex === port && x.fields.ifOperStatus !== undefined) return Number(x.fields.ifOperStatus);
  return undefined;
};

/** A link clear the poll contradicts (that interface's ifOperStatus polled as down): its condition raised again. True when it was. */
function raiseIfContradicted(traps: TrapCollector, element: string, link: string, state: 'down' | 'degraded', polls: readonly { answered: boolean; samples: Batch }[], clear: string): boolean {
  const port = linkOf(element, link)!.port;
  const down = LINK_DOWN.has(ifOperStatus(polls, port) ?? 1);
  if (down && !traps.conditions.active(element).some((c) => c.condition === link)) traps.fromPoll(element, { state, condition: link, reason: `the confirming poll found ifIndex ${port} not up after ${clear}` });
  return down;
}

/**
 * Ends what traps hold against `element` that polls of `polled` contradict: a reboot (no lasting
 * condition) once the element itself answers; each link whose port is on `polled` once that
 * port's ifOperStatus is up (the others stay: a poll of one device reads its own ports only). A
 * raised alarm waits for its clear. True when nothing is held any more.
 */
export function settleIfContradicted(traps: TrapCollector, element: string, polled: string, polls: readonly { answered: boolean; samples: Batch }[], reason: string): boolean {
  if (!polls.some((p) => p.answered)) return false;
  const active = traps.conditions.active(element);
  if (active.length === 0) {
    // A moment's failure (a reboot) holds it: over once the element itself answers.
    if (polled !== element || !traps.holds(element)) return false;
    traps.settle(element, reason);
    return true;
  }
  const up = active.filter((c) => {
    const l = linkOf(element, c.condition);
    return l !== undefined && l.device === polled && ifOperStatus(polls, l.port) === 1;
  });
  if (up.length === 0) return false;
  if (up.length === active.length) {
    traps.settle(element, reason);
    return true;
  }
  for (const c of up) traps.fromPoll(element, { state: 'clear', condition: c.condition, reason: `${reason} (ifIndex ${linkOf(element, c.condition)!.port})` });
  return false;
}
