import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { mkdirSync, copyFileSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/servers.ts';
import { DEMO } from '../../src/config/load.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';

const TOKEN = 'noc-dashboard-test-token';
const ARTIFACTS = join(import.meta.dirname, '../../.test-artifacts');
const DOCS = join(import.meta.dirname, '../../docs');
const SHIPPED = join(import.meta.dirname, '../../config');
/** The generated fleet: 12,400 sites of a base station and 3 cells, with the demo's 265 elements: 50,113. */
const FLEET_SITES = 12_400;

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

/** Figures measured on the way, reported at the end (and kept in .test-artifacts/dashboard-figures.json); never asserted. */
const figures: Record<string, number> = {};

/**
 * The NOC dashboard in a real browser (headless Chromium through playwright-core) against a running
 * demo scaled to an operator's size: the simulated operator's devices plus a generated fleet, 50,113
 * elements placed on a map of Italy, 100,000 subscribers, the storyline off so the test decides what
 * breaks. It checks the page draws them by place without loading every element, drills down to an
 * element and back through the address bar, finds a subscriber, puts a fleet hub and a simulated
 * switch down and sees each outage and its footprint live (time from the event measured), takes an
 * acknowledgement, sees the repair and the credits, and shows the wall screen. Screenshots go to
 * .test-artifacts (and docs/ with NETPULSE_DOCS_SCREENSHOT=1).
 */
describe('the NOC dashboard in a browser, at 50,000 elements', () => {
  let browser: Browser;
  let daemon: Daemon;
  let base: string;
  /** When this process heard each outage's `opened` event on /v1/events (epoch ms). */
  const heard = new Map<string, number>();
  let stream: AbortController;

  beforeAll(async () => {
    ({ daemon } = testDaemon({
      ...DEMO,
      daemon: { logFormat: 'json' },
      api: { port: 0, tokens: [{ name: 'noc-on-shift', hash: hashToken(TOKEN), roles: ['noc'] }] },
      sim: { ...DEMO.sim, interval: '1s', mqtt: { embedded: { port: 0 }, interval: '1s' }, story: { enabled: false }, dashboardToken: false, fleet: { sites: FLEET_SITES, interval: '30s' } },
      outages: { confirmRecovery: '3s' },
      // Traps received too: an element's view lists the last ones it sent.
      traps: { enabled: true, address: '127.0.0.1', port: 0, communities: ['public'] },
      // The shipped hold-down: a station that times out a moment before its switch is never paged.
      alerts: { holdDown: '10s' },
      compensation: { ...DEMO.compensation, settle: '1s', policiesDir: quickDemoPolicy(), calendarsDir: join(SHIPPED, 'calendars') },
    }));
    await daemon.start();
    base = `http://127.0.0.1:${daemon.apiPort}`;
    mkdirSync(ARTIFACTS, { recursive: true });
    // A running network, as the NOC finds it: the fleet's first reports (50,000 elements coming up at once) are in.
    await vi.waitFor(async () => expect((await apiTotals()).unknown).toBeLessThan(500), { timeout: 90_000, interval: 1000 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    stream = new AbortController();
    // Followed like the page does: a client that falls 1 MiB behind (the fleet's first reports are
    // 50,000 health events at once) is dropped by the daemon, and connects again.
    void (async () => {
      while (!stream.signal.aborted) {
        try {
          const res = await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: stream.signal });
          const dec = new TextDecoder();
          let buf = '';
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            buf += dec.decode(chunk, { stream: true });
            for (let end; (end = buf.indexOf('\n\n')) >= 0; buf = buf.slice(end + 2)) {
              const frame = buf.slice(0, end);
              if (!frame.includes('event: outage')) continue;
              const data = JSON.parse(frame.split('\n').find((l) => l.startsWith('data:'))!.slice(5));
              if (data.event === 'opened' && !heard.has(data.outage)) heard.set(data.outage, Date.now());
            }
          }
        } catch { /* dropped or aborted: again, unless aborted */ }
        // Connects again once the daemon answers (a condition, not a fixed wait).
        if (!stream.signal.aborted) await fetch(`${base}/readyz`, { signal: stream.signal }).catch(() => undefined);
      }
    })();
  }, 180_000);

  afterAll(async () => {
    stream?.abort();
    await browser?.close();
    await daemon?.stop();
    console.log(`dashboard figures at ${daemon?.sim?.elements().length} elements: ${JSON.stringify(figures)}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'dashboard-figures.json'), JSON.stringify(figures, null, 2));
  }, 30_000);

  /** The daemon's element counts by state, from its summaries. */
  const apiTotals = async () => {
    const { items } = await (await fetch(`${base}/v1/places/regions`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    return Object.fromEntries(['up', 'degraded', 'down', 'unknown'].map((st) => [st, items.reduce((n: number, r: any) => n + r.counts[st], 0)]));
  };

  const warnings = new WeakMap<Page, string[]>();

  /** A page on the dashboard with the token, collecting JS errors and the API paths it asked for. */
  async function open(path = '/ui/') {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    const errors: string[] = [];
    const asked: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    warnings.set(page, []);
    page.on('console', (m) => { if (m.type() === 'warning' || m.type() === 'error') warnings.get(page)!.push(m.text()); });
    page.on('request', (r) => asked.push(new URL(r.url()).pathname + new URL(r.url()).search));
    await page.goto(`${base}${path}#token=${TOKEN}`);
    await page.waitForFunction(() => (window as any).netpulse?.firstRender !== null, null, { timeout: 30_000 });
    return { page, errors, asked };
  }

  /** How long after its event the outage rooted at `root` was first shown on the page. */
  async function timeToScreen(page: Page, root: string): Promise<number> {
    await expect.poll(() => [...heard.keys()].find((k) => k.startsWith(`${root}@`)), { timeout: 30_000 }).toBeDefined();
    const id = [...heard.keys()].find((k) => k.startsWith(`${root}@`))!;
    await page.waitForFunction((id) => (window as any).netpulse.shown.has(id), id, { timeout: 30_000 }).catch(async (err) => {
      // What the page knew: its stream, the events it had, the outages it shows, what it warned of.
      const api = await (await fetch(`${base}/v1/outages?state=active`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      console.log('API', JSON.stringify(api.items.map((o: any) => o.id)), 'in memory', daemon.outages.outages.outages.map((o) => o.id));
      console.log('PAGE', id, await page.textContent('#live'), await page.evaluate(() => (window as any).netpulse.events), await page.textContent('#outages'), warnings.get(page));
      throw err;
    });
    return (await page.evaluate((id) => (window as any).netpulse.shown.get(id), id)) - heard.get(id)!;
  }

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

  it('draws 50,000 elements by place, worst first, without loading them one by one', async () => {
    const t0 = Date.now();
    const { page, errors, asked } = await open();
    figures.firstRenderMs = Math.round(await page.evaluate(() => (window as any).netpulse.firstRender));
    figures.firstRenderWallMs = Date.now() - t0;
    expect(page.url()).not.toContain(TOKEN); // taken out of the address bar
    await expect.poll(() => page.textContent('#live'), { timeout: 15_000 }).toBe('live');
    expect(await page.locator('#places tr.place').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.place).sort())).toEqual(['region:east', 'region:north', 'region:south', 'region:west']);
    expect(await page.textContent('#places-note')).toMatch(/4 regions, 12,\d{3} sites/);
    // The map is drawn (the canvas stamps each paint), with the country's outline fetched from the daemon.
    expect(await page.getAttribute('#map', 'data-drawn')).not.toBeNull();
    expect(asked).toContain('/v1/places/outline');
    // The counts the page keeps from the health events are the daemon's.
    await expect.poll(async () => JSON.stringify(await page.evaluate(() => (window as any).netpulse.totals)) === JSON.stringify(await apiTotals()), { timeout: 15_000 }).toBe(true);
    // Summaries only: never the element listing (50 pages of 1,000).
    expect(asked.filter((p) => p.startsWith('/v1/elements?'))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('drills down from region to site to element and back, the address bar keeping the view', async () => {
    const { page, errors } = await open();
    await page.click('#places tr[data-place="region:east"]');
    await expect.poll(() => page.url()).toContain('region=east');
    await page.click('#places tr[data-place="site:SIM-BS-0002-site"]');
    await expect.poll(() => page.locator('#places tr.element').count(), { timeout: 10_000 }).toBe(4);
    // The cell sends a trap (a linkDown of a port that is not its uplink: recorded, no health meaning).
    const traps = daemon.collectors.find((c) => c.name === 'traps') as unknown as { address: { port: number }; stats: { accepted: number } };
    await new Promise<void>((resolve, reject) => execFile('snmptrap', ['-Ln', '-v2c', '-c', 'public', `127.0.0.1:${traps.address.port}`, '', '1.3.6.1.6.3.1.1.5.3',
      '1.3.6.1.2.1.2.2.1.1.9', 'i', '9', '1.3.6.1.2.1.1.5.0', 's', 'SIM-BS-0002-C1'], { env: { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: tempDir('snmpapp') } }, (err) => (err ? reject(err) : resolve())));
    await expect.poll(() => traps.stats.accepted, { timeout: 10_000 }).toBe(1);
    await page.click('#places tr[data-element="SIM-BS-0002-C1"]');
    await expect.poll(() => page.locator('#element-panel .chart polyline').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.textContent('#charts')).toContain('RSRP (dBm)');
    expect(await page.textContent('#chart-element')).toContain('SIM-BS-0002-C1 · cell');
    await expect.poll(() => page.textContent('#traps tr.trap'), { timeout: 10_000 }).toContain('linkDown');
    const link = page.url();
    expect(new URL(link).search).toBe('?region=east&site=SIM-BS-0002-site&element=SIM-BS-0002-C1');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-drilldown.png'), fullPage: true });
    expect(statSync(join(ARTIFACTS, 'dashboard-drilldown.png')).size).toBeGreaterThan(50_000);
    if (process.env.NETPULSE_DOCS_SCREENSHOT) copyFileSync(join(ARTIFACTS, 'dashboard-drilldown.png'), join(DOCS, 'dashboard-drilldown.png'));

    // The link, shared: another page opens the same view.
    const other = await open(new URL(link).pathname + new URL(link).search);
    await expect.poll(() => other.page.textContent('#crumbs')).toBe('All regions › east › SIM-BS-0002-site › SIM-BS-0002-C1');
    await expect.poll(() => other.page.textContent('#chart-element'), { timeout: 15_000 }).toContain('SIM-BS-0002-C1');
    await other.page.close();
    // Back: the site without the element.
    await page.goBack();
    await expect.poll(() => page.isVisible('#element-panel')).toBe(false);
    await expect.poll(() => page.textContent('#crumbs')).toBe('All regions › east › SIM-BS-0002-site');
    // The map selects with the list: a click on a site drawn in the region opens it.
    await page.click('#crumbs a >> text=east');
    await expect.poll(() => page.locator('#places tr.place').count()).toBeGreaterThanOrEqual(100);
    const at = await page.evaluate(() => (window as any).netpulse.screenOf('SIM-BS-0006-site'));
    expect(at).not.toBeNull();
    await page.locator('#map').click({ position: at });
    await expect.poll(() => new URL(page.url()).searchParams.get('site')).toBe('SIM-BS-0006-site');
    await expect.poll(() => page.locator('#places tr.element').count()).toBe(4);
    // An OLT's PON ports are elements that report their own health (their ifTable rows, through ifAlias).
    // (found by the search: among the region's 3,000 sites, the list shows the worst hundred)
    await page.fill('#search', 'SIM-OLT-02-s');
    await page.click('#results li.hit >> text=site SIM-OLT-02-site');
    await expect.poll(() => new URL(page.url()).searchParams.get('site')).toBe('SIM-OLT-02-site');
    await expect.poll(() => page.locator('#places tr.element.access.up').count(), { timeout: 20_000 }).toBe(16);
    // A filter is part of the view too: only aggregation switches, counted by region.
    await page.click('#crumbs a >> text=All regions');
    await page.selectOption('#f-kind', 'aggregation');
    await expect.poll(() => page.url()).toContain('kind=aggregation');
    await expect.poll(async () => (await page.textContent('#places tr[data-place="region:east"]')) ?? '').toMatch(/^east\s*\d+ sites/);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('finds a subscriber and opens what serves them; hostile search text is only text', async () => {
    const { page, errors } = await open();
    await page.fill('#search', 'SIM-000777');
    await expect.poll(() => new URL(page.url()).searchParams.get('element'), { timeout: 10_000 }).toMatch(/^SIM-/);
    expect(await page.textContent('#results')).toContain('subscriber SIM-000777');
    await page.fill('#search', '<img src=x onerror=alert(1)>');
    await expect.poll(() => page.textContent('#results'), { timeout: 10_000 }).toContain('nothing found');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a fleet hub going down within moments of its event, its footprint on the map', async () => {
    const { page, errors } = await open();
    await expect.poll(() => page.textContent('#live'), { timeout: 15_000 }).toBe('live');
    const hub = 'SIM-AGG-0005';
    const dark = daemon.sim!.fleet.fail(hub);
    expect(dark.length).toBe(1 + 50 * 4);
    figures.fleetOutageToScreenMs = await timeToScreen(page, hub);
    const card = page.locator(`article.outage[data-outage^="${hub}@"]`);
    await expect.poll(async () => Number((await card.locator('.figures b').first().textContent())!.replace(/,/g, '')), { timeout: 20_000 }).toBeGreaterThan(100);
    // Its region comes first, with the subscribers it hits now.
    const region = daemon.sim!.elements().find((e) => e.id === hub)!.region!;
    await expect.poll(() => page.locator('#places tr.place').first().getAttribute('data-place'), { timeout: 15_000 }).toBe(`region:${region}`);
    await expect.poll(async () => (await page.locator('#places tr.place').first().textContent()) ?? '', { timeout: 15_000 }).toMatch(/subs hit/);

    // The map during the outage, its footprint drawn and labelled, for the README.
    const shownAt = await page.evaluate((prefix) => [...(window as any).netpulse.shown].find(([id]) => id.startsWith(prefix))[1], `${hub}@`);
    await expect.poll(async () => Number(await page.getAttribute('#map', 'data-drawn')), { timeout: 10_000 }).toBeGreaterThanOrEqual(shownAt);
    await page.locator('#map-panel').screenshot({ path: join(ARTIFACTS, 'dashboard-map.png') });
    expect(statSync(join(ARTIFACTS, 'dashboard-map.png')).size).toBeGreaterThan(30_000);
    if (process.env.NETPULSE_DOCS_SCREENSHOT) copyFileSync(join(ARTIFACTS, 'dashboard-map.png'), join(DOCS, 'dashboard-map.png'));
    // Selecting its region zooms the map onto it.
    await page.click(`#places tr[data-place="region:${region}"]`);
    await expect.poll(() => page.locator('#places tr.place').first().getAttribute('data-place'), { timeout: 10_000 }).toMatch(/^site:SIM-(AGG-0005|FS-\d+)-site$/);
    await page.locator('#map-panel').screenshot({ path: join(ARTIFACTS, 'dashboard-map-region.png') });

    // Back up: the outage clears (a sibling down would hold the next switch's alert, awaiting their parent).
    daemon.sim!.fleet.restore(hub);
    await expect.poll(() => card.getAttribute('class'), { timeout: 20_000 }).toContain('cleared');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows an injected outage live, takes an acknowledgement, draws its footprint and ends in credits', async () => {
    const { page, errors } = await open();
    await expect.poll(() => page.textContent('#live'), { timeout: 15_000 }).toBe('live');

    // SIM-SW-002 loses power: it and everything behind it go dark (as the storyline does it).
    const sw = 'SIM-SW-002';
    const behind = daemon.sim!.elements().filter((e) => e.parents.includes(sw)).map((e) => e.id);
    const dark = [sw, ...behind].map((n) => daemon.sim!.device(n)).filter((d) => d !== undefined);
    expect(dark.length).toBe(14); // the switch, 12 base stations, 1 OLT
    await Promise.all(dark.map((d) => d.stop()));

    // Its outage card, rooted at the switch, with its subscribers by tier: no reload, the stream told the page.
    figures.switchOutageToScreenMs = await timeToScreen(page, sw);
    const card = page.locator(`article.outage[data-outage^="${sw}@"]`);
    await expect.poll(async () => Number((await card.locator('.figures b').first().textContent())!.replace(/,/g, '')), { timeout: 15_000 }).toBeGreaterThan(1000);
    await expect.poll(() => card.textContent(), { timeout: 15_000 }).toContain('root cause: snmp: Request timed out');
    expect(await card.locator('.tiers i').count()).toBe(4);
    await expect.poll(async () => Number((await page.textContent('#kpi-down b'))!.replace(/,/g, '')), { timeout: 15_000 }).toBeGreaterThanOrEqual(14);

    // Its alert arrives on the feed; the NOC engineer acknowledges it.
    const alert = page.locator('#alerts li[data-alert*="#opened@"]', { hasText: `aggregation ${sw} is down` });
    await alert.waitFor({ timeout: 20_000 });
    expect(await alert.textContent()).toContain('12 base stations, 1 OLT, 16 access ports behind it');
    expect(await page.locator('#alerts li').evaluateAll((els) => els.map((e) => e.textContent).filter((t) => /base station SIM-BS-\d+ is down/.test(t ?? '')))).toEqual([]);
    await alert.locator('button.ack').click();
    await expect.poll(() => alert.textContent(), { timeout: 10_000 }).toContain('acked by noc-on-shift');
    const res = await fetch(`${base}/v1/alerts?outage=${encodeURIComponent((await card.getAttribute('data-outage'))!)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect((await res.json()).items.find((a: any) => a.event === 'opened')).toMatchObject({ ackState: 'acknowledged', ackBy: 'noc-on-shift' });

    // The card opens its root: the switch's site, the switch, its place in the list and on the map.
    await card.locator('a.root').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('element')).toBe(sw);
    await expect.poll(() => page.textContent('#crumbs'), { timeout: 10_000 }).toContain(`${sw}-site`);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    if (process.env.NETPULSE_DOCS_SCREENSHOT) copyFileSync(join(ARTIFACTS, 'dashboard.png'), join(DOCS, 'dashboard.png'));

    // Power back: the outage closes, leave the active list for "recently closed",
    // and the switch's credits show.
    await Promise.all(dark.map((d) => d.start()));
    await expect.poll(() => page.textContent('#outages'), { timeout: 60_000 }).toContain('No active outage');
    await expect.poll(() => page.textContent('#closed'), { timeout: 15_000 }).toContain(sw);
    await expect.poll(() => page.textContent('#kpi-credits b'), { timeout: 30_000 }).toMatch(/^[\d,]+\.\d\d EUR$/);
    expect(await page.textContent('#credits')).toContain('standard');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('the wall screen: large type, no controls, cycling through the worst regions', async () => {
    const { page, errors } = await open('/ui/?wall=1');
    await expect.poll(() => page.isVisible('#wall')).toBe(true);
    for (const hidden of ['#f-kind', '#search', '#map-controls', '#alerts-panel', '#places-panel']) expect(await page.isVisible(hidden), hidden).toBe(false);
    const first = await page.textContent('.wall-region');
    expect(['north', 'east', 'south', 'west']).toContain(first);
    expect(await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('.wall-region')!).fontSize))).toBeGreaterThanOrEqual(48);
    // The next region after a turn (10 s).
    await expect.poll(() => page.textContent('.wall-region'), { timeout: 25_000 }).not.toBe(first);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-wall.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);
});
