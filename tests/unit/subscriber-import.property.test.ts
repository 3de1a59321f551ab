import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { importSubscribers, lines, MAX_ROW_LENGTH, type ImportReport } from '../../correlators/subscribers/import.ts';
import { csvHeader, parseJsonLine, TIERS, SERVICES, type Subscriber } from '../../correlators/subscribers/parse.ts';
import { hostileText } from '../helpers/arbitraries.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * Fuzz campaign (issue 15) for subscriber files: valid rows, however they are quoted and however
 * the bytes arrive, are stored exactly as written; each bad row is reported once, with its line,
 * and never takes a good row with it.
 */

const SEED = 42;

/** Element ids that need care: a comma and a space (CSV quoting), a quote, non-ASCII, prototype names. */
const KNOWN = ['BS-1-C1', 'BS-1-C2', 'OLT 1/PON,3', 'x"y', 'é𝄞-cell', '__proto__', 'constructor', 'toString'];
const known = (e: string) => KNOWN.includes(e);

// --- generators --------------------------------------------------------------------------------

/** C0 controls and DEL: refused in ids and names (a line break in a quoted field among them). */
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Valid text for an id or a name: no white space at either end (the importer trims), well-formed Unicode, no control character. */
const trimmed = (maxLength: number) => fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength }) },
  { weight: 2, arbitrary: hostileText([',', '"', '""', ' ', ';', 'é', '𝄞', '\u200B', '\u00A0', '\u2028', '__proto__', 'constructor', '#', "'", '=', '\\'], [], 1) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'a,b', '"quoted"', 'a "b" c', ',', '""', '=1+2', '-0', '0', 'null', 'NaN') },
).map((s) => s.slice(0, maxLength)).filter((s) => s !== '' && s === s.trim() && s.isWellFormed() && !CONTROL.test(s));

const cents = fc.oneof(fc.integer({ min: 0, max: 1_000_000_000 }), fc.constantFrom(0, 1, 99, 100, 1_000_000_000));
/** An amount as a file writes it: whole units or with one or two decimals. */
const amount = cents.chain((c) => fc.constantFrom(
  c % 100 === 0 ? String(c / 100) : `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`,
  `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`,
));

interface Row {
  id: string; tier: string; service: string; serving: string[];
  region?: string; plan?: string; arpu?: string; fee?: string; usage?: string;
}

const rows: fc.Arbitrary<Row> = fc.record({
  id: trimmed(64),
  tier: fc.constantFrom(...TIERS),
  service: fc.constantFrom(...SERVICES),
  serving: fc.array(fc.constantFrom(...KNOWN), { minLength: 1, maxLength: 6 }),
  region: fc.option(trimmed(20), { nil: undefined }),
  plan: fc.option(trimmed(20), { nil: undefined }),
  arpu: fc.option(amount, { nil: undefined }),
  fee: fc.option(amount, { nil: undefined }),
  usage: fc.option(fc.stringMatching(/^[a-z_]{1,32}$/), { nil: undefined }),
}, { requiredKeys: ['id', 'tier', 'service', 'serving'] });

/** The subscriber a valid row must become. */
function expected(r: Row): Subscriber {
  return {
    id: r.id, tier: r.tier as Subscriber['tier'], service: r.service as Subscriber['service'], serving: [...new Set(r.serving)],
    ...(r.region !== undefined && { region: r.region }), ...(r.plan !== undefined && { plan: r.plan }),
    ...(r.arpu !== undefined && { arpuMinor: Math.round(Number(r.arpu) * 100) }), ...(r.fee !== undefined && { feeMinor: Math.round(Number(r.fee) * 100) }),
    ...(r.usage !== undefined && { usage: r.usage }),
  };
}

const OPTIONAL = ['region', 'plan', 'arpu', 'fee', 'usage'] as const;
type Column = 'id' | 'tier' | 'service' | 'serving' | (typeof OPTIONAL)[number];

/** A header: the required columns and some optional ones, in any order, in any case. */
const headers = fc.tuple(fc.subarray([...OPTIONAL]), fc.infiniteStream(fc.boolean()))
  .chain(([opt, caps]) => fc.shuffledSubarray<Column>(['id', 'tier', 'service', 'serving', ...opt], { minLength: 4 + opt.length })
    .map((cols) => ({ cols, names: cols.map((c) => [...c].map((ch) => (caps.next().value ? ch.toUpperCase() : ch)).join('')) })));

