// The NOC dashboard at an operator's scale (issue 23): the demo operator plus a generated fleet,
// 50,000 elements on a map of Italy, 100,000 subscribers, the daemon in its own process
// (bench/fixtures/dashboard-daemon.ts), once its network has come up and three hubs are down.
//
// 1. Summary endpoints (/v1/places: regions, a region's sites, all sites for the map, one site,
//    search by element and by subscriber): latency over HTTP, one request at a time, the endpoints
//    interleaved round after round with the reference: one page (1,000) of GET /v1/elements, the
//    listing the dashboard used to read 50 of to count the elements. Figures: p50, p99, and p99
//    against the reference's p99 in the same run. Target: p99 under 50 ms.
// 2. The page in headless Chromium: first meaningful paint (the places listed and the map drawn,
//    `window.netpulse.firstRender`, from the navigation's start), fresh page each trial; reference
//    interleaved: the same page's time to read every element (50 pages of /v1/elements), what the
//    old page did before drawing anything. Target: under 2 s.
// 3. A new outage on screen: a hub of the fleet stops answering; from the daemon's `outage` event
//    (received by this process on /v1/events) to its card on the page (`window.netpulse.shown`),
//    the page open all along. Reference interleaved: the page re-reading every place summary
//    (regions and all sites), what re-reading on every event would cost. Target: under 1 s.
//
//   node bench/dashboard.ts                       everything (about 3 minutes)
//   BENCH_DASHBOARD_ROUNDS=50 BENCH_DASHBOARD_TRIALS=2 node bench/dashboard.ts   quick
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { line, fmt, median, percentile } from './lib.ts';

const SITES = Number(process.env.BENCH_SITES ?? 12_400);
const ROUNDS = Number(process.env.BENCH_DASHBOARD_ROUNDS ?? 200);
const TRIALS = Number(process.env.BENCH_DASHBOARD_TRIALS ?? 5);
const TOKEN = 'bench-dashboard-token-0123456789';
const FIXTURE = fileURLToPath(new URL('./fixtures/dashboard-daemon.ts', import.meta.url));

