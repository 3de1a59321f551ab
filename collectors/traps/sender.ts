import { plainAddress, type Trap } from './decode.ts';

/** sysName.0 (SNMPv2-MIB): the name the agent gives itself. */
export const SYS_NAME = '1.3.6.1.2.1.1.5.0';

/** How the element of a trap was found (a label of the trap's metrics and log lines). */
export type SenderRule = 'sysName' | 'source' | 'agent_address' | 'target' | 'target_agent_address';

export interface Sender {
  element: string;
  by: SenderRule;
}

export interface SenderOptions {
  /** `traps.sources`: explicit address to element. */
  sources: readonly { address: string; element: string }[];
  /** The SNMP targets polled: a trap from a target's `host` speaks for its element (default: its name). */
  targets: readonly { name: string; host: string; element?: string }[];
  /** `traps.sysNameVarbind`. */
  sysNameVarbind: boolean;
  /** Whether the topology has this element (read at each trap: a topology reload is seen at once). */
  known: (element: string) => boolean;
}

/**
 * The element a trap speaks for, or undefined (an unknown source: the trap is refused, counted and
 * logged). Pure: the maps are built once; the topology is asked at each trap. The rule, in order:
 *
 * 1. the trap's sysName.0 varbind (1.3.6.1.2.1.1.5.0), when `traps.sysNameVarbind` is on and the
 *    value is the id of an element of the topology;
 * 2. an entry of `traps.sources` for the datagram's source address, then for a v1 trap's agent
 *    address (a relay or NAT in between keeps the agent address right);
 * 3. an SNMP target (`snmp.targets`) whose `host` is that address, written exactly so (no DNS
 *    lookup): its `element`, or its name; the source address first, then the v1 agent address.
 *
 * A source none of these names maps to no element and is refused, unless the config lists it in
 * `traps.sources` or `snmp.targets` (an element that is not, or not yet, in the topology is then
 * written all the same). Only traps that passed the community or SNMPv3 user check get here: what a
 * trap says of itself (sysName, agent address) is believed as far as its credentials are.
 * The agent address 0.0.0.0 (what many agents send) names nothing.
 */
export function senderLookup(o: SenderOptions): (trap: Trap) => Sender | undefined {
  const sources = new Map(o.sources.map((s) => [plainAddress(s.address), s.element]));
  const targets = new Map<string, string>();
  for (const t of o.targets) if (!targets.has(t.host)) targets.set(t.host, t.element ?? t.name);
  return (trap) => {
    if (o.sysNameVarbind) {
      const vb = trap.varbinds.find((v) => v.oid === SYS_NAME);
      const name = typeof vb?.value === 'string' ? vb.value.trim() : '';
      if (name && o.known(name)) return { element: name, by: 'sysName' };
    }
    const udp = trap.source.address;
    const agent = trap.agentAddress && trap.agentAddress !== '0.0.0.0' ? trap.agentAddress : undefined;
    const bySource = sources.get(udp) ?? (agent !== undefined ? sources.get(agent) : undefined);
    if (bySource !== undefined) return { element: bySource, by: sources.has(udp) ? 'source' : 'agent_address' };
    const byTarget = targets.get(udp);
    if (byTarget !== undefined) return { element: byTarget, by: 'target' };
    const byAgent = agent !== undefined ? targets.get(agent) : undefined;
    if (byAgent !== undefined) return { element: byAgent, by: 'target_agent_address' };
    return undefined;
  };
}
