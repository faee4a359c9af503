// Linearizable reads by batched ReadIndex (etcd's linearizableReadNotify): every read that arrives while
// a ReadIndex round is out waits for the next round, so one round (one heartbeat quorum on the leader)
// serves any number of reads. A round asks Raft for the leader's commit index; its reads go ahead once
// this member has applied up to that index. A round that gets no answer is asked again every 500 ms
// (the request may have been lost with a leader change); after the request timeout its reads fail with
// `etcdserver: request timed out`.
import type { ReadState } from '../raft/messages.js';
import { Errors } from './errors.js';

const RETRY_MS = 500;

interface Reader {
  resolve(): void;
  reject(err: Error): void;
}

interface Round {
  readonly readers: Reader[];
  readonly ctxs: Set<string>;
  readonly deadline: number;
  retry: NodeJS.Timeout | undefined;
}

export interface ReadHost {
  /** asks Raft for a read index; the answer comes back as a ReadState carrying `ctx` */
  readIndex(ctx: Uint8Array): void;
  readonly appliedIndex: number;
}

export class ReadBarrier {
  private next: Reader[] = [];
  private round: Round | undefined;
  /** rounds answered, waiting for the apply loop to reach their index (Invariant: sorted by index) */
  private waiting: Array<{ index: number; readers: Reader[] }> = [];
  private seq = 0n;
  private scheduled = false;

  constructor(
    private readonly host: ReadHost,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves once a read started now would see every write acknowledged before it. */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.next.push({ resolve, reject });
      this.schedule();
    });
  }

  /** A ReadState from a Ready. */
  onReadState(rs: ReadState): void {
    const r = this.round;
    if (!r || !r.ctxs.has(Buffer.from(rs.requestCtx).toString('hex'))) return;
    clearTimeout(r.retry);
    this.round = undefined;
    if (rs.index <= this.host.appliedIndex) {
      for (const x of r.readers) x.resolve();
    } else {
      const at = this.waiting.findIndex((w) => w.index > rs.index);
      const item = { index: rs.index, readers: r.readers };
      if (at < 0) this.waiting.push(item);
      else this.waiting.splice(at, 0, item);
    }
    this.schedule();
  }

  /** The apply loop reached `applied`. */
  onApplied(applied: number): void {
    while (this.waiting.length > 0 && this.waiting[0]!.index <= applied) {
      for (const x of this.waiting.shift()!.readers) x.resolve();
    }
  }

  failAll(err: Error): void {
    const all = [...this.next, ...(this.round?.readers ?? []), ...this.waiting.flatMap((w) => w.readers)];
    if (this.round) clearTimeout(this.round.retry);
    this.next = [];
    this.round = undefined;
    this.waiting = [];
    for (const x of all) x.reject(err);
  }

  private schedule(): void {
    if (this.scheduled || this.round !== undefined || this.next.length === 0) return;
    this.scheduled = true;
    // one turn later: every read that arrives in this I/O phase joins the round
    setImmediate(() => {
      this.scheduled = false;
      if (this.round !== undefined || this.next.length === 0) return;
      const round: Round = { readers: this.next, ctxs: new Set(), deadline: Date.now() + this.timeoutMs, retry: undefined };
      this.next = [];
      this.round = round;
      this.ask(round);
    });
  }

  private ask(round: Round): void {
    if (this.round !== round) return;
    if (Date.now() >= round.deadline) {
      this.round = undefined;
      for (const x of round.readers) x.reject(Errors.Timeout);
      this.schedule();
      return;
    }
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(++this.seq);
    round.ctxs.add(ctx.toString('hex'));
    round.retry = setTimeout(() => this.ask(round), RETRY_MS);
    try {
      this.host.readIndex(ctx);
    } catch {
      // no leader known yet: asked again at the retry, until the timeout
    }
  }
}
