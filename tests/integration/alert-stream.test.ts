import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, type IncomingMessage } from 'node:http';
import { tempDir } from '../helpers/servers.ts';
import { testDaemon } from '../helpers/daemon.ts';
import { hashToken } from '../../src/api/auth.ts';
import type { Daemon } from '../../src/daemon.ts';
import type { Outage } from '../../correlators/outages/outage.ts';

const NOC = 'noc-token-0123456789abcdef';
const WALL = 'wall-token-0123456789abcdef';

/** An SSE client, connected (its first bytes read) when this resolves; `until` reads on until the text so far satisfies it, then hangs up. */
async function connectStream(base: string, token: string | undefined, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const r = await fetch(`${base}/v1/alerts/stream`, { headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers }, signal: ac.signal });
  if (r.status !== 200) return { status: r.status, until: async () => await r.text() };
  const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = (await reader.read()).value ?? '';
  return {
    status: r.status,
    until: async (done: (text: string) => boolean) => {
      while (!done(text)) text += (await reader.read()).value ?? '';
      ac.abort();
      return text;
    },
  };
}

async function follow(base: string, token: string | undefined, until: (text: string) => boolean, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const c = await connectStream(base, token, headers);
  return { status: c.status, text: await c.until(until) };
}

const ids = (text: string) => [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]);

describe('the alert stream on the API (GET /v1/alerts/stream)', () => {
  let daemon: Daemon;
  let base: string;
  let n = 0;
  /** Raises one alert through the daemon's own path: an outage opened on BS-1. */
  const raise = async (): Promise<string> => {
    const at = Date.now() + n++;
    const o: Outage = { id: `BS-1@${at}`, root: 'BS-1', severity: 'outage', state: 'open', startedAt: at, impacted: [{ element: 'BS-1', since: at }], planned: false, flapping: false, reopened: 0, reason: 'snmp: timeout' };
    const a = await daemon.alerts!.onOutageEvent({ type: 'opened', outage: o, at });
    return a!.id;
  };

  beforeAll(async () => {
    const dir = tempDir('alert-stream');
    writeFileSync(join(dir, 'topology.yaml'), 'elements:\n  - { id: BS-1, kind: base_station, site: s1, region: north }\n');
    ({ daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      api: { streamsPerToken: 2, tokens: [{ name: 'noc', hash: hashToken(NOC), roles: ['noc'] }, { name: 'wall', hash: hashToken(WALL), roles: ['dashboard'] }] },
    }));
    await daemon.start();
    base = `http://127.0.0.1:${daemon.apiPort}`;
  });
  afterAll(() => daemon?.stop());

  it('needs a token with a role that reads alerts', async () => {
    expect((await follow(base, undefined, () => true)).status).toBe(401);
    expect((await follow(base, 'not-a-token', () => true)).status).toBe(401);
  });

  it('replays what a reconnecting client missed after its Last-Event-ID, then follows; an unknown id replays nothing', async () => {
    const a1 = await raise();
    const a2 = await raise();
    const a3 = await raise();
    const missed = await connectStream(base, WALL, { 'last-event-id': a1 });
    const a4 = await raise();
    const got = await missed.until((t) => ids(t).length >= 3);
    expect(got.startsWith(': netpulse alerts\n')).toBe(true);
    expect(ids(got)).toEqual([a2, a3, a4]);
    expect(got).toMatch(/event: alert\ndata: \{.*"alarmedObject":\{"id":"BS-1"/);
    // A client whose last id is not kept (or that sends none) reads /v1/alerts instead of a flood.
    const fresh = await connectStream(base, NOC, { 'last-event-id': 'forgotten' });
    const a5 = await raise();
    expect(ids(await fresh.until((t) => ids(t).length >= 1))).toEqual([a5]);
  });

  it('holds at most streamsPerToken streams per token: the next is 429 until one closes', async () => {
    const open: IncomingMessage[] = [];
    const connect = () => new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${base}/v1/alerts/stream`, { headers: { authorization: `Bearer ${WALL}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
    try {
      for (let i = 0; i < 2; i++) open.push(await connect());
      expect(open.map((r) => r.statusCode)).toEqual([200, 200]);
      const third = await connect();
      expect(third.statusCode).toBe(429);
      // A HEAD probe answers at once and holds no slot.
      const head = await fetch(`${base}/v1/alerts/stream`, { method: 'HEAD', headers: { authorization: `Bearer ${NOC}` } });
      expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream']);
      third.resume();
      expect((await follow(base, NOC, () => true)).status).toBe(200); // another token is not held back
      open.shift()!.destroy();
      await expect.poll(async () => {
        const r = await connect();
        open.push(r);
        return r.statusCode;
      }, { timeout: 5000 }).toBe(200);
    } finally {
      for (const r of open) r.destroy();
    }
  });
});
