// An informer in the sense of client-go, reduced to what a level-triggered controller needs: list a
// collection, hand every object's key to the queue, watch from the list's resourceVersion and hand the
// key of every change; relist when the server says the version is too old (410); re-watch after a
// dropped stream with backoff (200 ms doubling to 10 s). It keeps what it saw (`store`, by
// namespace/name), which the cache (cache.ts) serves reconciles from while the informer is `synced`:
// listed, and watching since.
import type { Kube, Obj } from './kube.js';
import type { Logger } from './log.js';

export type InformerEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export class Informer {
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;
  /** namespace/name → the object as last seen */
  readonly store = new Map<string, Obj>();
  /** true from a completed list while its watch runs; false before and while re-listing after a failure */
  synced = false;
  /** told of every object the informer sees change (the cache's read-your-writes bookkeeping) */
  onObserved: ((type: InformerEvent, o: Obj) => void) | undefined;

  constructor(
    private readonly kube: Kube,
    /** a collection path, optionally with a ?labelSelector= */
    private readonly path: string,
    /** the queue key for an object (undefined: ignore it) */
    private readonly keyOf: (o: Obj) => string | undefined,
    private readonly onKey: (key: string) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    let backoff = 200;
    while (!this.abort.signal.aborted) {
      try {
        const list = await this.kube.request<{ metadata: { resourceVersion: string }; items: Obj[] }>('GET', this.path);
        this.store.clear();
        for (const o of list.items) this.remember('ADDED', o);
        this.synced = true;
        for (const o of list.items) this.emit(o);
        let rv = list.metadata.resourceVersion;
        for (;;) {
          const why = await this.kube.watch(
            this.path,
            rv,
            (type, o) => {
              const v = (o.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
              if (v) rv = v;
              if (type === 'BOOKMARK') return;
              if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.remember(type, o);
              this.emit(o);
            },
            this.abort.signal,
          );
          backoff = 200;
          if (why === 'aborted') return;
          if (why === 'gone') {
            this.synced = false;
            break; // relist
          }
        }
      } catch (err) {
        this.synced = false;
        if (this.abort.signal.aborted) return;
        this.log.warn('watch failed; retrying', { path: this.path, error: err instanceof Error ? err.message : String(err), 'retry-ms': backoff });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private remember(type: InformerEvent, o: Obj): void {
    const m = o.metadata as { name?: string; namespace?: string } | undefined;
    if (!m?.name) return;
    const key = `${m.namespace ?? ''}/${m.name}`;
    if (type === 'DELETED') this.store.delete(key);
    else this.store.set(key, o);
    this.onObserved?.(type, o);
  }

  private emit(o: Obj): void {
    const k = this.keyOf(o);
    if (k !== undefined) this.onKey(k);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}
