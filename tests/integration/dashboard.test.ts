import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, copyFileSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/servers.ts';
import { DEMO } from '../../src/config/load.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';

const TOKEN = 'noc-dashboard-test-token';
const ARTIFACTS = join(import.meta.dirname, '../../.test-artifacts');
const SHIPPED = join(import.meta.dirname, '../../config');

/**
 * The demo policy with no service paid after 5 s instead of 20 s: shorter than the alert hold-down
 * (10 s), so an outage still open when its alert shows is owed something once it ends.
 */
function quickDemoPolicy(): string {
  const dir = tempDir('dashboard-policies');
  const demo = readFileSync(join(SHIPPED, 'policies/demo.yaml'), 'utf8');
  const quick = demo.replace('No service for more than 20 seconds', 'No service for more than 5 seconds').replace('longerThan: 20s', 'longerThan: 5s').replace('after: 20s', 'after: 5s');
  if (quick.match(/\b5s\b/g)?.length !== 2) throw new Error('config/policies/demo.yaml changed: update quickDemoPolicy');
  writeFileSync(join(dir, 'demo.yaml'), quick);
  return dir;
}

/**
 * The NOC dashboard in a real browser (headless Chromium through playwright-core) against a running
 * demo: the embedded defaults' simulated operator and its 100,000 subscribers, with the storyline
 * off so the test decides what breaks. It injects an outage by cutting the power of a switch, waits
 * for the outage, its subscribers and its alert to appear live, acknowledges the alert, opens an
 * element's charts, sees the repair and the credits, and saves a screenshot as a test artefact.
 */
