import { createHash } from 'node:crypto';
import type { Logger } from '../../src/log.ts';
import { WebhookNotifier, MqttNotifier, type Message } from '../alerts/notifier.ts';
import { creditView, type Credit, type CreditBook } from './credits.ts';

/** Where credits are pushed: the operator's compensation job. `send` rejects when the batch did not get there. */
export interface CreditTarget {
  readonly name: string;
  send(credits: readonly Credit[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A webhook takes a batch as one message: `{ "id": <batch key>, "credits": [...] }`, POSTed and
 * signed by the alerts' `WebhookNotifier` (`X-Netpulse-Signature`), with the batch key as
 * `Idempotency-Key`. Every credit's `id` names the credit too, so a receiver applies each once
 * even when a batch comes again (after a timeout, or a crash between its delivery and netpulse
 * recording it). Any 2xx is delivered.
 */
export class WebhookCreditTarget implements CreditTarget {
  private readonly notifier: WebhookNotifier;

  constructor(name: string, o: { url: string; secret?: string; timeoutMs: number }) {
    this.notifier = new WebhookNotifier(name, { ...o, idHeader: 'idempotency-key' });
  }

  get name(): string {
    return this.notifier.name;
  }

  send(credits: readonly Credit[]): Promise<void> {
    const id = createHash('sha256').update(credits.map((c) => c.id).join(',')).digest('hex').slice(0, 32);
    return this.notifier.send({ id, credits: credits.map(creditView) } as Message);
  }

  close(): Promise<void> {
    return this.notifier.close();
  }
}

/** Each credit as one JSON message at QoS 1 (the alerts' `MqttNotifier`); delivered once the broker acknowledged all of the batch. */
export class MqttCreditTarget implements CreditTarget {
  private readonly notifier: MqttNotifier;

  constructor(o: { url: string; topic: string; clientId: string; username?: string; password?: string }) {
    this.notifier = new MqttNotifier(o);
  }

  get name(): string {
    return this.notifier.name;
  }

  async send(credits: readonly Credit[]): Promise<void> {
    await Promise.all(credits.map((c) => this.notifier.send(creditView(c))));
  }

  close(): Promise<void> {
    return this.notifier.close();
  }
}

export interface PushStats { delivered: number; batches: number; retries: number; parked: number }

/**
 * Pushes computed credits to the target in ledger order, a batch at a time, and records each
 * batch as delivered once the target took it. A failed batch is retried with exponential backoff
 * (`retryMs`); an entry that failed `maxAttempts` times is parked as failed with the reason (the
 * job or the NOC can retry it over the API). A batch is recorded as handed over in the store
 * before it is sent (a timeout may still have reached the job), so a recomputation only ever
 * corrects it, even from another instance; `inFlight` says the same within this process.
 */
export class CreditPusher {
  readonly stats: PushStats = { delivered: 0, batches: 0, retries: 0, parked: 0 };
  readonly inFlight = new Set<string>();
  private readonly o: {
    target: CreditTarget; book: CreditBook; batchSize: number; maxAttempts: number; retryMs: [number, number]; idleMs?: number; logger: Logger;
    onDelivered?: (credits: Credit[]) => void; now?: () => number;
  };
  private wakeUp: (() => void) | undefined;
  private idle = false;
  private kicked = false;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(o: CreditPusher['o']) {
    this.o = o;
  }

  get name(): string {
    return this.o.target.name;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Something new was computed: look now rather than at the next idle check (a backoff is kept). */
  wake(): void {
    this.kicked = true;
    if (this.idle || this.stopped) this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => { this.wakeUp = undefined; r(); }, ms);
      t.unref();
      this.wakeUp = () => { clearTimeout(t); this.wakeUp = undefined; r(); };
    });
  }

  private async loop(): Promise<void> {
    const [min, max] = this.o.retryMs;
    let delay = min;
    let failing = false;
    while (!this.stopped) {
      let batch: Credit[] = [];
      try {
        this.kicked = false;
        const now = this.o.now ?? Date.now;
        const owed = await this.o.book.pending(this.o.batchSize);
        if (owed.length === 0) {
          if (this.kicked) continue;
          this.idle = true;
          await this.sleep(this.o.idleMs ?? 30_000);
          this.idle = false;
          continue;
        }
        // A settlement may have withdrawn some since they were read: send only what is still owed.
        const claimed = await this.o.book.claim(owed.map((c) => c.id), now());
        batch = owed.filter((c) => claimed.has(c.id));
        if (batch.length === 0) continue;
        for (const c of batch) this.inFlight.add(c.id);
        await this.o.target.send(batch);
        await this.o.book.markDelivered(batch.map((c) => c.id), now());
        this.stats.delivered += batch.length;
        this.stats.batches++;
        this.o.onDelivered?.(batch);
        if (failing) this.o.logger.info({ target: this.name }, 'credit delivery works again');
        failing = false;
        delay = min;
      } catch (err) {
        this.stats.retries++;
        const reason = (err as Error).message;
        if (!failing) this.o.logger.warn({ target: this.name, reason, credits: batch.length }, 'credit delivery failed; retrying with backoff');
        failing = true;
        if (batch.length > 0) {
          const parked = await this.o.book.deliveryFailed(batch.map((c) => c.id), reason, this.o.maxAttempts).catch(() => 0);
          if (parked > 0) {
            this.stats.parked += parked;
            this.o.logger.error({ target: this.name, parked, reason }, 'credits parked as failed after the last attempt');
          }
        }
        await this.sleep(delay * (0.5 + Math.random() / 2));
        delay = Math.min(max, delay * 2);
      } finally {
        for (const c of batch) this.inFlight.delete(c.id);
      }
    }
  }

  /** Stops after the batch in hand (bounded by the target's timeout), then closes the target. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
    await this.o.target.close().catch(() => {});
  }
}