/** RFC 4180: quoted when it holds a comma, a quote or a line break (inner quotes doubled), or when the writer likes. */
const cell = (v: string, always: boolean) => (always || /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

function cellsOf(r: Row, cols: readonly Column[]): string[] {
  return cols.map((c) => (c === 'serving' ? r.serving.join(';') : (r[c] ?? '')));
}

/** A row that must be refused (each on one physical line, its quotes balanced), with what it gets wrong. */
const badRows = (cols: readonly Column[]) => fc.oneof(
  // One field only: the header has four or more.
  hostileText([';', ' ', '\t', 'é', '\0', '__proto__', '\\', "'"], [], 1).filter((s) => s.trim() !== '' && !/[,"\r\n]/.test(s)).map((s) => ({ text: s, why: /^\d+ fields, the header has \d+$/ })),
  rows.map((r) => ({ text: cellsOf(r, cols).map((v) => cell(v, true)).join(',') + ',extra', why: /^\d+ fields, the header has \d+$/ })),
  fc.tuple(rows, fc.constantFrom('platinum', 'VIP ', 'Gold', '', 'gold;vip', '__proto__')).map(([r, tier]) => ({ r: { ...r, tier }, why: /^tier: / })),
  fc.tuple(rows, fc.constantFrom('NOPE', 'bs-1-c1', 'BS-1-C1 x', '__proto__x')).map(([r, el]) => ({ r: { ...r, serving: [...r.serving, el] }, why: /^serving: unknown element\(s\) / })),
  rows.map((r) => ({ r: { ...r, serving: [] }, why: /^serving: needs at least one serving element$/ })),
  fc.tuple(rows, fc.constantFrom('-5', '1e3', 'abc', '10000000.01', '1,5', 'NaN', 'Infinity', '0x10')).map(([r, arpu]) => ({ r: { ...r, arpu }, why: /^arpu: / })),
  fc.tuple(rows, fc.constantFrom('Data', 'pre-paid', 'x'.repeat(33), '__proto__1', 'voix 2')).map(([r, usage]) => ({ r: { ...r, usage }, why: /^usage: / })),
  rows.map((r) => ({ r: { ...r, id: 'i'.repeat(65) }, why: /^id: / })),
  // A quote inside an unquoted field: malformed CSV that the parser skips alone.
  fc.constantFrom('x"y,gold,mobile,BS-1-C1', 'ab"c"d').map((text) => ({ text, why: /^not CSV: / })),
  // A line break (LF: see the known defect about CR below) in a quoted id: one record over two lines, refused.
  fc.tuple(rows, fc.constantFrom('a\nb', '\nlead', 'trail\n', 'x\n\ny')).map(([r, id]) => ({ r: { ...r, id, tier: 'platinum' }, why: /^(id: no control characters|tier: )/ })),
).map((b) => ('text' in b ? b : { text: cellsOf(b.r as Row, cols).map((v) => cell(v, false)).join(','), why: b.why }))
  .filter((b) => cols.includes('usage') || !/^usage/.test(b.why.source.slice(1)))
  .filter((b) => cols.includes('arpu') || !/^arpu/.test(b.why.source.slice(1)));

/** Byte chunk sizes a client might send in: a byte at a time up to a few hundred. */
const chunkings = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 });

async function* chunked(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

// --- the store ---------------------------------------------------------------------------------

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = tempDir('import-fuzz');
  store = new Store(new SqliteDb(join(dir, 'netpulse.db')));
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
});

/** The inventory as stored, sorted by id in JS order, in the importer's own shape. */
async function inventory(): Promise<Subscriber[]> {
  const subs = await store.db.query<{ id: string; tier: string; service: string; region: string | null; plan: string | null; arpu_minor: number | null; fee_minor: number | null; usage: string | null; serving: string }>(
    'SELECT id, tier, service, region, plan, arpu_minor, fee_minor, usage, serving FROM subscribers');
  const serving = await store.db.query<{ element: string; subscriber_id: string }>('SELECT element, subscriber_id FROM subscriber_serving');
  const byId = new Map<string, string[]>();
  for (const s of serving) (byId.get(s.subscriber_id) ?? byId.set(s.subscriber_id, []).get(s.subscriber_id)!).push(s.element);
  return subs.map((s) => {
    // The serving table must hold the same elements as the row, no more.
    expect([...(byId.get(s.id) ?? [])].sort()).toEqual(s.serving.split(';').sort());
    return {
      id: s.id, tier: s.tier as Subscriber['tier'], service: s.service as Subscriber['service'], serving: s.serving.split(';'),
      ...(s.region !== null && { region: s.region }), ...(s.plan !== null && { plan: s.plan }),
      ...(s.arpu_minor !== null && { arpuMinor: Number(s.arpu_minor) }), ...(s.fee_minor !== null && { feeMinor: Number(s.fee_minor) }),
      ...(s.usage !== null && { usage: s.usage }),
    };
  }).sort(byIdOrder);
}
const byIdOrder = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

