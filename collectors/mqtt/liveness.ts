import type { Sample } from '../../src/sample.ts';

interface ElementState { lastSeen: number; staleAfter: number; stale: boolean }

/**
 * What MQTT says of each element's liveness, as `reachability` points (`probe=mqtt`): a presence
 * word (a birth or a last will), telemetry heard again after silence or "offline", and silence past
 * an element's period (stale, once, until it is heard from again). After "offline" the last word
 * stands: silence adds nothing until the element speaks.
 */
export class Liveness {
  private readonly broker: string;
  private readonly elements = new Map<string, ElementState>();

  constructor(broker: string) {
    this.broker = broker;
  }

  point(element: string, up: boolean, reason: string, time: number): Sample {
    return { element, measurement: 'reachability', tags: { probe: 'mqtt', broker: this.broker }, fields: { up, stale: reason === 'stale', reason }, time };
  }

  /** Telemetry heard now from these elements: a point for each that was stale or offline (it is back). */
  heard(elements: Iterable<string>, now: number, staleAfter: number): Sample[] {
    const back: Sample[] = [];
    for (const el of elements) {
      const st = this.elements.get(el);
      if (st?.stale) {
        st.stale = false;
        back.push(this.point(el, true, 'data', now));
      }
      if (st) st.lastSeen = now;
      else this.elements.set(el, { lastSeen: now, staleAfter, stale: false });
    }
    return back;
  }

  /** A presence word: online, or offline (which stands until the element speaks again). */
  presence(element: string, up: boolean, now: number, staleAfter: number): void {
    const st = this.elements.get(element);
    if (st) {
      st.lastSeen = now;
      st.stale = !up;
    } else {
      this.elements.set(element, { lastSeen: now, staleAfter, stale: !up });
    }
  }

  /** Elements silent past their period: a stale point each, once. */
  stale(now: number): Sample[] {
    const out: Sample[] = [];
    for (const [el, st] of this.elements) {
      if (!st.stale && now - st.lastSeen > st.staleAfter) {
        st.stale = true;
        out.push(this.point(el, false, 'stale', now));
      }
    }
    return out;
  }
}
