import { describe, it, expect, afterAll } from 'vitest';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { WebhookNotifier, verifySignature, SIGNATURE_TOLERANCE_MS } from '../../correlators/alerts/notifier.ts';

const SECRET = 'a-webhook-secret-of-some-length';
const T = Date.parse('2026-11-22T10:00:00Z');

/** A receiver on loopback that keeps each delivery as it came: the signature header and the exact body. */
const got: { header: string | undefined; body: string }[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => { got.push({ header: req.headers['x-netpulse-signature'] as string | undefined, body }); res.writeHead(204).end(); });
});
const url = new Promise<string>((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as { port: number }).port}/hook`)));
afterAll(() => new Promise((r) => server.close(r)));

async function deliver(at: number, message = { id: 'alert-1', text: 'AGG-7 is down' }) {
  const n = new WebhookNotifier('noc', { url: await url, secret: SECRET, timeoutMs: 2000, now: () => at });
  await n.send(message);
  return got.at(-1)!;
}

describe('webhook signatures', () => {
  it('sign the timestamp with the body, as t=<unix seconds>,v1=<HMAC-SHA256 of "t.body">', async () => {
    const d = await deliver(T);
    const t = Math.floor(T / 1000);
    expect(d.header).toBe(`t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${d.body}`).digest('hex')}`);
    expect(verifySignature(d.header, d.body, SECRET, T + 1000)).toEqual({ ok: true, at: t * 1000 });
  });

  it.each([
    ['a replay 5 minutes and a second later', SIGNATURE_TOLERANCE_MS + 1000, false],
    ['a delivery that took four minutes', 4 * 60_000, true],
    ['a sender clock 6 minutes ahead of the receiver', -6 * 60_000, false],
  ])('a receiver refuses a stale timestamp: %s', async (_, later, ok) => {
    const d = await deliver(T);
    expect(verifySignature(d.header, d.body, SECRET, T + later).ok).toBe(ok);
  });

  it('a captured delivery cannot be given a fresh timestamp, nor another body', async () => {
    const d = await deliver(T);
    const fresh = d.header!.replace(/^t=\d+/, `t=${Math.floor((T + 10 * 60_000) / 1000)}`);
    expect(verifySignature(fresh, d.body, SECRET, T + 10 * 60_000)).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verifySignature(d.header, d.body.replace('down', 'up'), SECRET, T).ok).toBe(false);
    expect(verifySignature(d.header, d.body, 'another-secret', T).ok).toBe(false);
    expect(verifySignature(undefined, d.body, SECRET, T).ok).toBe(false);
    expect(verifySignature(`sha256=${createHmac('sha256', SECRET).update(d.body).digest('hex')}`, d.body, SECRET, T)).toEqual({ ok: false, reason: 'malformed signature header' });
  });

  it('signs every attempt afresh, so a retry after a long backoff is not refused', async () => {
    const first = await deliver(T);
    const retry = await deliver(T + 20 * 60_000);
    expect(retry.body).toBe(first.body);
    expect(verifySignature(retry.header, retry.body, SECRET, T + 20 * 60_000).ok).toBe(true);
    expect(verifySignature(first.header, first.body, SECRET, T + 20 * 60_000).ok).toBe(false);
  });
});
