import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/servers.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';
import { loadPolicies, SHIPPED_POLICIES } from '../../correlators/compensation/policies.ts';
import { render, ReportService } from '../../correlators/reports/service.ts';
import { DEFAULT_TARGETS } from '../../correlators/reports/report.ts';
import { AS_OF, NOVEMBER, reportNetwork, writeHistory } from '../helpers/report-history.ts';

const TOKEN = 'manager-report-test-token';
const ARTIFACTS = join(import.meta.dirname, '../../.test-artifacts');
const DOCS = join(import.meta.dirname, '../../docs');
const [operator] = loadPolicies([{ policy: 'operator-default' }]);

/**
 * The service report in a real browser (headless Chromium through playwright-core): the page the
 * dashboard links to, reading a running daemon's API with a manager's token over a scripted
 * month; its charts drawn, a what-if added, printed to PDF, and a screenshot kept for the README.
 */
describe('the service report in a browser', () => {
  let browser: Browser;
  let daemon: Daemon;
  let base: string;

  beforeAll(async () => {
    const dir = tempDir('report-browser');
    writeFileSync(join(dir, 'topology.yaml'), `elements:\n${[...reportNetwork().elements.values()].map((e) => `  - { id: ${e.id}, kind: ${e.kind}, site: ${e.site}, region: ${e.region}, parents: [${e.parents.join(', ')}] }\n`).join('')}`);
    ({ daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') }, daemon: { logFormat: 'json' },
      api: { port: 0, tokens: [{ name: 'manager', hash: hashToken(TOKEN), roles: ['manager'] }] }, reports: { schedule: null },
    }));
    await daemon.start();
    await writeHistory(daemon.store, [operator]);
    base = `http://127.0.0.1:${daemon.apiPort}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  }, 30_000);

  it('is linked from the dashboard, renders with its charts, adds a what-if, and prints to PDF', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1500 } });
    await page.goto(`${base}/ui/`);
    expect(await page.getAttribute('#report-link', 'href')).toBe('/ui/report.html');

    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`); });
    await page.goto(`${base}/ui/report.html?month=2026-11#token=${TOKEN}`);
    await page.waitForSelector('body[data-loaded="2026-11"]');
    expect(await page.textContent('h1')).toBe('Service report');
    for (const id of ['chart-availability', 'chart-recovery', 'chart-minutes', 'chart-complaints', 'chart-compensation']) {
      expect(await page.locator(`svg#${id} rect.bar`).count(), id).toBeGreaterThan(0);
    }
    // The charts are laid out (drawn, not only present), and the availability target line is there.
    const box = await page.locator('svg#chart-availability').boundingBox();
    expect(box!.width).toBeGreaterThan(500);
    expect(await page.locator('svg#chart-availability line.target').count()).toBe(1);
    // The report's styles apply (the page's CSP allows only its own stylesheet).
    expect(await page.locator('table').first().evaluate((t) => getComputedStyle(t).borderCollapse)).toBe('collapse');

    await page.selectOption('#whatif', 'nl-telecommunicatiewet');
    await page.click('button[type=submit]');
    await page.waitForSelector('svg#chart-whatif rect.bar');
    expect(await page.textContent('#report')).toContain('Policy what-if: nl-telecommunicatiewet@2024-01');

    // A test artefact; NETPULSE_DOCS_SCREENSHOT=1 also refreshes the README's (as the dashboard test does).
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'service-report.png'), clip: { x: 0, y: 0, width: 1100, height: 1500 } });
    expect(statSync(join(ARTIFACTS, 'service-report.png')).size).toBeGreaterThan(50_000);
    if (process.env.NETPULSE_DOCS_SCREENSHOT) copyFileSync(join(ARTIFACTS, 'service-report.png'), join(DOCS, 'service-report.png'));
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(20_000);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('stands alone as a file: the monthly run\'s HTML renders its charts with nothing else served', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const service = new ReportService({
      store: () => daemon.store, policies: () => [operator], targets: DEFAULT_TARGETS, policiesDir: SHIPPED_POLICIES, calendarsDir: join(SHIPPED_POLICIES, '../calendars'), now: () => AS_OF,
    });
    const { body } = render(await service.report(NOVEMBER.from, NOVEMBER.to), 'html');
    await page.setContent(body);
    expect(await page.locator('svg.chart').count()).toBe(5);
    expect(await page.locator('table').first().evaluate((t) => getComputedStyle(t).borderCollapse)).toBe('collapse');
    expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
    expect((await page.pdf()).subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  }, 30_000);
});
