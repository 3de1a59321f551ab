import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../../src/store/store.ts';
import type { Policy } from '../compensation/policy.ts';
import type { AnnouncedWindow } from '../compensation/ledger.ts';
import { loadPolicy, parsePolicy } from '../compensation/policies.ts';
import { buildReport, type ServiceReport, type Targets } from './report.ts';
import { readFacts } from './repository.ts';
import { whatIf, type WhatIfResult } from './whatif.ts';
import { reportHtml } from './html.ts';
import { reportCsv } from './csv.ts';

export const FORMATS = ['json', 'csv', 'html'] as const;
export type Format = (typeof FORMATS)[number];

/** Another what-if is running: one at a time, so that the daemon's own work keeps its share. */
export class WhatIfBusy extends Error {}

/** Which policy a what-if applies: a shipped one by name, a draft (YAML or JSON text, or an object), or (neither) the set in force. */
export interface PolicyChoice { policy?: string; draft?: string | object }

export interface ReportServiceOptions {
  store: () => Store;
  /** The policies in force, in configured order. */
  policies: () => readonly Policy[];
  targets: Targets;
  /** Where shipped policies and calendars are (the config's, or the shipped ones). */
  policiesDir: string;
  calendarsDir: string;
  windows?: () => readonly AnnouncedWindow[];
  chunk?: number;
  now: () => number;
}

/**
 * Reports and what-ifs over the store: the report read and computed, rendered as JSON, CSV or
 * HTML; a what-if under a chosen policy, at most one at a time.
 */
export class ReportService {
  private readonly o: ReportServiceOptions;
  private running = false;

  constructor(o: ReportServiceOptions) {
    this.o = o;
  }

  async report(from: number, to: number): Promise<ServiceReport> {
    return buildReport(await readFacts(this.o.store().db, from, to, this.o.now()), this.o.targets);
  }

  /** The shipped (or configured directory's) policy names a what-if may take. */
  shipped(): string[] {
    return existsSync(this.o.policiesDir) ? readdirSync(this.o.policiesDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort() : [];
  }

  /** The policies a choice stands for; throws PolicyError (a draft's problems, each with its path) or Error (an unknown name). */
  policiesOf(c: PolicyChoice): Policy[] {
    if (c.draft !== undefined) return [parsePolicy(c.draft, 'draft', this.o.calendarsDir)];
    if (c.policy !== undefined) {
      const known = this.shipped();
      if (!known.includes(c.policy)) throw new Error(`no policy "${c.policy}" (there: ${known.join(', ')})`);
      return [loadPolicy(join(this.o.policiesDir, `${c.policy}.yaml`), this.o.calendarsDir)];
    }
    return [...this.o.policies()];
  }

  /** Settles the period's outages again under `policies`, writing nothing; one at a time (WhatIfBusy). */
  async whatIf(from: number, to: number, policies: readonly Policy[]): Promise<WhatIfResult> {
    if (this.running) throw new WhatIfBusy('a what-if is already running; try again when it is done');
    this.running = true;
    try {
      return await whatIf(this.o.store(), from, to, policies, { asOf: this.o.now(), ...(this.o.chunk && { chunk: this.o.chunk }), ...(this.o.windows && { windows: this.o.windows }) });
    } finally {
      this.running = false;
    }
  }
}

/** The report in a format: its content type and body. */
export function render(r: ServiceReport, format: Format, w?: WhatIfResult): { type: string; body: string } {
  if (format === 'csv') return { type: 'text/csv; charset=utf-8', body: reportCsv(r, w) };
  if (format === 'html') return { type: 'text/html; charset=utf-8', body: reportHtml(r, w) };
  return { type: 'application/json; charset=utf-8', body: JSON.stringify(w ? { ...r, whatIf: w } : r, null, 1) };
}
