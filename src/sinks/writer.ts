/**
 * Sends a body of line-protocol lines to a destination. The small contract behind the spooled
 * sink: the sink owns batching, retries, backoff and the spool; a writer only speaks HTTP.
 */
export interface LineWriter {
  readonly describe: string;
  send(body: string): Promise<void>;
}

/** Why a send failed, and what to do about it. */
export type WriteFailure = 'retry' | 'bad-data';

export class WriteError extends Error {
  readonly kind: WriteFailure;
  readonly status?: number;
  /** Server-suggested wait (Retry-After), in ms. */
  readonly retryAfterMs?: number;
  constructor(message: string, kind: WriteFailure, opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
  }
}
