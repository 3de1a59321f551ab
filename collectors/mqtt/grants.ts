/**
 * Whether the broker has granted a connection's subscriptions, and who waits for it: a waiter
 * resolves at the grant (at once if it was given), is kept across a lost connection until the next
 * grant, and is rejected when the collector stops.
 */
export class Grants {
  private granted = false;
  private readonly waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];

  wait(): Promise<void> {
    if (this.granted) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  grant(): void {
    this.granted = true;
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  /** The connection went: the next one must be granted again. */
  lost(): void {
    this.granted = false;
  }

  /** Stopped: nobody waits any more. */
  cancel(err: Error): void {
    this.granted = false;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}
