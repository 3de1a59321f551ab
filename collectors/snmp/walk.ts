import type { SnmpSession, Varbind } from './session.ts';
import { SnmpType } from './session.ts';

export class WalkError extends Error {}

/** Compares two numeric OIDs in lexicographic (MIB) order. */
export function compareOids(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export interface WalkResult {
  /** Per column OID: row index suffix -> varbind. */
  columns: Map<string, Map<string, Varbind>>;
  /** Columns the walk had to stop early, with why (the rows gathered so far are kept). */
  problems: { oid: string; reason: string }[];
}

/**
 * Walks several table columns at once with GETBULK (every column a repeater), the way
 * `snmpbulkwalk` does for one. A column ends when a returned OID leaves it or at endOfMibView.
 * Guards against agents that never end: an OID that does not increase, or more than `maxRows`
 * rows, stops that column with a problem instead of looping.
 */
export async function walkColumns(
  session: SnmpSession,
  columnOids: readonly string[],
  maxRepetitions: number,
  maxRows: number,
): Promise<WalkResult> {
  const columns = new Map<string, Map<string, Varbind>>(columnOids.map((c) => [c, new Map()]));
  const problems: WalkResult['problems'] = [];
  // Where each still-open column resumes.
  let open = columnOids.map((c) => ({ column: c, prefix: c + '.', next: c }));
  while (open.length > 0) {
    const response = await session.getBulk(open.map((o) => o.next), maxRepetitions);
    if (!Array.isArray(response) || response.length === 0) throw new WalkError('empty GETBULK response');
    const ended = new Set<number>();
    let progressed = false;
    open.forEach((o, c) => {
      const rows = columns.get(o.column)!;
      for (const vb of response[c] ?? []) {
        if (!vb || vb.type === SnmpType.EndOfMibView || !vb.oid || !vb.oid.startsWith(o.prefix)) {
          ended.add(c);
          return;
        }
        if (compareOids(vb.oid, o.next) <= 0) {
          problems.push({ oid: o.column, reason: `agent returned ${vb.oid} after ${o.next} (OID not increasing)` });
          ended.add(c);
          return;
        }
        rows.set(vb.oid.slice(o.prefix.length), vb);
        o.next = vb.oid;
        progressed = true;
        if (rows.size >= maxRows) {
          problems.push({ oid: o.column, reason: `more than ${maxRows} rows (walk stopped; raise maxRows if the table is really this large)` });
          ended.add(c);
          return;
        }
      }
    });
    // A short response (agents trim to fit a datagram) still advances the columns it covered;
    // the others resume where they were. One that covers nothing would loop forever.
    if (!progressed && ended.size === 0) throw new WalkError('GETBULK response made no progress');
    open = open.filter((_, c) => !ended.has(c));
  }
  return { columns, problems };
}
