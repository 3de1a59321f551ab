import type { Sample, FieldValue } from '../../src/sample.ts';
import type { MqttSubscriptionConfig } from '../../src/config/schema.ts';
import { parseLine } from '../../src/sinks/line-protocol.ts';
import { epochMs } from '../../src/intake/time.ts';

/** Why a whole message was refused, as counted in `/metrics`. */
export type DecodeRefusal = 'too_large' | 'malformed';

/** A message that cannot become samples at all; the reason is logged with the topic. */
export class DecodeError extends Error {
  readonly reason: DecodeRefusal;
  constructor(message: string, reason: DecodeRefusal = 'malformed') {
    super(message);
    this.reason = reason;
  }
}

/** A value spec, compiled: a JSON path, or a template over topic levels (or a literal). */
type Getter = (levels: readonly string[], json: unknown) => unknown;

function compileSpec(spec: string): Getter {
  if (spec.startsWith('$.') || spec === '$') {
    const path = spec.slice(2).split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '');
    return (_levels, json) => {
      let v: any = json;
      for (const p of path) {
        if (v === null || typeof v !== 'object') return undefined;
        v = v[p];
      }
      return v;
    };
  }
  if (!/\{\d+\}/.test(spec)) return () => spec;
  const parts = spec.split(/\{(\d+)\}/); // odd indexes are topic levels
  return (levels) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 0) out += parts[i];
      else {
        const level = levels[Number(parts[i])];
        if (level === undefined || level === '') return undefined;
        out += level;
      }
    }
    return out;
  };
}

interface CompiledField { name: string; get: Getter; type: 'float' | 'int' | 'bool' | 'string'; scale?: number; optional?: boolean }

/** One subscription's mapping, compiled once. */
export interface Decoder {
  readonly sub: MqttSubscriptionConfig;
  /** The filter the broker is asked for (with `$share/<group>/` when shared). */
  readonly filter: string;
  decode(topic: string, payload: Buffer, receivedAt: number): Decoded;
}

export interface Decoded {
  samples: Sample[];
  /** Values left out (wrong type, missing), the rest of the message kept. */
  problems: string[];
  /** Elements the message was about, for presence and staleness. */
  elements: string[];
  /** The publisher's message counter, when the subscription names one and the message carries it. */
  sequence?: { publisher: string; seq: number };
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function fieldValue(f: CompiledField, v: unknown): FieldValue {
  switch (f.type) {
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw new Error(`expected text, got ${describe(v)}`);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 1 || v === 0) return v === 1;
      throw new Error(`expected true or false, got ${describe(v)}`);
    case 'int': {
      const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`expected an integer, got ${describe(v)}`);
      const scaled = f.scale ? n * f.scale : n;
      if (!Number.isFinite(scaled)) throw new Error(`${describe(v)} times the scale ${f.scale} is out of range`);
      return BigInt(Math.round(scaled));
    }
    default: {
      const n = typeof v === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`expected a number, got ${describe(v)}`);
      if (f.scale && !Number.isFinite(n * f.scale)) throw new Error(`${describe(v)} times the scale ${f.scale} is out of range`);
      return f.scale ? Number((n * f.scale).toPrecision(15)) : n;
    }
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  let s: string;
  try {
    s = typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? 'an array nested too deep to show' : 'an object nested too deep to show'; // a stack overflow, not a message
  }
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

/**
 * Integer milliseconds from a JSON timestamp: a number (or a string of digits) of s, ms, µs or ns
 * since the epoch, told apart by magnitude (`epochMs`), or an ISO-8601 string with a date.
 * Whether the time is plausible is the collector's check, not this one's.
 */