// --- CSV ---------------------------------------------------------------------------------------

interface File { text: string; good: Row[]; bad: { line: number; why: RegExp }[]; records: number }

/** Writes a CSV file of good and bad rows (blank lines between some), noting the line each bad row is on. */
function csvFile(head: { cols: Column[]; names: string[] }, items: ({ good: Row } | { bad: { text: string; why: RegExp } } | { blank: string })[], eol: string, bom: boolean, quoteAll: boolean): File {
  const out: string[] = [head.names.map((n) => cell(n, quoteAll)).join(',')];
  let line = 2; // the next record's first line
  const f: File = { text: '', good: [], bad: [], records: 0 };
  for (const it of items) {
    let text: string;
    if ('good' in it) {
      text = cellsOf(it.good, head.cols).map((v) => cell(v, quoteAll)).join(',');
      f.good.push(it.good);
      f.records++;
    } else if ('bad' in it) {
      text = it.bad.text;
      f.bad.push({ line, why: it.bad.why });
      f.records++;
    } else text = it.blank;
    out.push(text);
    const breaks = text.match(/\n/g)?.length ?? 0;
    line += 1 + breaks; // a record is reported at the line it starts on
  }
  f.text = (bom ? '\uFEFF' : '') + out.join(eol) + (eol === '\r\n' ? '\r\n' : '');
  return f;
}

function expectReport(r: ImportReport, f: File): void {
  expect(r.committed).toBe(true);
  expect(r.rows).toBe(f.records);
  expect(r.loaded).toBe(f.good.length);
  expect(r.rejected).toBe(f.bad.length);
  // Each bad row once, on its own line, for its own reason. (Not always in file order: a row csv-parse
  // skips is reported when the next record comes out, which may be after a record it has read ahead.)
  const problems = [...r.problems].sort((x, y) => x.line - y.line);
  expect(problems.map((p) => p.line)).toEqual(f.bad.map((b) => b.line));
  problems.forEach((p, i) => expect(p.reason, `line ${p.line}`).toMatch(f.bad[i].why));
}

