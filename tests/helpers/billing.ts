import http from 'node:http';
import { verifySignature } from '../../correlators/alerts/notifier.ts';

export const BILLING_SECRET = 'billing-secret-0123456789';
const SECRET = BILLING_SECRET;

/**
 * The operator's billing job as a webhook: it applies each credit once, by its id, and records
 * every repeat (a batch that came again after a crash) so the test can check it changed nothing.
 * `onBatch` runs before the answer, so a test can kill the daemon with the batch in the air.
 */
export async function billingJob() {
  const applied = new Map<string, { subscriberId: string; outageId: string; minor: number }>();
  const state = { batches: 0, repeats: 0, differing: 0, badSignatures: 0, onBatch: undefined as (() => void) | undefined };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (!verifySignature(req.headers['x-netpulse-signature'] as string | undefined, body, SECRET, Date.now()).ok) state.badSignatures++;
      state.batches++;
      for (const c of JSON.parse(body).credits as { id: string; subscriberId: string; outageId: string; amount: { minor: number } }[]) {
        const before = applied.get(c.id);
        if (before) {
          state.repeats++;
          if (before.minor !== c.amount.minor || before.subscriberId !== c.subscriberId) state.differing++;
        } else applied.set(c.id, { subscriberId: c.subscriberId, outageId: c.outageId, minor: c.amount.minor });
      }
      const hook = state.onBatch;
      state.onBatch = undefined;
      hook?.();
      setTimeout(() => res.end('{}'), 40);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { applied, state, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/credits`, close: () => new Promise((r) => server.close(r)) };
}

