// A keyed workqueue as controller-runtime's: a key queued many times is reconciled once; one reconcile
// per key at a time (a key queued while it is being reconciled runs again after); failures retry with
// exponential backoff per key (100 ms doubling to 60 s, reset by a success); a result may ask to look
// again after a delay; a TerminalError is reported and not retried (reconciler.ts has the contract).
import { isTerminal, type Result } from './reconciler.js';

export type QueueResult = Result;

export class WorkQueue {
  private readonly dirty = new Set<string>();
  private readonly running = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private active = 0;

  constructor(
    private readonly worker: (key: string) => Promise<QueueResult>,
    /** a failed reconcile: `retryMs` is when it runs again, undefined for a terminal error (not retried) */
    private readonly onError: (key: string, err: unknown, retryMs: number | undefined) => void,
    private readonly concurrency = 2,
  ) {}

  get depth(): number {
    return this.dirty.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, t);
  }

  private pump(): void {
    for (const key of this.dirty) {
      if (this.active >= this.concurrency) return;
      if (this.running.has(key)) continue;
      this.dirty.delete(key);
      this.running.add(key);
      this.active++;
      this.worker(key).then(
        (r) => {
          this.failures.delete(key);
          if (r.requeueAfterMs !== undefined) this.addAfter(key, r.requeueAfterMs);
        },
        (err: unknown) => {
          if (isTerminal(err)) {
            this.failures.delete(key);
            this.onError(key, err, undefined);
            return;
          }
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          const retry = Math.min(100 * 2 ** (n - 1), 60_000);
          this.onError(key, err, retry);
          this.addAfter(key, retry);
        },
      ).finally(() => {
        this.running.delete(key);
        this.active--;
        this.pump();
      });
    }
  }

  /** Stops taking work and waits for running reconciles to finish. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    while (this.active > 0) await new Promise((r) => setTimeout(r, 20));
  }
}
