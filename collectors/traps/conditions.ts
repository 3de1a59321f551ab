import type { TrapHealth } from './definitions.ts';

/** What traps say of an element now: up, degraded (up, but an alarm says degraded), or down. */
export interface TrapVerdict {
  up: boolean;
  degraded: boolean;
  reason: string;
  /** Conditions still raised after this trap. */
  active: number;
  /** A clear that ended a raised condition: what that condition was (what a poll contradicting the clear raises again). */
  cleared?: 'down' | 'degraded';
}

/** Conditions remembered per element; past it the oldest is forgotten (a device raising thousands of alarms stays down by its newest). */
export const MAX_CONDITIONS_PER_ELEMENT = 1_000;

/**
 * The conditions traps have raised and not yet cleared, per element: links down (by ifIndex) and
 * vendor alarms (by id). Pure and bounded (`maxElements`, least recently touched forgotten first).
 * A clear ends only its own raise: with alarm 17 cleared and alarm 18 still raised, the element
 * stays as alarm 18 says. A reboot is a moment's failure and leaves raised conditions as they are.
 *
 * Traps travel over UDP: a lost clear leaves its condition raised until something settles the
 * element (`settle`: the confirming poll saw it up).
 */
export class TrapConditions {
  private readonly elements = new Map<string, Map<string, { state: 'down' | 'degraded'; reason: string }>>();
  private readonly maxElements: number;

  constructor(maxElements = 10_000) {
    this.maxElements = maxElements;
  }

  /** Applies what one trap says; returns the element's verdict after it. */
  apply(element: string, h: TrapHealth): TrapVerdict {
    let m = this.elements.get(element);
    if (!h.condition) return { up: h.state === 'clear', degraded: h.state === 'degraded', reason: h.reason, active: m?.size ?? 0 };
    if (m) this.elements.delete(element);
    else m = new Map();
    let cleared: 'down' | 'degraded' | undefined;
    if (h.state === 'clear') {
      cleared = m.get(h.condition)?.state;
      m.delete(h.condition);
    } else {
      m.delete(h.condition);
      m.set(h.condition, { state: h.state, reason: h.reason });
      if (m.size > MAX_CONDITIONS_PER_ELEMENT) m.delete(m.keys().next().value!);
    }
    const was = cleared && { cleared };
    if (m.size === 0) return { up: true, degraded: false, reason: h.reason, active: 0, ...was };
    this.elements.set(element, m);
    if (this.elements.size > this.maxElements) this.elements.delete(this.elements.keys().next().value!);
    const all = [...m.values()];
    const worst = all.filter((c) => c.state === 'down').at(-1) ?? all.at(-1)!;
    const more = m.size > 1 ? ` (and ${m.size - 1} more raised)` : '';
    const reason = h.state === 'clear' ? `${h.reason}; still ${worst.reason}${more}` : `${worst.reason}${more}`;
    return { up: worst.state !== 'down', degraded: worst.state === 'degraded', reason, active: m.size, ...was };
  }

  /** The conditions raised for an element, newest last (for the API). */
  active(element: string): { condition: string; state: 'down' | 'degraded'; reason: string }[] {
    return [...(this.elements.get(element) ?? [])].map(([condition, c]) => ({ condition, ...c }));
  }

  /** Forgets an element's conditions (it was seen up otherwise); returns how many there were. */
  settle(element: string): number {
    const n = this.elements.get(element)?.size ?? 0;
    this.elements.delete(element);
    return n;
  }

  get size(): number {
    return this.elements.size;
  }
}