describe('subscriber CSV through the importer into SQLite', () => {
  it('stores every valid row exactly as written (RFC 4180 quoting, any header order and case, any byte chunking)', async () => {
    await fc.assert(fc.asyncProperty(headers, fc.uniqueArray(rows, { minLength: 1, maxLength: 25, selector: (r) => r.id }), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean(), chunkings,
      async (head, good, eol, bom, quoteAll, sizes) => {
        const cols = head.cols;
        const rowsHere = good.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => (cols as string[]).includes(k))) as unknown as Row);
        const f = csvFile(head, rowsHere.map((g) => ({ good: g })), eol, bom, quoteAll);
        const r = await importSubscribers(store, chunked(Buffer.from(f.text), sizes), { format: 'csv', mode: 'replace', known, maxRejected: 1 });
        expect(r.problems).toEqual([]);
        expectReport(r, f);
        expect(await inventory()).toEqual(rowsHere.map(expected).sort(byIdOrder));
      }), { seed: SEED, numRuns: 300 });
  });

  it('reports each garbage row once with its line and reason, and keeps every good row around it', async () => {
    const files = headers.chain((head) => fc.tuple(fc.constant(head),
      fc.uniqueArray(rows, { minLength: 1, maxLength: 20, selector: (r) => r.id }),
      fc.array(badRows(head.cols), { minLength: 1, maxLength: 12 }),
      fc.array(fc.constantFrom('', '   ', '\t'), { maxLength: 3 }),
      fc.array(fc.nat(), { minLength: 40, maxLength: 40 })));
    await fc.assert(fc.asyncProperty(files, fc.constantFrom('\n', '\r\n'), fc.boolean(), chunkings, async ([head, good, bad, blanks, order], eol, bom, sizes) => {
      const cols = head.cols;
      const goodHere = good.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => (cols as string[]).includes(k))) as unknown as Row);
      // Interleave: a deterministic shuffle driven by the generated numbers.
      const items: ({ good: Row } | { bad: { text: string; why: RegExp } } | { blank: string })[] = [
        ...goodHere.map((g) => ({ good: g })), ...bad.map((b) => ({ bad: b })), ...blanks.map((b) => ({ blank: b }))];
      for (let i = items.length - 1; i > 0; i--) {
        const j = order[i % order.length] % (i + 1);
        [items[i], items[j]] = [items[j], items[i]];
      }
      // A repeated id after its first row: refused as such (the first row wins).
      const dup = goodHere[0];
      items.push({ bad: { text: cellsOf({ ...dup, tier: 'gold' }, cols).map((v) => cell(v, true)).join(','), why: new RegExp(`^id: .* is on an earlier row$`, 's') } });
      const f = csvFile(head, items, eol, bom, false);
      const r = await importSubscribers(store, chunked(Buffer.from(f.text), sizes), { format: 'csv', mode: 'replace', known, maxRejected: 1 });
      expectReport(r, f);
      expect(await inventory()).toEqual(goodHere.map(expected).sort(byIdOrder));
    }), { seed: SEED, numRuns: 300 });
  });

  // Found by this campaign with a streaming csv-parse, which cannot find the next record after
  // these: the importer now finds where each record ends itself, and reads each on its own.
  it('a row over MAX_ROW_LENGTH is one rejected row, and the rows after it are kept', async () => {
    const text = ['id,tier,service,serving', 'A,gold,mobile,BS-1-C1', 'x'.repeat(MAX_ROW_LENGTH + 10), 'B,gold,mobile,BS-1-C1'].join('\n');
    const r = await importSubscribers(store, chunked(Buffer.from(text), [1000]), { format: 'csv', mode: 'replace', known, maxRejected: 1 });
    expect(r.problems).toEqual([{ line: 3, reason: `the row is over ${MAX_ROW_LENGTH} characters` }]);
    expect(r.loaded).toBe(2);
  });

  it('text after a closing quote is one rejected row, and the rows after it are kept', async () => {
    const text = ['id,tier,service,serving', 'A,gold,mobile,BS-1-C1', '"x"y,gold,mobile,BS-1-C1', 'B,gold,mobile,BS-1-C1', 'C,gold,mobile,BS-1-C1'].join('\n');
    const r = await importSubscribers(store, chunked(Buffer.from(text), [7]), { format: 'csv', mode: 'replace', known, maxRejected: 1 });
    expect(r.loaded).toBe(3);
    expect(r.rejected).toBe(1);
  });

  it('a CR LF inside a quoted field counts as one line, so later rows keep their line numbers', async () => {
    const text = ['id,tier,service,serving', '"two\r\nlines",platinum,mobile,BS-1-C1', 'C,platinum,mobile,BS-1-C1'].join('\n');
    const r = await importSubscribers(store, chunked(Buffer.from(text), [64]), { format: 'csv', mode: 'replace', known, maxRejected: 1 });
    expect(r.problems.map((p) => p.line)).toEqual([2, 4]); // the row over lines 2-3 is named by its first line
  });
});

// --- JSON Lines --------------------------------------------------------------------------------

/** JSON objects of random shape, prototype keys among them: never a valid subscriber (each has a key the schema does not know). */
const hostileObjects = fc.letrec<{ value: unknown; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.double(), fc.string(), fc.boolean(), fc.constant(null), tie('object'), fc.array(tie('value'), { maxLength: 4 })),
  object: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', ''), tie('value'),
    fc.array(fc.tuple(fc.constantFrom('id', 'tier', 'service', 'serving', 'region', 'arpu', '__proto__', 'constructor', 'toString'), tie('value')), { maxLength: 5 }))
    .map(([k, v, rest]) => Object.fromEntries([...rest, [k, v]])),
}));

