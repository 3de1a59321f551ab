import type { SnmpSession, Varbind } from '../../collectors/snmp/session.ts';
import { SnmpType } from '../../collectors/snmp/session.ts';
import { compareOids } from '../../collectors/snmp/walk.ts';

/**
 * An in-memory agent: a sorted OID -> varbind map, answering GET and GETBULK like a real agent
 * (noSuchObject for missing instances, endOfMibView past the end). Hooks let a test make it
 * misbehave.
 */
export class FakeSession implements SnmpSession {
  private readonly oids: string[];
  private readonly values: Map<string, Varbind>;
  requests = 0;
  closed = false;
  /** Replace to make the agent fail, trim, or lie. */
  failWith: Error | undefined;
  bulkHook: ((oids: string[], result: Varbind[][]) => Varbind[][]) | undefined;

  constructor(values: Record<string, [number, unknown]>) {
    this.values = new Map(Object.entries(values).map(([oid, [type, value]]) => [oid, { oid, type, value }]));
    this.oids = [...this.values.keys()].sort(compareOids);
  }

  async get(oids: string[]): Promise<Varbind[]> {
    this.requests++;
    if (this.failWith) throw this.failWith;
    return oids.map((oid) => this.values.get(oid) ?? { oid, type: SnmpType.NoSuchObject, value: null });
  }

  private next(oid: string): Varbind {
    const n = this.oids.find((o) => compareOids(o, oid) > 0);
    return n ? this.values.get(n)! : { oid, type: SnmpType.EndOfMibView, value: null };
  }

  async getBulk(oids: string[], maxRepetitions: number): Promise<Varbind[][]> {
    this.requests++;
    if (this.failWith) throw this.failWith;
    const result = oids.map((start) => {
      const out: Varbind[] = [];
      let at = start;
      for (let i = 0; i < maxRepetitions; i++) {
        const vb = this.next(at);
        out.push(vb);
        if (vb.type === SnmpType.EndOfMibView) break;
        at = vb.oid;
      }
      return out;
    });
    return this.bulkHook ? this.bulkHook(oids, result) : result;
  }

  close(): void {
    this.closed = true;
  }
}

export const T = SnmpType;
