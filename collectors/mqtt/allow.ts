import type { Sample } from '../../src/sample.ts';
import { checkTime, describeRefusal, type TimeWindow } from '../../src/intake/time.ts';

/** Why a sample was refused by its subscription's `allow`, as counted in `/metrics`. */
export type AllowRefusal = 'unknown_element' | 'element_not_allowed' | 'measurement_not_allowed' | 'probe_not_allowed';

/** What the topology says about an element, for the kind and region rules. */
export interface ElementFacts { kind: string; region?: string }

/** A subscription's `allow` section, as configured. */
export interface AllowRule {
  /** Element id patterns (`*` any run of characters, `?` one). */
  elements?: readonly string[];
  kinds?: readonly string[];
  regions?: readonly string[];
  /** Measurements the subscription may write; default: its `measurement` (json, value), or any but `reachability` (line). */
  measurements?: readonly string[];
  /** For `reachability` samples: the `probe` tags it may claim. */
  probes: readonly string[];
}

/** Does a sample fall within what its subscription may speak for? */
export type AllowCheck = (s: Sample, element: ElementFacts | undefined, lookup?: (id: string) => ElementFacts | undefined) => AllowRefusal | undefined;

const glob = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`, 's');

/**
 * Compiles a subscription's rule. A source speaks only for what it is allowed to: an element in
 * the topology (when the daemon has one: `element` undefined means unknown) that matches the
 * element patterns, kinds and regions named, and so must the cell a `cell_name` tag names; a measurement named (health is decided from them);
 * and for reachability, a probe named, so a publisher cannot say that SNMP found a core down.
 */
export function compileAllow(rule: AllowRule, measurement: string | undefined, topology: boolean): AllowCheck {
  const patterns = rule.elements?.map(glob);
  const kinds = rule.kinds && new Set(rule.kinds);
  const regions = rule.regions && new Set(rule.regions);
  const measurements = rule.measurements ? new Set(rule.measurements) : measurement ? new Set([measurement]) : undefined;
  const probes = new Set(rule.probes);
  const speaksFor = (id: string, facts: ElementFacts | undefined): AllowRefusal | undefined => {
    if (topology && !facts) return 'unknown_element';
    if (patterns && !patterns.some((p) => p.test(id))) return 'element_not_allowed';
    if (kinds && !kinds.has(facts?.kind ?? '')) return 'element_not_allowed';
    if (regions && !regions.has(facts?.region ?? '')) return 'element_not_allowed';
    return undefined;
  };
  return (s, element, lookup) => {
    const refused = speaksFor(s.element, element);
    if (refused) return refused;
    // A radio sample's cell_name tag names the element health is judged for: it must pass too.
    const cell = s.tags.cell_name;
    if (cell !== undefined && cell !== s.element) {
      const r = speaksFor(cell, lookup?.(cell));
      if (r) return r;
    }
    if (measurements ? !measurements.has(s.measurement) : s.measurement === 'reachability') return 'measurement_not_allowed';
    if (s.measurement === 'reachability' && !probes.has(s.tags.probe ?? '')) return 'probe_not_allowed';
    return undefined;
  };
}

/**
 * The samples of one message that may come in: each only for an element its subscription may
 * speak for (`allow`), at a plausible time (`times` around `now`); the others, each with its reason
 * (counted) and a problem line for the log, whose names are cut short (a megabyte id must not make
 * a megabyte line).
 */
export function admit(samples: readonly Sample[], allow: AllowCheck, elements: ((id: string) => ElementFacts | undefined) | undefined, now: number, times: TimeWindow):
  { batch: Sample[]; elements: Set<string>; refused: { reason: string; problem: string }[] } {
  const batch: Sample[] = [];
  const seen = new Set<string>();
  const refused: { reason: string; problem: string }[] = [];
  for (const s of samples) {
    const refusal = allow(s, elements?.(s.element), elements);
    const late = refusal ? undefined : checkTime(s.time, now, times);
    if (refusal || late) {
      const what = `${s.measurement.slice(0, 60)} for ${s.element.slice(0, 100)}`;
      refused.push({ reason: refusal ?? late!, problem: refusal ? `${what}: ${refusal.replaceAll('_', ' ')}` : `${what}: ${describeRefusal(late!, s.time, now, times)}` });
      continue;
    }
    batch.push(s);
    seen.add(s.element);
  }
  return { batch, elements: seen, refused };
}
