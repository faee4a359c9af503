// The event tail: one watch over the whole key space from the chain's end + 1, buffered by revision and
// handed to the agent every `deltaPeriodMs` (or as soon as `deltaMaxBytes` are buffered) as one batch of
// whole revisions. A watch that breaks, or that stops answering progress requests, is opened again on
// another member from the next revision not yet received, so nothing is missed and nothing comes twice;
// a batch the agent could not write is kept and offered again. Revisions arrive whole (etcd never splits
// one across watch responses unless asked to fragment), and in order, none missing: anything else
// restarts the watch from the last revision written.
import { BackupRevision } from '../../../etcd-node/src/gen/etcdtspb/backup.js';
import type { Event } from '../../../etcd-node/src/gen/mvccpb/kv.js';
import type { WatchResponse } from '../../../etcd-node/src/gen/etcdserverpb/rpc.js';
import type { Logger } from '../runtime/log.js';
import type { EtcdSource, TailWatch } from './etcd-source.js';

export interface TailBatch {
  from: number;
  to: number;
  revisions: BackupRevision[];
  bytes: number;
}

export interface TailSink {
  /** Writes the batch as the chain's next object; a rejection keeps the batch for the next try. */
  flush(batch: TailBatch): Promise<void>;
  /** The revision the tail needed was compacted: revisions from `from` to `compactRevision - 1` are gone. */
  compacted(from: number, compactRevision: number): void;
  /** The watch failed or stalled (it is being opened again). */
  trouble(err: Error): void;
  /** The watch works again after trouble. */
  healthy(): void;
}

export interface TailOptions {
  deltaPeriodMs: number;
  deltaMaxBytes: number;
  /** a watch that delivered nothing and answered no progress request for this long is opened elsewhere */
  stallMs?: number;
  /** buffered bytes past which the tail stops buffering until a batch is written (the store is down) */
  maxBufferBytes?: number;
  now?: () => number;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

export class Tail {
  private watch: TailWatch | undefined;
  private buffer: BackupRevision[] = [];
  private bufferBytes = 0;
  /** Invariant: every revision in (chainEnd, next) is in `buffer`, in order. */
  private next = 0;
  private chainEnd = 0;
  private headRevision = 0;
  private flushing: Promise<void> | undefined;
  private flushFailures = 0;
  private skipTicks = 0;
  private timer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private lastActivity = 0;
  private avoid: string | undefined;
  private running = false;
  private troubled = false;
  private readonly now: () => number;
  private readonly stallMs: number;
  private readonly maxBufferBytes: number;

  constructor(
    private readonly source: EtcdSource,
    private readonly opts: TailOptions,
    private readonly sink: TailSink,
    private readonly log: Logger,
  ) {
    this.now = opts.now ?? Date.now;
    this.stallMs = opts.stallMs ?? Math.max(30_000, 3 * opts.deltaPeriodMs);
    this.maxBufferBytes = opts.maxBufferBytes ?? Math.max(256 * 1024 * 1024, 4 * opts.deltaMaxBytes);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** The last revision written to the store by this tail (or given to start). */
  get end(): number {
    return this.chainEnd;
  }

  /** The member the watch is on, if any. */
  get endpoint(): string | undefined {
    return this.watch?.endpoint;
  }

  /** How far behind the cluster the store is: revisions not yet written, and the age of the oldest. */
  lag(): { revisions: number; seconds: number } {
    const oldest = this.buffer[0];
    return {
      revisions: Math.max(0, this.headRevision - this.chainEnd),
      seconds: oldest ? Math.max(0, (this.now() - Number(oldest.timeMs)) / 1000) : 0,
    };
  }

  /** Starts watching from `chainEnd + 1`. */
  start(chainEnd: number): void {
    if (this.running) throw new Error('tail: already running');
    this.running = true;
    this.chainEnd = chainEnd;
    this.next = chainEnd + 1;
    this.headRevision = Math.max(this.headRevision, chainEnd);
    this.buffer = [];
    this.bufferBytes = 0;
    this.lastActivity = this.now();
    this.timer = setInterval(() => this.tick(), this.opts.deltaPeriodMs);
    this.connect();
  }

  /** Stops watching; with `flush`, first writes what is buffered (one try). */
  async stop(flush: boolean): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    this.watch?.close();
    this.watch = undefined;
    if (this.flushing) await this.flushing;
    if (flush && this.buffer.length > 0) await this.flush().catch(() => undefined);
    this.buffer = [];
    this.bufferBytes = 0;
  }