describe('the NOC dashboard in a browser', () => {
  let browser: Browser;
  let daemon: Daemon;
  let base: string;

  beforeAll(async () => {
    ({ daemon } = testDaemon({
      ...DEMO,
      daemon: { logFormat: 'json' },
      api: { port: 0, tokens: [{ name: 'noc-on-shift', hash: hashToken(TOKEN), roles: ['noc'] }] },
      sim: { ...DEMO.sim, interval: '1s', mqtt: { embedded: { port: 0 }, interval: '1s' }, story: { enabled: false }, dashboardToken: false },
      outages: { confirmRecovery: '3s' },
      // The shipped hold-down: a station that times out a moment before its switch is never paged.
      alerts: { holdDown: '10s' },
      compensation: { ...DEMO.compensation, settle: '1s', policiesDir: quickDemoPolicy(), calendarsDir: join(SHIPPED, 'calendars') },
    }));
    await daemon.start();
    base = `http://127.0.0.1:${daemon.apiPort}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
  }, 30_000);

  it('asks for a token, and says so when one is refused', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`); // redirects to /ui/
    await expect.poll(() => page.isVisible('#login'), { timeout: 10_000 }).toBe(true);
    await page.fill('#token', 'not-a-token');
    await page.click('#login button');
    await expect.poll(() => page.textContent('#login-error'), { timeout: 10_000 }).toContain('refused');
    expect(await page.isVisible('#board')).toBe(false);
    await page.close();
  });

  it('shows an injected outage live, takes an acknowledgement, draws charts and ends in credits', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/ui/#token=${TOKEN}`);
    // The board, the live stream, and the health of the simulated network coming in.
    await expect.poll(() => page.textContent('#live'), { timeout: 15_000 }).toBe('live');
    expect(page.url()).not.toContain(TOKEN); // taken out of the address bar
    await expect.poll(() => page.locator('.el.up').count(), { timeout: 30_000 }).toBeGreaterThan(150);
    expect(await page.locator('.el').count()).toBe(daemon.sim!.elements().length);
    expect(await page.textContent('#outages')).toContain('No active outage');

    // SIM-SW-002 loses power: it and everything behind it go dark (as the storyline does it).
    const sw = 'SIM-SW-002';
    const behind = daemon.sim!.elements().filter((e) => e.parents.includes(sw)).map((e) => e.id);
    const dark = [sw, ...behind].map((n) => daemon.sim!.device(n)).filter((d) => d !== undefined);
    expect(dark.length).toBe(14); // the switch, 12 base stations, 1 OLT
    await Promise.all(dark.map((d) => d.stop()));

    // One outage card, rooted at the switch, with its subscribers by tier: no reload, the stream told the page.
    const card = page.locator(`article.outage[data-outage^="${sw}@"]`);
    await card.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('article.outage').evaluateAll((els) => els.map((e) => e.getAttribute('data-outage')!.split('@')[0]))).toEqual([sw]);
    await expect.poll(async () => Number((await card.locator('.figures b').first().textContent())!.replace(/,/g, '')), { timeout: 15_000 }).toBeGreaterThan(20_000);
    // Inferred from its stations' last wills first (they come at once), then confirmed by its own polls.
    await expect.poll(() => card.textContent(), { timeout: 15_000 }).toContain('root cause: snmp: Request timed out');
    expect(await card.locator('.tiers i').count()).toBe(4);
    await expect.poll(() => page.locator('.el.down').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(14);

    // Its alert arrives on the feed; the NOC engineer acknowledges it.
    const alert = page.locator('#alerts li[data-alert*="#opened@"]', { hasText: `aggregation ${sw} is down` });
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.textContent()).toContain('12 base stations, 1 OLT, 16 access ports behind it');
    // One alert for the switch; none for the base stations behind it, even one seen down first.
    expect(await page.locator('#alerts li').evaluateAll((els) => els.map((e) => e.textContent).filter((t) => /base station SIM-BS-\d+ is down/.test(t ?? '')))).toEqual([]);
    await alert.locator('button.ack').click();
    await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toContain('acked by noc-on-shift');
    const res = await fetch(`${base}/v1/alerts?outage=${encodeURIComponent((await card.getAttribute('data-outage'))!)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const stored = (await res.json()).items.find((a: any) => a.event === 'opened');
    expect(stored).toMatchObject({ ackState: 'acknowledged', ackBy: 'noc-on-shift' });

    // Charts of a healthy cell elsewhere: RSRP and SINR, drawn from the daemon's recent measurements.
    await page.click('.el[data-element="SIM-BS-0001-C1"]');
    await expect.poll(() => page.locator('.chart polyline').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#charts')).toContain('RSRP (dBm)');
    expect(await page.textContent('#chart-element')).toContain('SIM-BS-0001-C1 · cell');
    // And a base station's backhaul latency and loss.
    await page.click('.el[data-element="SIM-BS-0001"]');
    await expect.poll(() => page.textContent('#charts'), { timeout: 15_000 }).toContain('Latency (backhaul) (ms)');
    expect(await page.textContent('#charts')).toContain('Packet loss (%)');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.click('.el[data-element="SIM-BS-0001-C1"]');
    await expect.poll(() => page.locator('.chart polyline').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(statSync(join(ARTIFACTS, 'dashboard.png')).size).toBeGreaterThan(50_000);
    // `NETPULSE_DOCS_SCREENSHOT=1 npm test -- dashboard` refreshes the README's picture from this very page.
    if (process.env.NETPULSE_DOCS_SCREENSHOT) copyFileSync(join(ARTIFACTS, 'dashboard.png'), join(import.meta.dirname, '../../docs/dashboard.png'));

    // Power back (its alert came after the 10 s hold-down, so it has lasted more than the policy's
    // 5 s and is owed something): the outage closes, leaves the active list for "recently closed",
    // and its credits show.
    await Promise.all(dark.map((d) => d.start()));
    await expect.poll(() => page.textContent('#outages'), { timeout: 60_000 }).toContain('No active outage');
    await expect.poll(() => page.textContent('#closed'), { timeout: 15_000 }).toContain(sw);
    await expect.poll(() => page.textContent('#kpi-credits b'), { timeout: 30_000 }).toMatch(/^[\d,]+\.\d\d EUR$/);
    expect(await page.textContent('#credits')).toContain('standard');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-after-repair.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
