// An informer in the sense of client-go, reduced to what a level-triggered controller needs: list a
// collection, hand every object's key to the queue, watch from the list's resourceVersion and hand the
// key of every change; relist when the server says the version is too old (410); re-watch after a
// dropped stream with backoff (200 ms doubling to 10 s). No cache: reconciles read the API directly.
import type { Kube, Obj } from './kube.js';
import type { Logger } from './log.js';

export class Informer {
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;

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
        for (const o of list.items) this.emit(o);
        let rv = list.metadata.resourceVersion;
        for (;;) {
          const why = await this.kube.watch(
            this.path,
            rv,
            (type, o) => {
              const v = (o.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
              if (v) rv = v;
              if (type !== 'BOOKMARK') this.emit(o);
            },
            this.abort.signal,
          );
          backoff = 200;
          if (why === 'aborted') return;
          if (why === 'gone') break; // relist
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.log.warn('watch failed; retrying', { path: this.path, error: err instanceof Error ? err.message : String(err), 'retry-ms': backoff });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
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
