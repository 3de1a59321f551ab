import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { injectedApi } from '../helpers/api.ts';
import { tempDir } from '../helpers/servers.ts';
import { netpulse } from '../helpers/process.ts';
import { Store } from '../../src/store/store.ts';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { loadPolicies, SHIPPED_POLICIES } from '../../correlators/compensation/policies.ts';
import { verifySignature } from '../../correlators/alerts/notifier.ts';
import { H, AS_OF, reportNetwork, writeHistory } from '../helpers/report-history.ts';

const [operator] = loadPolicies([{ policy: 'operator-default' }]);
const TOPOLOGY = `elements:\n${[...reportNetwork().elements.values()].map((e) => `  - { id: ${e.id}, kind: ${e.kind}, site: ${e.site}, region: ${e.region}, parents: [${e.parents.join(', ')}] }\n`).join('')}`;
const SECRET = 'a-report-webhook-secret-0123456789';

describe('service reports over the API', () => {
  let api: Awaited<ReturnType<typeof injectedApi>>;
  let hook: Server;
  const posted: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { posted.push({ headers: req.headers, body }); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/reports`;
    api = await injectedApi({
      topology: TOPOLOGY, clock: { t: AS_OF, now() { return this.t; } },
      callers: { manager: ['manager'], noc: ['noc'], complaints: ['complaints'], billing: ['compensation'] },
      config: { reports: { schedule: null, webhook: { name: 'regulator', url, secret: SECRET } } },
    });
    await writeHistory(api.daemon.store, [operator]);
  });
  afterAll(async () => {
    await api?.stop();
    await new Promise((r) => hook?.close(r));
  });

  it('answers a manager the report as JSON, CSV and HTML, and the what-if', async () => {
    const json = await api.call('manager', 'GET', '/v1/reports/service?month=2026-11');
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ period: { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' }, availability: { network: { downtimeMs: 512 * H } } });
    const csv = await api.call('manager', 'GET', '/v1/reports/service?from=2026-11-01&to=2026-12-01T00:00:00Z&format=csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body).toContain('compensation,currency,EUR,amount_minor,6369,O1 O2,,');
    const html = await api.call('noc', 'GET', '/v1/reports/service?month=2026-11&format=html&whatIf=nl-telecommunicatiewet');
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('<svg');
    expect(html.body).toContain('Policy what-if: nl-telecommunicatiewet@2024-01');

    const same = await api.call('manager', 'POST', '/v1/reports/what-if', { month: '2026-11' });
    expect(same).toMatchObject({ status: 200, body: { policies: ['operator-default@2026-01'], difference: { more: 0, less: 0, same: 9 } } });
    const draft = await api.call('billing', 'POST', '/v1/reports/what-if', { month: '2026-11', draft: readFileSync(join(SHIPPED_POLICIES, 'operator-default.yaml'), 'utf8') });
    expect(draft.status).toBe(200);
    expect(draft.body.whatIf).toEqual(same.body.issued);
    expect(draft.body.issued.byCurrency).toEqual([{ currency: 'EUR', amountMinor: 6369, eligible: 7 }]);
  });

  it('lets a manager read reports and nothing else, and refuses bad input naming what is wrong', async () => {
    const refused = async (who: string, method: 'GET' | 'POST', url: string, body?: unknown) => {
      const r = await api.call(who, method, url, body);
      return { status: r.status, code: r.body?.error?.code, field: r.body?.error?.field, message: r.body?.error?.message };
    };
    expect((await refused('manager', 'GET', '/v1/credits')).status).toBe(403);
    expect((await refused('manager', 'POST', '/v1/maintenance', { id: 'x', elements: ['BS-1'], start: '2026-12-02T00:00:00Z', end: '2026-12-02T01:00:00Z' })).status).toBe(403);
    expect((await refused('complaints', 'GET', '/v1/reports/service')).status).toBe(403);
    expect((await refused('noc', 'POST', '/v1/reports/what-if', {})).status).toBe(403);

    expect(await refused('manager', 'GET', '/v1/reports/service?from=2026-12-01&to=2026-11-01')).toMatchObject({ status: 400, field: 'to', message: expect.stringContaining('before or when it begins') });
    expect(await refused('manager', 'GET', '/v1/reports/service?month=2026-13')).toMatchObject({ status: 400, field: 'month' });
    expect(await refused('manager', 'GET', '/v1/reports/service?from=2020-01-01&to=2026-01-01')).toMatchObject({ status: 400, field: 'to', message: expect.stringContaining('at most 400 days') });
    expect(await refused('manager', 'GET', '/v1/reports/service?from=yesterday')).toMatchObject({ status: 400, field: 'from' });
    expect(await refused('manager', 'GET', '/v1/reports/service?format=pdf')).toMatchObject({ status: 400, field: 'format' });
    expect(await refused('manager', 'GET', '/v1/reports/service?month=2026-11&from=2026-11-01')).toMatchObject({ status: 400, field: 'month' });
    expect(await refused('manager', 'POST', '/v1/reports/what-if', { policy: 'nope' })).toMatchObject({ status: 400, field: 'policy', message: expect.stringContaining('no policy "nope"') });
    expect(await refused('manager', 'POST', '/v1/reports/what-if', { policy: '../secrets' })).toMatchObject({ status: 400, field: 'policy' });
    expect(await refused('manager', 'POST', '/v1/reports/what-if', { policy: 'ofcom-uk', draft: 'id: x' })).toMatchObject({ status: 400, field: 'draft' });
    const bad = await refused('manager', 'POST', '/v1/reports/what-if', { draft: { id: 'Draft!', version: '1', title: 't', currency: 'EUR', timezone: 'UTC', rules: [] } });
    expect(bad).toMatchObject({ status: 400, code: 'bad_policy', field: 'draft' });
    expect(bad.message).toContain('draft: id: lower-case letters, digits and -');
    expect(bad.message).toContain('draft: rules:');
    expect(await refused('manager', 'POST', '/v1/reports/what-if', { draft: 'id: [unclosed' })).toMatchObject({ status: 400, code: 'bad_policy', field: 'draft' });
    expect(await refused('manager', 'POST', '/v1/reports/what-if', { draft: { calendar: '../../etc/passwd' } })).toMatchObject({ status: 400, code: 'bad_policy' });
    expect(await refused('manager', 'POST', '/v1/reports/what-if', { month: '2026-11', extra: 1 })).toMatchObject({ status: 400, field: 'extra' });
    expect((await refused('manager', 'POST', '/v1/reports/what-if', { draft: 'x'.repeat(200_000) })).status).toBe(413);
  });

  it('writes last month\'s report to the data directory and posts it, signed, to the webhook', async () => {
    const r = await api.daemon.reports.runMonthly();
    expect(r.posted).toBe(true);
    expect(r.files.map((f) => f.split('/').pop())).toEqual(['service-report-2026-11.json', 'service-report-2026-11.csv', 'service-report-2026-11.html']);
    expect(JSON.parse(readFileSync(r.files[0], 'utf8')).compensation.byCurrency[0].amountMinor).toBe(6369);
    expect(readFileSync(r.files[2], 'utf8')).toContain('<svg');
    expect(posted).toHaveLength(1);
    expect(posted[0].headers['idempotency-key']).toBe('service-report:2026-11');
    expect(verifySignature(posted[0].headers['x-netpulse-signature'] as string, posted[0].body, SECRET, Date.now())).toMatchObject({ ok: true });
    expect(JSON.parse(posted[0].body)).toMatchObject({ type: 'serviceReport', month: '2026-11', report: { outages: { total: { outages: 2 } } } });
  });
});

describe('netpulse report', () => {
  it('prints the report from the store in each format, and names a bad argument', async () => {
    const dir = tempDir('cli-report');
    const data = join(dir, 'data');
    const cfg = join(dir, 'netpulse.yaml');
    writeFileSync(join(dir, 'topology.yaml'), TOPOLOGY);
    writeFileSync(cfg, `daemon: { dataDir: ${data} }\napi: null\ntopology: { file: ${join(dir, 'topology.yaml')} }\n`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data, { recursive: true });
    const store = new Store(new SqliteDb(join(data, 'netpulse.db')));
    await store.migrate();
    await writeHistory(store, [operator]);
    await store.close();

    const csv = netpulse('report', '--config', cfg, '--from', '2026-11-01', '--to', '2026-12-01', '--format', 'csv');
    expect(await csv.exited()).toBe(0);
    expect(csv.output()).toContain('outages,all,all,mttr_hours,45,O1 O2 O3,,');
    const out = join(dir, 'november.html');
    const html = netpulse('report', '--config', cfg, '--month', '2026-11', '--format', 'html', '--out', out);
    expect(await html.exited()).toBe(0);
    expect(existsSync(out) && readFileSync(out, 'utf8')).toContain('id="chart-availability"');
    const json = netpulse('report', '--config', cfg, '--month', '2026-11', '--what-if', 'nl-telecommunicatiewet');
    expect(await json.exited()).toBe(0);
    expect(JSON.parse(json.output()).whatIf.whatIf.byCurrency).toEqual([{ currency: 'EUR', amountMinor: 860, eligible: 3 }]);

    for (const [args, message] of [
      [['--from', '2026-12-01', '--to', '2026-11-01'], '--to: the period ends'],
      [['--format', 'pdf'], '--format: expected one of json, csv, html, not "pdf"'],
      [['--from', 'soon'], '--from: not a time: "soon"'],
      [['--from', '2000-01-01', '--to', '2026-01-01'], 'at most 400 days'],
    ] as const) {
      const p = netpulse('report', '--config', cfg, ...args);
      expect(await p.exited(), args.join(' ')).toBe(2);
      expect(p.output()).toContain(message);
    }
  }, 60_000);
});
