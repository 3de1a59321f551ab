import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import type { Kernel } from '../../src/module.ts';
import { module } from '../../src/module.ts';
import type { Policy } from '../compensation/policy.ts';
import { SHIPPED_POLICIES } from '../compensation/policies.ts';
import { WebhookNotifier } from '../alerts/notifier.ts';
import { ReportService, render } from './service.ts';
import { reportRoutes } from './routes.ts';
import { lastMonth } from './period.ts';

/** Writes a file whole or not at all (a temporary name, then a rename). */
function writeWhole(file: string, body: string): void {
  writeFileSync(`${file}.tmp`, body);
  renameSync(`${file}.tmp`, file);
}

/**
 * Service reports: the routes (on every instance: reading the store), and on the leader the
 * monthly run (`reports.schedule`, node-cron), which writes last month's report as JSON, CSV and
 * HTML to `<dataDir>/reports/` and posts the JSON to `reports.webhook`.
 */
export function reportsModule(k: Kernel, policies: () => readonly Policy[]) {
  const { config, log } = k;
  const r = config.reports;
  const c = config.compensation;
  const dir = c.policiesDir ?? SHIPPED_POLICIES;
  const service = new ReportService({
    store: () => k.store(), policies, targets: { availability: r.availabilityTarget, recoveryMs: r.recoveryTarget },
    policiesDir: dir, calendarsDir: c.calendarsDir ?? join(dir, '../calendars'), chunk: r.chunk, now: () => k.clock.now(),
    windows: () => config.outages.maintenance.map((w) => ({ elements: w.elements, sites: w.sites, start: Date.parse(w.start), end: Date.parse(w.end), announced: w.announced ? Date.parse(w.announced) : undefined })),
  });
  const webhook = r.webhook ? new WebhookNotifier(r.webhook.name, { url: r.webhook.url, secret: r.webhook.secret, timeoutMs: r.webhook.timeout, idHeader: 'idempotency-key' }) : undefined;
  let task: ScheduledTask | undefined;

  /** Last month's report (as of `now`): the files written, and whether the webhook took it. */
  const runMonthly = async (): Promise<{ files: string[]; posted: boolean }> => {
    const p = lastMonth(k.clock.now());
    const report = await service.report(p.from, p.to);
    const out = join(k.dataDir, 'reports');
    mkdirSync(out, { recursive: true });
    const files = (['json', 'csv', 'html'] as const).map((f) => {
      const file = join(out, `service-report-${p.month}.${f}`);
      writeWhole(file, render(report, f).body);
      return file;
    });
    let posted = false;
    if (webhook) {
      try {
        await webhook.send({ id: `service-report:${p.month}`, type: 'serviceReport', month: p.month, report } as never);
        posted = true;
      } catch (err) {
        log.warn({ month: p.month, reason: (err as Error).message }, 'monthly report not posted');
      }
    }
    log.info({ month: p.month, files: files.length, posted }, 'monthly service report written');
    return { files, posted };
  };

  const m = module('reports', 'leader', async () => {
    if (!r.schedule) return;
    task = cron.schedule(r.schedule, () => runMonthly().then(() => undefined, (err) => log.error({ err }, 'monthly report failed')), { name: 'service-report', noOverlap: true });
  }, async () => {
    await task?.stop();
    await task?.destroy();
  }, {
    routes: (ctx) => reportRoutes(ctx, { service, maxPeriod: r.maxPeriod }),
  });
  return { module: m, service, runMonthly };
}
