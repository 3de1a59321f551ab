import { parse as parseCsv } from 'csv-parse/sync';
import type { Db } from '../../src/store/db.ts';
import type { Store } from '../../src/store/store.ts';
import { csvHeader, parseJsonLine, type RowResult, type Subscriber } from './parse.ts';
import { Rebuilt, Staged } from './repository.ts';

export { inventoryDdl } from './repository.ts';

export interface ImportOptions {
  format: 'csv' | 'jsonl';
  /** `replace`: the file is the whole inventory. `incremental`: upsert its rows. Either way all of the file or none of it. */
  mode: 'replace' | 'incremental';
  known: (element: string) => boolean;
  /**
   * The share of rejected rows (0..1) past which nothing is committed. Default: 0 for a replace
   * (any rejected row refuses it: a file that is the whole inventory must be whole), 1 for an
   * incremental load (the good rows go in, the bad ones are reported).
   */
  maxRejected?: number;
  batchSize?: number;
  /** Called now and then with the rows read so far (tests use it to act mid-import). */
  progress?: (rows: number) => void | Promise<void>;
  now?: () => number;
}

export interface ImportReport {
  rows: number;
  loaded: number;
  rejected: number;
  /** The first 1,000 rejected rows, with their line number and why. */
  problems: { line: number; reason: string }[];
  /** Whether the file went in; when false, `refused` says why and the inventory is as it was. */
  committed: boolean;
  refused?: string;
  seconds: number;
}

/** The whole file cannot be imported (its header, its encoding, or a stream that failed): nothing was committed. */
export class ImportError extends Error {}

/** A row longer than this (in characters) is rejected without being held (JSON Lines) or parsed (CSV). */
export const MAX_ROW_LENGTH = 64 * 1024;

/**
 * Loads a subscriber inventory from a byte stream of CSV (RFC 4180, header first) or JSON Lines,
 * validated row by row: a bad row is reported with its line number and reason.
 *
 * Nothing the import reads is written to the inventory until the whole file has been read: rows
 * are staged in their own tables in short batch transactions, and one short transaction at the
 * end swaps (replace) or upserts (incremental) them in. No transaction is ever open while the
 * importer waits for its input, so a slow or vanished client holds nothing but its staging rows,
 * which are dropped when the input fails. A replace that loaded nothing, or whose rejected share
 * passes `maxRejected`, is refused and changes nothing.
 */
export async function importSubscribers(store: Store, input: AsyncIterable<string | Uint8Array>, o: ImportOptions): Promise<ImportReport> {
  return store.db.bulk(() => run(store.db, input, o));
}

