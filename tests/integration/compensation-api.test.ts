import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { testDaemon } from '../helpers/daemon.ts';
import { tempDir, startMosquitto } from '../helpers/servers.ts';
import { smallNetwork } from '../helpers/outages.ts';
import { hashToken } from '../../src/api/auth.ts';
import { verifySignature } from '../../correlators/alerts/notifier.ts';
import type { FieldValue } from '../../src/sample.ts';

const SECRET = 'billing-secret-0123456789';
const H = 3_600_000;

/** A receiver for both the billing webhook (/credits) and the SMS gateway (/sms); /credits fails while `failing`. */
async function receiver() {
  const got = { credits: [] as any[], sms: [] as any[], failing: true, failures: 0, badSignatures: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.url === '/sms') got.sms.push(JSON.parse(body));
      else {
        if (!verifySignature(req.headers['x-netpulse-signature'] as string | undefined, body, SECRET, Date.now()).ok) got.badSignatures++;
        if (got.failing) {
          got.failures++;
          res.statusCode = 503;
        } else got.credits.push(...JSON.parse(body).credits);
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise((r) => server.close(r)) };
}

describe('compensation in the daemon', () => {
  it('settles a closed outage, pushes the credits, parks them when the job is down, and takes confirmations once', async () => {
    const rx = await receiver();
    const dir = tempDir('compensation-api');
    writeFileSync(join(dir, 'topology.yaml'), JSON.stringify({ elements: [...smallNetwork().elements.values()] }));
    const tokens = { billing: 'billing-token-0123456789', noc: 'noc-token-0123456789abc', screen: 'screen-token-0123456789ab' };
    const { daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') },
      outages: { confirmRecovery: 0 },
      compensation: { settle: 0, deliver: { webhook: { name: 'billing', url: `${rx.base}/credits`, secret: SECRET, maxAttempts: 2 }, retry: { minDelay: 20, maxDelay: 40 } } },
      complaints: { notify: { webhooks: [{ name: 'sms', url: `${rx.base}/sms` }] } },
      api: { tokens: [{ name: 'billing', hash: hashToken(tokens.billing), roles: ['compensation', 'admin'] }, { name: 'noc', hash: hashToken(tokens.noc), roles: ['noc', 'maintenance'] }, { name: 'screen', hash: hashToken(tokens.screen), roles: ['noc'] }] },
    });
    const call = async (who: keyof typeof tokens, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const r = await fetch(`http://127.0.0.1:${daemon.apiPort}${path}`, {
        method, headers: { authorization: `Bearer ${tokens[who]}`, ...(body !== undefined && { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' }), ...headers },
        ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: r.status, body: r.status === 204 ? undefined : await r.json() as any };
    };
    try {
      await daemon.start();
      expect((await call('billing', 'POST', '/v1/subscribers/import', 'id,tier,service,serving,fee,usage\nA,standard,mobile,BS-1-C1,72,data\nB,vip,mobile,BS-1-C2,72,voice\nC,gold,mobile,BS-1-C1;BS-2-C1,72,\n')).status).toBe(200);
      // BS-1 down for three hours, then back: one outage, closed at once (confirmRecovery 0).
      const t = Date.now() - 3.5 * H;
      const sample = (up: boolean, at: number) => daemon.outages.write([1, 2].map((i) => ({ element: 'BS-1', measurement: 'reachability', tags: { probe: 'snmp' }, fields: (up ? { up: true } : { up: false, error: 'timeout' }) as Record<string, FieldValue>, time: at + i })));
      sample(false, t);
      const [opened] = daemon.outages.tick(t + 10);
      const id = opened.outage.id;
      // Before anything is issued, the NOC sees what it would cost.
      await expect.poll(async () => (await call('noc', 'GET', `/v1/outages/${id}/compensation/preview`)).body.eligible, { timeout: 5000 }).toBe(2);
      sample(true, t + 3 * H);
      daemon.outages.tick(t + 3 * H + 10);
      daemon.outages.tick(t + 3 * H + 20);

      // Settled at close: A (no service 3 h), B (VIP, no service); C still had BS-2: degraded 3 h is below the 4 h rule.
      await expect.poll(async () => (await call('billing', 'GET', `/v1/credits?outage=${id}`)).body.items.length, { timeout: 10_000 }).toBe(2);
      const listed = (await call('billing', 'GET', `/v1/credits?outage=${id}`)).body.items;
      const a = listed.find((c: any) => c.subscriberId === 'A');
      const b = listed.find((c: any) => c.subscriberId === 'B');
      expect(a).toMatchObject({ kind: 'credit', amount: { minor: 100, currency: 'EUR' }, form: 'data_pack', quantity: 1024, unit: 'MB', policy: { id: 'operator-default', rule: 'no-service' } });
      expect(b).toMatchObject({ amount: { minor: 200 }, form: 'free_minutes', quantity: 40 }); // VIP: twice the EUR 1 minimum
      expect(b.explanation).toContain('tier vip: × 2 = 2.00');

      // The job is down: two attempts, then parked as failed with the reason.
      await expect.poll(async () => (await call('billing', 'GET', '/v1/credits?state=failed')).body.items.length, { timeout: 10_000 }).toBe(2);
      expect((await call('billing', 'GET', `/v1/credits/${a.id}`)).body.reason).toMatch(/delivery failed 2 times: HTTP 503/);
      rx.got.failing = false;
      expect((await call('billing', 'POST', '/v1/credits/retry', {})).body).toEqual({ retried: 2 });
      await expect.poll(() => rx.got.credits.map((c) => c.subscriberId).sort(), { timeout: 10_000 }).toEqual(['A', 'B']);
      expect(rx.got.badSignatures).toBe(0);
      await expect.poll(async () => (await call('billing', 'GET', '/v1/credits?state=delivered')).body.items.length, { timeout: 5000 }).toBe(2);

      // The job confirms: once per idempotency key; a repeat answers the same; another body under the key is refused.
      const confirm = { confirmations: [{ id: a.id, outcome: 'applied', reference: 'INV-1' }, { id: b.id, outcome: 'applied' }, { id: 'cr-nope', outcome: 'applied' }] };
      expect((await call('billing', 'POST', '/v1/credits/confirm', confirm)).status).toBe(400);
      const first = await call('billing', 'POST', '/v1/credits/confirm', confirm, { 'idempotency-key': 'job-run-0001' });
      expect(first.body.results.map((r: any) => r.result)).toEqual(['changed', 'changed', 'not_found']);
      expect((await call('billing', 'POST', '/v1/credits/confirm', confirm, { 'idempotency-key': 'job-run-0001' })).body).toEqual(first.body);
      expect((await call('billing', 'POST', '/v1/credits/confirm', { confirmations: [{ id: a.id, outcome: 'failed' }] }, { 'idempotency-key': 'job-run-0001' })).status).toBe(422);
      expect((await call('billing', 'POST', '/v1/credits/confirm', { confirmations: [{ id: a.id, outcome: 'failed' }] }, { 'idempotency-key': 'job-run-0002' })).body.results[0]).toMatchObject({ result: 'conflict', state: 'applied' });
      expect((await call('billing', 'GET', `/v1/credits/${a.id}`)).body).toMatchObject({ state: 'applied', reference: 'INV-1' });

      // Each subscriber is told what was credited.
      await expect.poll(() => rx.got.sms.map((m) => m.receiver[0].id).sort(), { timeout: 10_000 }).toEqual(['A', 'B']);
      expect(rx.got.sms.find((m) => m.receiver[0].id === 'A').content).toContain('1024 MB of data');

      // TMF678's shape, by its own path and as a list format.
      const tmf = (await call('billing', 'GET', `/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate/${a.id}`)).body;
      expect(tmf).toMatchObject({ id: a.id, type: 'appliedBillingCredit', isBilled: true, billingAccount: { id: 'A' }, taxExcludedAmount: { unit: 'EUR', value: -1 }, '@type': 'AppliedCustomerBillingRate' });
      expect(tmf.characteristic).toContainEqual({ name: 'outageId', valueType: 'string', value: id });
      expect((await call('billing', 'GET', `/v1/credits?format=tmf678&outage=${id}`)).body.items[0].type).toBe('appliedBillingCredit');

      // Totals, the outage's compensation, and paging by cursor.
      const byTier = (await call('noc', 'GET', '/v1/compensation/totals?by=tier')).body.items;
      expect(byTier.map((x: any) => [x.tier, x.amountMinor, Object.keys(x.byState)])).toEqual([['standard', 100, ['applied']], ['vip', 200, ['applied']]]);
      const summary = (await call('noc', 'GET', `/v1/outages/${id}/compensation`)).body;
      expect(summary.settlement.final).toBe(true);
      const page1 = (await call('billing', 'GET', '/v1/credits?limit=1')).body;
      const page2 = (await call('billing', 'GET', `/v1/credits?limit=1&after=${page1.nextCursor}`)).body;
      expect([page1.items[0].id, page2.items[0].id].sort()).toEqual([a.id, b.id].sort());
      expect([page1.hasMore, page2.hasMore]).toEqual([true, false]);
      expect(page2.nextCursor).toBe(page2.items[0].sequence); // the last page too: the job keeps it

      // Force majeure found later: applied credits are debited by a correction, never silently dropped.
      // Force majeure withdraws credits: the noc role alone may not set it, the maintenance role may.
      expect((await call('screen', 'PUT', `/v1/outages/${id}/force-majeure`, { reason: 'regional power cut' })).status).toBe(403);
      const fm = await call('noc', 'PUT', `/v1/outages/${id}/force-majeure`, { reason: 'regional power cut' });
      expect(fm.body.resettled).toMatchObject({ entries: 2, reversed: 0, added: { EUR: -300 } });
      const debits = (await call('billing', 'GET', `/v1/credits?after=${page2.nextCursor}`)).body.items;
      expect(debits.map((c: any) => [c.kind, c.corrects, c.amount.minor])).toEqual(expect.arrayContaining([['correction', a.id, -100], ['correction', b.id, -200]]));
      expect(debits).toHaveLength(2);
      expect((await call('noc', 'PUT', `/v1/outages/${id}/force-majeure`, {})).body.error).toMatchObject({ code: 'bad_request', field: 'reason' });
      expect((await call('noc', 'POST', '/v1/credits/retry', {})).status).toBe(403);
      expect((await call('noc', 'GET', '/v1/compensation/policies')).body.items.map((p: any) => p.id)).toEqual(['operator-default']);
    } finally {
      await daemon.stop();
      await rx.close();
    }
  });

  it('publishes credits to an MQTT topic at QoS 1 instead of a webhook', async () => {
    const broker = await startMosquitto();
    const dir = tempDir('compensation-mqtt');
    writeFileSync(join(dir, 'topology.yaml'), JSON.stringify({ elements: [...smallNetwork().elements.values()] }));
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const billing = await mqtt.connectAsync(url, { clientId: 'billing-job' });
    const got: any[] = [];
    billing.on('message', (_t, m) => got.push(JSON.parse(m.toString())));
    await billing.subscribeAsync('billing/credits', { qos: 1 });
    const { daemon } = testDaemon({
      topology: { file: join(dir, 'topology.yaml') }, outages: { confirmRecovery: 0 }, api: null,
      compensation: { settle: 0, deliver: { mqtt: { url, topic: 'billing/credits' } } },
    });
    try {
      await daemon.start();
      async function* rows() { yield 'id,tier,service,serving,fee\n'; for (let i = 0; i < 50; i++) yield `M${i},standard,mobile,BS-3-C1,45\n`; }
      const { importSubscribers } = await import('../../correlators/subscribers/import.ts');
      await importSubscribers(daemon.store, rows(), { format: 'csv', mode: 'replace', known: () => true });
      const t = Date.now() - 3 * H;
      const sample = (up: boolean, at: number) => daemon.outages.write([1, 2].map((i) => ({ element: 'BS-3', measurement: 'reachability', tags: { probe: 'snmp' }, fields: (up ? { up: true } : { up: false, error: 'timeout' }) as Record<string, FieldValue>, time: at + i })));
      sample(false, t);
      daemon.outages.tick(t + 10);
      sample(true, t + 2 * H);
      daemon.outages.tick(t + 2 * H + 10);
      daemon.outages.tick(t + 2 * H + 20);
      await expect.poll(() => got.length, { timeout: 10_000 }).toBe(50);
      expect(new Set(got.map((c) => c.subscriberId)).size).toBe(50);
      expect(got[0]).toMatchObject({ kind: 'credit', amount: { minor: 100, currency: 'EUR' }, form: 'bill_credit', state: 'computed' });
      await expect.poll(async () => Number((await daemon.store.db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM credits WHERE state = 'delivered'`))[0].n), { timeout: 5000 }).toBe(50);
    } finally {
      await daemon.stop();
      await billing.endAsync();
      await broker.stop();
    }
  });
});