export function parseTime(v: unknown): number {
  if (typeof v === 'number') {
    const ms = epochMs(v);
    if (ms !== undefined) return ms;
  }
  if (typeof v === 'string') {
    const ms = /^-?\d+(\.\d+)?$/.test(v) ? epochMs(Number(v)) : undefined;
    if (ms !== undefined) return ms;
    // Date.parse alone reads much that is not ISO-8601 ("2026-01-01junk" as June): the form is checked first.
    const iso = /^(\d{4})-(\d{2})-(\d{2})([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/.exec(v);
    const t = iso ? Date.parse(v) : NaN;
    // ...and the day, which Date.parse rolls over (February 30 as March 2).
    if (!Number.isNaN(t) && Number(iso![3]) <= new Date(new Date(0).setUTCFullYear(Number(iso![1]), Number(iso![2]), 0)).getUTCDate()) return t;
  }
  throw new Error(`bad timestamp ${describe(v)}`);
}

/** Does an MQTT topic match a filter with + and # wildcards? */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false; // $SYS is not matched by wildcards
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export function compileDecoder(sub: MqttSubscriptionConfig): Decoder {
  const element = sub.element ? compileSpec(sub.element) : undefined;
  const tags = Object.entries(sub.tags).map(([k, spec]) => ({ name: k, get: compileSpec(spec) }));
  const fields: CompiledField[] = Object.entries(sub.fields).map(([name, f]) => typeof f === 'string'
    ? { name, get: compileSpec(f), type: 'float' as const }
    : { name, get: compileSpec(f.path), type: f.type, scale: f.scale, optional: f.optional });
  const time = sub.time ? compileSpec(sub.time) : undefined;
  const sequence = sub.sequence && { seq: compileSpec(sub.sequence.path), publisher: compileSpec(sub.sequence.publisher) };
  const each = sub.each ? compileSpec(sub.each) : undefined;
  const fieldName = sub.field ? compileSpec(sub.field) : undefined;
  const filter = sub.share ? `$share/${sub.share}/${sub.topic}` : sub.topic;

  function mapOne(levels: string[], json: unknown, receivedAt: number, out: Decoded): void {
    const before = out.problems.length;
    const el = text(element!(levels, json));
    if (el === undefined) throw new DecodeError(`no element (${sub.element} gave nothing)`);
    const t: Record<string, string> = {};
    for (const tag of tags) {
      const v = text(tag.get(levels, json));
      if (v !== undefined) t[tag.name] = v;
    }
    const f: Record<string, FieldValue> = {};
    let n = 0;
    for (const field of fields) {
      const raw = field.get(levels, json);
      if (field.optional && (raw === undefined || raw === null)) continue; // not carried: nothing to say
      try {
        f[field.name] = fieldValue(field, raw);
        n++;
      } catch (err) {
        out.problems.push(`field ${field.name}: ${(err as Error).message}`);
      }
    }
    if (n === 0) throw new DecodeError(`no usable field (${out.problems.slice(before).join('; ')})`);
    let ts = receivedAt;
    if (time) {
      const raw = time(levels, json);
      if (raw !== undefined) ts = parseTime(raw);
    }
    out.samples.push({ element: el, measurement: sub.measurement!, tags: t, fields: f, time: ts });
    out.elements.push(el);
  }

  return {
    sub,
    filter,
    decode(topic, payload, receivedAt) {
      if (payload.length > sub.maxPayload) throw new DecodeError(`payload of ${payload.length} bytes is over maxPayload (${sub.maxPayload})`, 'too_large');
      const levels = topic.split('/');
      const out: Decoded = { samples: [], problems: [], elements: [] };
      switch (sub.format) {
        case 'json': {
          let json: unknown;
          try {
            json = JSON.parse(payload.toString('utf8'));
          } catch (err) {
            throw new DecodeError(`not JSON: ${(err as Error).message}`);
          }
          if (sequence) {
            const seq = sequence.seq(levels, json);
            const publisher = text(sequence.publisher(levels, json));
            const n = typeof seq === 'number' ? seq : typeof seq === 'string' && /^\d+$/.test(seq) ? Number(seq) : NaN;
            if (publisher !== undefined && Number.isSafeInteger(n) && n >= 0) out.sequence = { publisher: publisher.slice(0, 200), seq: n };
          }
          let items: unknown[] = [json];
          if (each) {
            const arr = each(levels, json);
            if (!Array.isArray(arr)) throw new DecodeError(`${sub.each} is not an array`);
            items = arr;
          } else if (Array.isArray(json)) items = json;
          for (const item of items) {
            try {
              mapOne(levels, item, receivedAt, out);
            } catch (err) {
              if (items.length === 1) throw err instanceof DecodeError ? err : new DecodeError((err as Error).message);
              out.problems.push((err as Error).message); // one bad element of an array: the others stay
            }
          }
          if (out.samples.length === 0) throw new DecodeError(`no sample in the message (${out.problems.join('; ')})`);
          return out;
        }
        case 'value': {
          const raw = payload.toString('utf8').trim();
          const name = text(fieldName!(levels, undefined));
          if (name === undefined) throw new DecodeError(`no field name (${sub.field} gave nothing)`);
          const el = text(element!(levels, undefined));
          if (el === undefined) throw new DecodeError(`no element (${sub.element} gave nothing)`);
          let value: FieldValue;
          try {
            value = fieldValue({ name, get: () => raw, type: 'float' }, raw);
          } catch (err) {
            throw new DecodeError((err as Error).message);
          }
          const t: Record<string, string> = {};
          for (const tag of tags) {
            const v = text(tag.get(levels, undefined));
            if (v !== undefined) t[tag.name] = v;
          }
          out.samples.push({ element: el, measurement: sub.measurement!, tags: t, fields: { [name]: value }, time: receivedAt });
          out.elements.push(el);
          return out;
        }
        case 'line': {
          const lines = payload.toString('utf8').split('\n');
          lines.forEach((line, i) => {
            if (line.trim() === '' || line.startsWith('#')) return;
            try {
              const p = parseLine(line.trimEnd(), sub.precision);
              const t: Record<string, string> = { ...p.tags };
              for (const tag of tags) {
                const v = text(tag.get(levels, undefined));
                if (v !== undefined) t[tag.name] = v;
              }
              const el = p.tags.element ?? (element ? text(element(levels, undefined)) : undefined);
              if (el === undefined) throw new Error('no element: give the line an "element" tag or the subscription an element');
              delete t.element;
              // Integer ms, like every stored time: ns and µs precision would otherwise leave fractions.
              const at = p.time === undefined ? receivedAt : Math.round(p.time);
              if (!Number.isFinite(at)) throw new Error('bad timestamp: too large to be a time');
              out.samples.push({ element: el, measurement: sub.measurement ?? p.measurement, tags: t, fields: p.fields, time: at });
              out.elements.push(el);
            } catch (err) {
              out.problems.push(`line ${i + 1}: ${(err as Error).message}`);
            }
          });
          if (out.samples.length === 0) throw new DecodeError(out.problems.length ? out.problems.join('; ') : 'empty payload');
          return out;
        }
      }
    },
  };
}