  private connect(): void {
    if (!this.running || this.watch) return;
    this.source.readOrder().then(
      (order) => {
        if (!this.running || this.watch) return;
        const ep = order.find((e) => e !== this.avoid) ?? order[0]!;
        this.log.debug('tail: watching', { endpoint: ep, 'from-revision': this.next });
        const from = this.next;
        this.watch = this.source.watch(ep, from, {
          onEvents: (r) => this.onEvents(r),
          onProgress: (rev) => {
            this.lastActivity = this.now();
            this.markHealthy();
            this.headRevision = Math.max(this.headRevision, rev);
            this.reconnectDelay = RECONNECT_MIN_MS;
          },
          onCompacted: (compactRev) => {
            this.watch = undefined;
            this.log.warn('tail: its start revision was compacted', { from, 'compact-revision': compactRev });
            void this.stop(false).then(() => this.sink.compacted(from, compactRev));
          },
          onEnd: (err) => this.onEnd(ep, err),
        });
      },
      (err: unknown) => this.onEnd(undefined, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private onEnd(endpoint: string | undefined, err: Error | undefined): void {
    if (this.watch && this.watch.endpoint === endpoint) this.watch = undefined;
    if (!this.running) return;
    this.avoid = endpoint;
    this.troubled = true;
    this.sink.trouble(err ?? new Error(`watch on ${endpoint ?? 'etcd'} ended`));
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectDelay);
    this.reconnectDelay = Math.min(RECONNECT_MAX_MS, this.reconnectDelay * 2);
  }

  private onEvents(r: WatchResponse): void {
    const time = this.now();
    this.lastActivity = time;
    this.markHealthy();
    this.reconnectDelay = RECONNECT_MIN_MS;
    if (r.header) this.headRevision = Math.max(this.headRevision, Number(r.header.revision));
    let group: Event[] = [];
    let rev = 0;
    const take = (): boolean => {
      if (group.length === 0) return true;
      if (rev < this.next) return true; // already have it (a watch re-opened a little early)
      if (rev !== this.next) {
        this.restartAfterGap(rev);
        return false;
      }
      const br = BackupRevision.fromPartial({ revision: BigInt(rev), timeMs: BigInt(time), events: group });
      this.buffer.push(br);
      this.bufferBytes += group.reduce((n, e) => n + 48 + (e.kv?.key.length ?? 0) + (e.kv?.value.length ?? 0), 0);
      this.next = rev + 1;
      return true;
    };
    for (const e of r.events) {
      const m = Number(e.kv?.modRevision ?? 0n);
      if (m !== rev) {
        if (!take()) return;
        group = [];
        rev = m;
      }
      group.push(e);
    }
    if (!take()) return;
    if (this.bufferBytes >= this.maxBufferBytes) {
      // the store has not taken a batch for a while: stop holding events; they are read again from etcd
      this.log.warn('tail: buffer full while the store fails; dropping it to read again later', { bytes: this.bufferBytes });
      this.buffer = [];
      this.bufferBytes = 0;
      this.next = this.chainEnd + 1;
      this.watch?.close();
      this.watch = undefined;
      this.scheduleReconnect();
      return;
    }
    if (this.bufferBytes >= this.opts.deltaMaxBytes && !this.flushing && this.flushFailures === 0) void this.flush().catch(() => undefined);
  }

  private markHealthy(): void {
    if (!this.troubled) return;
    this.troubled = false;
    this.sink.healthy();
  }

  private restartAfterGap(got: number): void {
    this.sink.trouble(new Error(`watch on ${this.watch?.endpoint ?? 'etcd'} delivered revision ${got} where ${this.next} was next`));
    this.watch?.close();
    this.watch = undefined;
    this.scheduleReconnect();
  }

  private tick(): void {
    if (!this.running) return;
    const w = this.watch;
    if (w) {
      if (this.now() - this.lastActivity > this.stallMs) {
        this.log.warn('tail: the watch answers nothing; opening it on another member', { endpoint: w.endpoint });
        w.close();
        this.onEnd(w.endpoint, new Error(`watch on ${w.endpoint} stalled: no event and no progress answer for ${Math.round(this.stallMs / 1000)} s`));
      } else w.requestProgress();
    }
    if (this.skipTicks > 0) {
      this.skipTicks--;
      return;
    }
    if (this.buffer.length > 0 && !this.flushing) void this.flush().catch(() => undefined);
  }

  /** Hands everything buffered to the sink as one batch; on failure keeps it for the next try. */
  private flush(): Promise<void> {
    const revisions = this.buffer;
    const bytes = this.bufferBytes;
    if (revisions.length === 0) return Promise.resolve();
    this.buffer = [];
    this.bufferBytes = 0;
    const batch: TailBatch = { from: Number(revisions[0]!.revision), to: Number(revisions[revisions.length - 1]!.revision), revisions, bytes };
    const p = this.sink.flush(batch).then(
      () => {
        this.chainEnd = batch.to;
        this.flushFailures = 0;
        // the buffer was dropped while this batch was out (see onEvents): do not take its revisions again
        if (this.next <= batch.to) this.next = batch.to + 1;
        if (this.buffer.length > 0 && Number(this.buffer[0]!.revision) <= batch.to) {
          this.buffer = this.buffer.filter((r) => Number(r.revision) > batch.to);
          this.bufferBytes = this.buffer.length === 0 ? 0 : this.bufferBytes;
        }
      },
      (err: unknown) => {
        // keep the batch in front of what arrived meanwhile (unless the buffer was dropped meanwhile, and
        // its revisions are being read again); back off (1, 2, 4 … 16 periods)
        if (this.next > batch.to) {
          this.buffer = [...revisions, ...this.buffer];
          this.bufferBytes += bytes;
        }
        this.flushFailures++;
        this.skipTicks = Math.min(16, 2 ** (this.flushFailures - 1)) - 1;
        throw err;
      },
    );
    this.flushing = p.finally(() => {
      this.flushing = undefined;
    }).catch(() => undefined);
    return p;
  }
}