export async function benchDashboard(): Promise<void> {
  const child = spawn(process.execPath, [FIXTURE, TOKEN, String(SITES)], { stdio: ['pipe', 'pipe', 'ignore'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => JSON.parse((await lines.next()).value as string);
  const command = async (c: string) => {
    child.stdin!.write(`${c}\n`);
    return next();
  };
  try {
    const t0 = performance.now();
    const { port, elements } = await next();
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string) => {
      const r = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (!r.ok) throw new Error(`${r.status} on ${path}`);
      return r.json();
    };
    // Up: every fleet element has answered twice (the health hysteresis), so little is left unknown.
    for (;;) {
      const { items } = await get('/v1/places/regions');
      const unknown = items.reduce((n: number, r: any) => n + r.counts.unknown, 0);
      if (unknown < elements * 0.01) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    line('elements, sites in the topology', `${fmt(elements)} elements, ${fmt(SITES)} generated sites (up in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    // Three hubs out: outages with subscribers hit, so the summaries have something to rank.
    for (const hub of ['SIM-AGG-0003', 'SIM-AGG-0010', 'SIM-AGG-0021']) await command(`fail ${hub}`);
    for (;;) {
      const { items } = await get('/v1/outages?state=active');
      if (items.filter((o: any) => o.rootCause.id.startsWith('SIM-AGG-') && o.affectedSubscribers?.current > 0).length >= 3) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await summaries(get);
    await browser(base, command);
  } finally {
    child.stdin!.end('stop\n');
    await new Promise((r) => child.once('exit', r));
  }
}

async function summaries(get: (path: string) => Promise<any>): Promise<void> {
  const { items: regions } = await get('/v1/places/regions');
  const worst = regions[0].region;
  const { items: sites } = await get(`/v1/places/sites?region=${worst}&limit=1`);
  const endpoints: [string, string][] = [
    ['regions', '/v1/places/regions'],
    ['regions, cells only', '/v1/places/regions?kind=cell'],
    ['a region\'s sites (500, worst first)', `/v1/places/sites?region=${worst}`],
    ['every site, map form (12,800 sites)', '/v1/places/sites?form=map&limit=20000'],
    ['every site, list form (worst first)', '/v1/places/sites?limit=20000'],
    ['one site with its elements', `/v1/places/sites/${encodeURIComponent(sites[0].site)}`],
    ['search an element id', '/v1/places/search?q=SIM-FS-01234-C2'],
    ['search a subscriber id', '/v1/places/search?q=SIM-000777'],
  ];
  const REF = '/v1/elements?limit=1000';
  const times = new Map<string, number[]>([[REF, []], ...endpoints.map(([, p]): [string, number[]] => [p, []])]);
  for (const [, p] of endpoints) await get(p); // warm
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved, in a rotating order: no endpoint always follows the same one.
    const order = [REF, ...endpoints.map(([, p]) => p)];
    for (let i = 0; i < order.length; i++) {
      const p = order[(i + r) % order.length];
      const t = performance.now();
      await get(p);
      times.get(p)!.push(performance.now() - t);
    }
  }
  const stats = (p: string) => {
    const s = [...times.get(p)!].sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99) };
  };
  const ref = stats(REF);
  line(`reference: GET ${REF} (one page of 50)`, `p50 ${ref.p50.toFixed(1)} ms, p99 ${ref.p99.toFixed(1)} ms`);
  for (const [name, p] of endpoints) {
    const s = stats(p);
    line(`  ${name}`, `p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms (${(s.p99 / ref.p99).toFixed(2)}x the reference's p99)${s.p99 < 50 ? '' : '  OVER 50 ms'}`);
  }
  line('  rounds', `${ROUNDS} (each endpoint and the reference once a round)`);
}

async function browser(base: string, command: (c: string) => Promise<any>): Promise<void> {
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const errors: string[] = [];
    const open = async () => {
      const page = await b.newPage({ viewport: { width: 1600, height: 1000 } });
      page.on('pageerror', (e) => errors.push(e.message));
      return page;
    };
    // Every element, page by page, as the old dashboard read them before drawing anything.
    const readAll = (page: Awaited<ReturnType<typeof open>>, token: string) => page.evaluate(async (token) => {
      const t = performance.now();
      for (let cursor = ''; ;) {
        const r = await (await fetch(`/v1/elements?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${token}` } })).json();
        if (!r.nextCursor) break;
        cursor = r.nextCursor;
      }
      return performance.now() - t;
    }, token);
    const first: number[] = [], all: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const page = await open();
      await page.goto(`${base}/ui/#token=${TOKEN}`);
      await page.waitForFunction(() => (window as any).netpulse?.firstRender !== null, null, { timeout: 30_000 });
      first.push(await page.evaluate(() => (window as any).netpulse.firstRender));
      all.push(await readAll(page, TOKEN));
      await page.close();
    }
    line('first render, 50,000 elements (fresh page)', `median ${fmt(median(first))} ms, worst ${fmt(Math.max(...first))} ms${Math.max(...first) < 2000 ? '' : '  OVER 2 s'}`);
    line('  reference: reading every element (50 pages) in that page', `median ${fmt(median(all))} ms (${(median(first) / median(all)).toFixed(2)}x)`);

    // A new outage: from its event to its card, the page open and following the stream.
    const page = await open();
    await page.goto(`${base}/ui/#token=${TOKEN}`);
    await page.waitForFunction(() => (window as any).netpulse?.firstRender !== null, null, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector('#live')?.textContent === 'live');
    const events = await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' } });
    const heard = new Map<string, number>();
    void (async () => {
      const dec = new TextDecoder();
      let buf = '';
      for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!frame.includes('event: outage')) continue;
          const data = JSON.parse(frame.split('\n').find((l) => l.startsWith('data:'))!.slice(5));
          if (data.event === 'opened' && !heard.has(data.outage)) heard.set(data.outage, Date.now());
        }
      }
    })().catch(() => {});
    const shown: number[] = [], reread: number[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const hub = `SIM-AGG-${String(40 + i).padStart(4, '0')}`;
      await command(`fail ${hub}`);
      const id = await waitFor(() => [...heard.keys()].find((k) => k.startsWith(`${hub}@`)));
      await page.waitForFunction((id) => (window as any).netpulse.shown.has(id), id, { timeout: 10_000 });
      shown.push((await page.evaluate((id) => (window as any).netpulse.shown.get(id), id)) - heard.get(id)!);
      reread.push(await page.evaluate(async (token) => {
        const t = performance.now();
        const h = { headers: { authorization: `Bearer ${token}` } };
        await Promise.all([fetch('/v1/places/regions', h).then((r) => r.json()), fetch('/v1/places/sites?form=map&limit=20000', h).then((r) => r.json())]);
        return performance.now() - t;
      }, TOKEN));
    }
    line('a new outage on screen after its event (page open)', `median ${fmt(median(shown))} ms, worst ${fmt(Math.max(...shown))} ms${Math.max(...shown) < 1000 ? '' : '  OVER 1 s'}`);
    line('  reference: re-reading every place summary in that page', `median ${fmt(median(reread))} ms`);
    line('JS errors in the page', errors.length === 0 ? 'none' : errors.join('; '));
    await events.body?.cancel().catch(() => {});
  } finally {
    await b.close();
  }
}

async function waitFor<T>(f: () => T | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchDashboard();
  process.exit(0);
}
