import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are secrets wherever they appear in a logged object. */
export const SECRET_KEYS = ['community', 'authKey', 'privKey', 'token', 'password', 'secret', 'authorization'];

/** Credentials inside strings: a token in a URL's query or fragment, a URL's password, a bearer token. */
const IN_TEXT: [RegExp, string][] = [
  [/([?#&](?:token|access_token|api_key|apikey|key|secret|password)=)[^&#\s"']+/gi, '$1[redacted]'],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/@\s:"']*:)[^/@\s"']+@/gi, '$1[redacted]@'],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[redacted]'],
];

/** A string with the credentials it carries replaced by `[redacted]`. */
export function scrub(text: string): string {
  let out = text;
  for (const [re, by] of IN_TEXT) out = out.replace(re, by);
  return out;
}

/**
 * Scrubs the strings of a logged value, six levels deep: in objects and arrays. Errors are left
 * to the `err` serializer (which scrubs them once serialized); the line written is scrubbed again
 * as a whole, so nothing deeper, in a child's bindings or in the message, gets through either.
 */
function scrubValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrub(v);
  if (v === null || typeof v !== 'object' || depth >= 6) return v;
  if (v instanceof Error) return v;
  if (Array.isArray(v)) {
    const out = v.map((x) => scrubValue(x, depth + 1));
    return out.some((x, i) => x !== v[i]) ? out : v;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const next = scrubValue(x, depth + 1);
    if (next !== x) (copy ??= { ...(v as Record<string, unknown>) })[k] = next;
  }
  return copy ?? v;
}
const scrubObject = (o: Record<string, unknown>) => scrubValue(o) as Record<string, unknown>;

export interface LogOptions {
  level?: string;
  /** `json` (default) or `pretty` (readable on a terminal). */
  format?: 'json' | 'pretty';
  destination?: DestinationStream;
}

/**
 * The root logger. Components log through `logger.child({ component })`; secrets are
 * redacted at any depth up to three levels, whatever object carries them, and credentials inside
 * strings (URLs, bearer tokens, error messages) are scrubbed.
 */
export function createLogger(opts: LogOptions = {}): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);
  const options = {
    level: opts.level ?? 'info',
    redact: { paths, censor: '[redacted]' },
    base: { pid: process.pid },
    // Tokens and passwords inside strings (a URL with #token=, mqtt://user:pass@host) never reach a line either.
    formatters: { log: scrubObject, bindings: scrubObject },
    serializers: { err: (e: Error) => scrubObject(pino.stdSerializers.err(e) as unknown as Record<string, unknown>) },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        // `log.error(err)` alone: pino would copy the error's message into msg as it stands.
        if (args[0] instanceof Error && typeof args[1] !== 'string') args = [args[0], args[0].message, ...args.slice(1)];
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a)));
      },
    },
  };
  if (opts.format === 'pretty' && !opts.destination) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } } });
  }
  const out = opts.destination ?? pino.destination({ fd: 2, sync: false });
  // The last net: every line as written, scrubbed whole (a child's bindings, a deep object, the message).
  const sink = out as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void };
  return pino(options, {
    write: (line: string) => out.write(scrub(line)),
    flush: (cb?: (err?: Error) => void) => (sink.flush ? sink.flush(cb) : cb?.()),
    flushSync: () => sink.flushSync?.(),
  } as DestinationStream);
}
