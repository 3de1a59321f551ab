import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config/schema.ts';
import { openStore } from '../../src/store/module.ts';
import { readPolicies } from '../compensation/assemble.ts';
import { PolicyError, SHIPPED_POLICIES } from '../compensation/policies.ts';
import { PeriodError, periodOf } from './period.ts';
import { FORMATS, ReportService, render, type Format } from './service.ts';

/**
 * `netpulse report`: the service report for a period, read from the configured store (SQLite file
 * or PostgreSQL), written to stdout or `--out`. Exit 2 for bad arguments (each named), 1 when the
 * store cannot be read.
 */
export async function reportCommand(config: Config, o: { from?: string; to?: string; month?: string; format?: string; 'what-if'?: string; out?: string },
  io: { out: (s: string) => void; err: (s: string) => void }, now = Date.now()): Promise<number> {
  const format = (o.format ?? 'json') as Format;
  if (!FORMATS.includes(format)) {
    io.err(`--format: expected one of ${FORMATS.join(', ')}, not "${o.format}"`);
    return 2;
  }
  let p;
  try {
    p = periodOf({ ...(o.from !== undefined && { from: o.from }), ...(o.to !== undefined && { to: o.to }), ...(o.month !== undefined && { month: o.month }) }, now, config.reports.maxPeriod);
  } catch (err) {
    if (err instanceof PeriodError) {
      io.err(`--${err.message}`);
      return 2;
    }
    throw err;
  }
  const c = config.compensation;
  const dir = c.policiesDir ?? SHIPPED_POLICIES;
  let policies;
  try {
    policies = readPolicies(config);
  } catch (err) {
    io.err(err instanceof PolicyError ? err.message : (err as Error).message);
    return 1;
  }
  const store = openStore(config);
  try {
    await store.migrate();
    const service = new ReportService({
      store: () => store, policies: () => policies, targets: { availability: config.reports.availabilityTarget, recoveryMs: config.reports.recoveryTarget },
      policiesDir: dir, calendarsDir: c.calendarsDir ?? join(dir, '../calendars'), chunk: config.reports.chunk, now: () => now,
    });
    let whatIf;
    if (o['what-if'] !== undefined) {
      try {
        whatIf = await service.whatIf(p.from, p.to, service.policiesOf({ policy: o['what-if'] }));
      } catch (err) {
        io.err(`--what-if: ${err instanceof PolicyError ? err.problems.join('; ') : (err as Error).message}`);
        return 2;
      }
    }
    const body = render(await service.report(p.from, p.to), format, whatIf).body;
    if (o.out) writeFileSync(o.out, body);
    else io.out(body);
    return 0;
  } catch (err) {
    io.err(`cannot read the store: ${(err as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}
