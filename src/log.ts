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

/** Scrubs the strings of a logged object, three levels deep (beyond that, objects are left as they are). */
function scrubObject(o: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(o)) {
    const next = typeof v === 'string' ? scrub(v) : v && typeof v === 'object' && !Array.isArray(v) && depth < 3 ? scrubObject(v as Record<string, unknown>, depth + 1) : v;
    if (next !== v) (copy ??= { ...o })[k] = next;
  }
  return copy ?? o;
}

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
    formatters: { log: (o: Record<string, unknown>) => scrubObject(o) },
    serializers: { err: (e: Error) => scrubObject(pino.stdSerializers.err(e) as unknown as Record<string, unknown>) },
    hooks: { logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) { method.apply(this, args.map((a) => (typeof a === 'string' ? scrub(a) : a))); } },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.format === 'pretty') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } } });
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}