const jsonBad = fc.oneof(
  hostileText([',', '{', '}', '[', '"', ':', ' ', '\0', '\r', '__proto__'], [], 1).filter((s) => s.trim() !== '' && !s.includes('\n')).map((s) => ({ text: s, why: /^(not JSON: |row: |id: |tier: |service: |serving: )/ })),
  hostileObjects.object.map((o) => ({ text: JSON.stringify(o), why: /^(row: |id: |tier: |service: |serving: |region: |arpu: )/ })),
  fc.oneof(fc.double(), fc.string(), fc.constant(null), fc.array(fc.nat())).map((v) => ({ text: JSON.stringify(v), why: /^(row: |not JSON: )/ })),
  fc.constantFrom('{"id": broken', '{"id":"A"}garbage', 'NaN', '{"__proto__":{"tier":"gold"},"id":"P","service":"mobile","serving":["BS-1-C1"]}', '\uFEFF{}').map((text) => ({ text, why: /^(not JSON: |row: |tier: |id: )/ })),
  rows.map((r) => ({ text: JSON.stringify({ ...r, tier: 'platinum' }), why: /^tier: / })),
  rows.map((r) => ({ text: JSON.stringify({ ...r, serving: r.serving.join(';') }), why: /^serving: / })),
  rows.map((r) => ({ text: JSON.stringify({ ...r, arpu: -1 }), why: /^arpu: / })),
  fc.constant({ text: `{"id":"${'L'.repeat(MAX_ROW_LENGTH)}"}`, why: new RegExp(`^the row is over ${MAX_ROW_LENGTH} characters$`) }),
);

/** A good row as JSON: amounts as numbers. */
const jsonOf = (r: Row) => JSON.stringify({ ...r, ...(r.arpu !== undefined && { arpu: Number(r.arpu) }), ...(r.fee !== undefined && { fee: Number(r.fee) }) });

describe('subscriber JSON Lines through the importer into SQLite', () => {
  it('stores every valid line exactly and reports each bad one once with its line, over any byte chunking', async () => {
    const files = fc.tuple(fc.uniqueArray(rows, { minLength: 1, maxLength: 20, selector: (r) => r.id }),
      fc.array(jsonBad, { maxLength: 12 }), fc.array(fc.constantFrom('', ' ', '\r'), { maxLength: 3 }), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }));
    await fc.assert(fc.asyncProperty(files, fc.constantFrom('\n', '\r\n'), fc.boolean(), chunkings, async ([good, bad, blanks, order], eol, bom, sizes) => {
      const items: ({ good: Row } | { bad: { text: string; why: RegExp } } | { blank: string })[] = [
        ...good.map((g) => ({ good: g })), ...bad.map((b) => ({ bad: b })), ...blanks.map((b) => ({ blank: b }))];
      for (let i = items.length - 1; i > 0; i--) {
        const j = order[i % order.length] % (i + 1);
        [items[i], items[j]] = [items[j], items[i]];
      }
      const f: File = { text: '', good: [], bad: [], records: 0 };
      const out = items.map((it, i) => {
        if ('good' in it) {
          f.good.push(it.good);
          f.records++;
          return jsonOf(it.good);
        }
        if ('bad' in it) {
          f.bad.push({ line: i + 1, why: it.bad.why });
          f.records++;
          return it.bad.text;
        }
        return it.blank;
      });
      f.text = (bom ? '\uFEFF' : '') + out.join(eol) + eol;
      const r = await importSubscribers(store, chunked(Buffer.from(f.text), sizes), { format: 'jsonl', mode: 'replace', known, maxRejected: 1 });
      expectReport(r, f);
      expect(await inventory()).toEqual(good.map(expected).sort(byIdOrder));
      expect(({} as Record<string, unknown>).tier).toBeUndefined();
    }), { seed: SEED, numRuns: 300 });
  });
});

// --- the row parsers alone ---------------------------------------------------------------------

const FIELD = /^(not JSON: |row: |(id|tier|service|serving|region|plan|arpu|fee|usage)(\[\d+\])?: )/;