async function run(db: Db, input: AsyncIterable<string | Uint8Array>, o: ImportOptions): Promise<ImportReport> {
  const t0 = performance.now();
  const now = o.now ?? Date.now;
  const report: ImportReport = { rows: 0, loaded: 0, rejected: 0, problems: [], committed: false, seconds: 0 };
  const batchSize = o.batchSize ?? 10_000;
  const maxRejected = o.maxRejected ?? (o.mode === 'replace' ? 0 : 1);
  const reject = (line: number, reason: string) => {
    report.rejected++;
    if (report.problems.length < 1000) report.problems.push({ line, reason });
  };
  const target = o.mode === 'replace' ? await Rebuilt.begin(db, now()) : await Staged.begin(db, now());
  let batch: { line: number; s: Subscriber }[] = [];
  const order = { greatest: '' };
  const load = async () => {
    const rows = await dedupe(batch, reject, (ids) => target.seen(ids), order);
    batch = [];
    if (rows.length === 0) return;
    await target.add(rows);
    report.loaded += rows.length;
  };
  try {
    const rows = o.format === 'csv' ? csvRows(input, o.known) : jsonlRows(input, o.known);
    for await (const r of rows) {
      report.rows++;
      if ('error' in r) reject(r.line, r.error);
      else batch.push({ line: r.line, s: r.subscriber });
      if (batch.length >= batchSize) {
        await load();
        await o.progress?.(report.rows);
      }
    }
    await load();
    const share = report.rows === 0 ? 0 : report.rejected / report.rows;
    if (report.loaded === 0 && o.mode === 'replace') report.refused = 'no row loaded: a replace would empty the inventory';
    else if (report.rejected > 0 && share > maxRejected) {
      report.refused = `${report.rejected} of ${report.rows} rows rejected (${pct(share)}), over the bound of ${pct(maxRejected)}${o.mode === 'replace' ? ' for a replace' : ''}`;
    }
    if (!report.refused) {
      await target.commit();
      report.committed = true;
    } else {
      report.loaded = 0;
    }
  } finally {
    if (!report.committed) await target.discard();
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;

/**
 * A batch's rows less the ids seen before in this file (the first row of an id wins; the others
 * are rejected). A file in id order, the usual export, needs no look-up: an id greater than every
 * earlier one cannot be a repeat.
 */
async function dedupe(batch: { line: number; s: Subscriber }[], reject: (line: number, reason: string) => void, earlier: (ids: string[]) => Promise<string[]>, order: { greatest: string }): Promise<Subscriber[]> {
  const seen = new Set<string>();
  let ascending = true;
  for (let i = 0, prev = order.greatest; i < batch.length && ascending; prev = batch[i++].s.id) ascending = batch[i].s.id > prev;
  if (!ascending) for (let i = 0; i < batch.length; i += 500) for (const id of await earlier(batch.slice(i, i + 500).map((b) => b.s.id))) seen.add(id);
  for (const b of batch) if (b.s.id > order.greatest) order.greatest = b.s.id;
  const out: Subscriber[] = [];
  for (const b of batch) {
    if (seen.has(b.s.id)) reject(b.line, `id: ${b.s.id} is on an earlier row`);
    else {
      seen.add(b.s.id);
      out.push(b.s);
    }
  }
  return out;
}

type Row = ({ subscriber: Subscriber } | { error: string }) & { line: number };

/**
 * CSV records (RFC 4180: header first; quoted fields with commas, doubled quotes and line breaks;
 * a BOM), each checked on its own, so a malformed record costs one rejected row and never the rows
 * after it, and line numbers count line feeds as a person would.
 */
async function* csvRows(input: AsyncIterable<string | Uint8Array>, known: (e: string) => boolean): AsyncGenerator<Row> {
  let parse: ((cells: readonly string[]) => RowResult) | undefined;
  for await (const r of records(input, MAX_ROW_LENGTH, true)) {
    if (r.text.trim() === '' && !r.tooLong && !r.unclosed) continue;
    let cells: string[] | { error: string };
    if (r.tooLong) cells = { error: `the row is over ${MAX_ROW_LENGTH} characters` };
    else if (r.unclosed) cells = { error: `not CSV: a quote opened on this line is never closed (the rest of the file, through line ${r.last}, is this one row)` };
    else cells = splitRecord(r.text);
    if (!parse) {
      if ('error' in cells) throw new ImportError(`line ${r.n}: ${cells.error}`);
      const h = csvHeader(cells);
      if ('error' in h) throw new ImportError(`line ${r.n}: ${h.error}`);
      parse = (c) => h.parse(c, known);
      continue;
    }
    yield 'error' in cells ? { error: cells.error, line: r.n } : { ...parse(cells), line: r.n };
  }
  if (!parse) throw new ImportError('the file is empty: it needs a header line');
}

/**
 * One CSV record's fields. Without a quote, RFC 4180 has nothing to unescape: split on commas.
 * With quotes, csv-parse reads it (doubled quotes, commas and line breaks inside quotes); a
 * malformed record is one rejected row, and the records after it are read as usual, since
 * `records` has already found where it ends.
 */
function splitRecord(text: string): string[] | { error: string } {
  if (!text.includes('"')) return text.split(',');
  try {
    const out = parseCsv(text, { relax_column_count: true, trim: true, record_delimiter: ['\r\n', '\n'] }) as string[][];
    if (out.length !== 1) return { error: `not CSV: ${out.length} records where one was expected` };
    return out[0];
  } catch (err) {
    return { error: `not CSV: ${(err as Error).message.replace(/ at line \d+.*$| \(.*$/s, '')}` };
  }
}

/** JSON Lines, split here so that a line over MAX_ROW_LENGTH characters is rejected without being held whole. */
async function* jsonlRows(input: AsyncIterable<string | Uint8Array>, known: (e: string) => boolean): AsyncGenerator<Row> {
  for await (const l of lines(input, MAX_ROW_LENGTH)) {
    if (l.tooLong) yield { line: l.n, error: `the row is over ${MAX_ROW_LENGTH} characters` };
    else if (l.text.trim() !== '') yield { ...parseJsonLine(l.text, known), line: l.n };
  }
}

/** Lines of a byte stream (LF or CRLF), numbered from 1; one longer than `max` characters is dropped and marked. */
export async function* lines(input: AsyncIterable<string | Uint8Array>, max: number): AsyncGenerator<{ n: number; text: string; tooLong: boolean }> {
  for await (const r of records(input, max, false)) yield { n: r.n, text: r.text, tooLong: r.tooLong };
}

/**
 * Records of a byte stream: lines (LF or CRLF, the CR dropped), or with `quotes` CSV records, in
 * which a line feed inside double quotes does not end the record. `n` is the line a record starts
 * on, `last` the one it ends on; a record over `max` characters is dropped (`tooLong`) without
 * being held, and one whose quote never closes before the end of the input is marked `unclosed`.
 * A BOM at the very start is dropped once, whether the chunks are bytes or strings.
 */
export async function* records(input: AsyncIterable<string | Uint8Array>, max: number, quotes: boolean): AsyncGenerator<{ n: number; last: number; text: string; tooLong: boolean; unclosed: boolean }> {
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  let parts: string[] = [];
  let size = 0;
  let tooLong = false;
  let quoted = false;
  let line = 1;
  let first = 1;
  let started = false;
  const take = (piece: string) => {
    if (tooLong || piece === '') return;
    if (size + piece.length > max + 2) tooLong = true; // room for the CR and BOM that end() drops
    else {
      parts.push(piece);
      size += piece.length;
    }
  };
  const end = (last: number, unclosed = false) => {
    let text = parts.join('').replace(/\r$/, '');
    if (!started) text = text.replace(/^\uFEFF/, '');
    started = true;
    const over = tooLong || text.length > max;
    const out = { n: first, last, text: over ? '' : text, tooLong: over, unclosed };
    parts = [];
    size = 0;
    tooLong = false;
    return out;
  };
  // RFC 4180 quoting: a quote opens a quoted field only at the start of a field (after spaces);
  // inside one, a doubled quote is a quote and a single one closes it. A line feed ends the record
  // unless it is inside a quoted field.
  let fieldStart = true;
  let afterClose = false;
  for await (const chunk of input) {
    const s = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let from = 0;
    if (!quotes) {
      for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', from)) {
        take(s.slice(from, nl));
        from = nl + 1;
        yield end(line);
        first = ++line;
      }
    } else {
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (afterClose) {
          afterClose = false;
          if (c === 34) { // "" inside a quoted field: a quote, and still quoted
            quoted = true;
            continue;
          }
        }
        if (quoted) {
          if (c === 34) {
            quoted = false;
            afterClose = true;
          } else if (c === 10) line++;
          continue;
        }
        if (c === 10) {
          take(s.slice(from, i));
          from = i + 1;
          yield end(line);
          first = ++line;
          fieldStart = true;
        } else if (c === 44) fieldStart = true;
        else if (c === 34 && fieldStart) {
          quoted = true;
          fieldStart = false;
        } else if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) fieldStart = false;
      }
    }
    take(s.slice(from));
  }
  take(decoder.decode());
  if (size > 0 || tooLong || quoted) yield end(line, quoted);
}
