import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are secrets wherever they appear in a logged object. */
export const SECRET_KEYS = ['community', 'authKey', 'privKey', 'token', 'password', 'secret', 'authorization'];

export interface LogOptions {
  level?: string;
  /** `json` (default) or `pretty` (readable on a terminal). */
  format?: 'json' | 'pretty';
  destination?: DestinationStream;
}

/**
 * The root logger. Components log through `logger.child({ component })`; secrets are
 * redacted at any depth up to three levels, whatever object carries them.
 */
export function createLogger(opts: LogOptions = {}): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);
  const options = {
    level: opts.level ?? 'info',
    redact: { paths, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.format === 'pretty') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } } });
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}