describe('subscriber row parsers', () => {
  it('parseJsonLine reads every valid row back exactly and never throws on anything else, naming the field', () => {
    const text = fc.oneof(
      rows.map(jsonOf),
      hostileObjects.value.map((v) => JSON.stringify(v) ?? 'undefined'),
      hostileText(), fc.string({ unit: 'binary', maxLength: 100 }),
      fc.integer({ min: 1, max: 50_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.constantFrom('', ' ', '1e400', '{"arpu":1e400}', '{"__proto__":null}', '{"id":"a","tier":"gold","service":"mobile","serving":["BS-1-C1"],"arpu":1e-400}'),
    );
    fc.assert(fc.property(text, (t) => {
      const r = parseJsonLine(t, known);
      if ('error' in r) {
        expect(r.error).toMatch(FIELD);
        return;
      }
      expect(r.subscriber.id.length).toBeGreaterThan(0);
      expect(r.subscriber.serving.length).toBeGreaterThan(0);
      for (const e of r.subscriber.serving) expect(known(e)).toBe(true);
      for (const k of ['arpuMinor', 'feeMinor'] as const) if (r.subscriber[k] !== undefined) expect(Number.isSafeInteger(r.subscriber[k])).toBe(true);
    }), { seed: SEED, numRuns: 2000 });
    fc.assert(fc.property(rows, (row) => {
      expect(parseJsonLine(jsonOf(row), known)).toEqual({ subscriber: expected(row) });
    }), { seed: SEED, numRuns: 1000 });
  });

  it('csvHeader names what is wrong with any header, and its row parser never throws', () => {
    const names = fc.oneof(fc.constantFrom('id', 'ID', ' Tier ', 'service', 'SERVING', 'region', 'plan', 'arpu', 'fee', 'usage', '', '__proto__', 'constructor', 'toString', 'id\0'), hostileText());
    fc.assert(fc.property(fc.array(names, { maxLength: 12 }), fc.array(fc.array(fc.oneof(hostileText(), fc.constantFrom('gold', 'mobile', 'BS-1-C1', '1.5', '-1', '1e400')), { maxLength: 14 }), { maxLength: 5 }), (header, records) => {
      const h = csvHeader(header);
      if ('error' in h) {
        expect(h.error).toMatch(/^(header needs column\(s\) |unknown column\(s\) |column\(s\) named twice: )/);
        return;
      }
      const cols = header.map((c) => c.trim().toLowerCase());
      for (const c of ['id', 'tier', 'service', 'serving']) expect(cols).toContain(c);
      for (const cells of records) {
        const r = h.parse(cells, known);
        if ('error' in r) expect(r.error).toMatch(cells.length !== cols.length ? /^\d+ fields, the header has \d+$/ : FIELD);
        else expect(cells.length).toBe(cols.length);
      }
    }), { seed: SEED, numRuns: 2000 });
  });
});

// --- lines() -----------------------------------------------------------------------------------

describe('lines() of a byte stream', () => {
  const texts = fc.array(fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
    { weight: 3, arbitrary: fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\uFEFF', 'é', '𝄞', '中文', '\u0000', '\uFFFD') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
  ), { maxLength: 30 }).map((p) => p.join(''));
  const bytesOf = fc.oneof(
    { weight: 4, arbitrary: texts.map((t) => Buffer.from(t)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)) }, // invalid UTF-8 among them
  );

  /** What lines() must give: the decoded text split on LF, the last empty piece not a line, a CR before each LF and a BOM opening line 1 dropped. */
  function model(bytes: Buffer, max: number) {
    const parts = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).split('\n');
    if (parts.at(-1) === '') parts.pop();
    return parts.map((p, i) => {
      const t = (i === 0 ? p.replace(/^\uFEFF/, '') : p).replace(/\r$/, '');
      return { n: i + 1, text: t.length > max ? '' : t, tooLong: t.length > max };
    });
  }

  it('splits any byte chunking exactly like split("\\n") on the whole, and marks the lines over the limit', async () => {
    await fc.assert(fc.asyncProperty(bytesOf, chunkings.map((s) => s.map((n) => 1 + (n % 9))), fc.integer({ min: 0, max: 12 }), async (bytes, sizes, max) => {
      const got = [];
      for await (const l of lines(chunked(bytes, sizes), max)) got.push(l);
      expect(got).toEqual(model(bytes, max));
    }), { seed: SEED, numRuns: 2000 });
  });

  it('gives the same lines for string chunks as for their bytes', async () => {
    await fc.assert(fc.asyncProperty(texts, fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 12 }), async (text, sizes, max) => {
      async function* strings() {
        for (let at = 0, i = 0; at < text.length; i++) {
          const n = sizes[i % sizes.length];
          yield text.slice(at, at + n);
          at += n;
        }
      }
      const fromStrings = [];
      for await (const l of lines(strings(), max)) fromStrings.push(l);
      // Cut between the halves of a surrogate pair, the string chunks carry what the bytes cannot: compare well-formed text only.
      if (!text.isWellFormed()) return;
      const fromBytes = [];
      for await (const l of lines(chunked(Buffer.from(text), sizes), max)) fromBytes.push(l);
      expect(fromStrings).toEqual(fromBytes);
    }), { seed: SEED, numRuns: 1000 });
  });
});
