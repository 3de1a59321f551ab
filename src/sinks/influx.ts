import { InfluxDB, HttpError } from '@influxdata/influxdb-client';
import type { InfluxConfig } from '../config/schema.ts';
import { WriteError, type LineWriter } from './writer.ts';

/** Statuses that mean the data itself is refused: retrying the same lines cannot help. */
const BAD_DATA = new Set([400, 413, 422]);

/**
 * Writes line protocol to InfluxDB through the official client's HTTP transport: the v2 write
 * API (`/api/v2/write`, org + bucket + token; also InfluxDB 3 and VictoriaMetrics) or the 1.x
 * API (`/write`, database + retention policy + user/password).
 */
export class InfluxWriter implements LineWriter {
  readonly describe: string;
  private readonly transport;
  private readonly path: string;
  private readonly headers: Record<string, string>;

  constructor(cfg: InfluxConfig) {
    const token = cfg.version === 2 ? cfg.token : undefined;
    this.transport = new InfluxDB({ url: cfg.url, token, timeout: cfg.timeout }).transport;
    this.headers = { 'content-type': 'text/plain; charset=utf-8' };
    if (cfg.version === 2) {
      this.path = `/api/v2/write?org=${encodeURIComponent(cfg.org)}&bucket=${encodeURIComponent(cfg.bucket)}&precision=ns`;
      this.describe = `InfluxDB v2 API at ${cfg.url} (org ${cfg.org}, bucket ${cfg.bucket})`;
    } else {
      const rp = cfg.retentionPolicy ? `&rp=${encodeURIComponent(cfg.retentionPolicy)}` : '';
      this.path = `/write?db=${encodeURIComponent(cfg.database)}${rp}&precision=ns`;
      if (cfg.username) {
        this.headers.authorization = 'Basic ' + Buffer.from(`${cfg.username}:${cfg.password ?? ''}`).toString('base64');
      }
      this.describe = `InfluxDB 1.x API at ${cfg.url} (database ${cfg.database})`;
    }
  }

  async send(body: string): Promise<void> {
    try {
      await this.transport.request(this.path, body, { method: 'POST', headers: this.headers });
    } catch (err) {
      if (err instanceof HttpError) {
        const detail = (err.json?.error ?? err.json?.message ?? err.body ?? err.message).toString().slice(0, 300);
        const kind = BAD_DATA.has(err.statusCode) ? 'bad-data' : 'retry';
        throw new WriteError(`HTTP ${err.statusCode}: ${detail}`, kind, {
          status: err.statusCode, retryAfterMs: err.canRetry() ? err.retryAfter() : undefined, cause: err,
        });
      }
      throw new WriteError((err as Error).message || String(err), 'retry', { cause: err });
    }
  }
}
