// ReadIndex on the leader (Raft dissertation §6.4): a read request records the commit index at arrival;
// the leader then confirms it is still leader by a heartbeat round that a quorum of voters answers, and
// only then answers with that index. Requests are batched: every request that arrives before the next
// round is sent joins that round (RawNode sends at most one round per Ready).
//
// Rounds are numbered 1, 2, 3 … and a heartbeat carries the number of the latest round sent. A member's
// answer to round r proves this leader was still leader after every request of rounds ≤ r arrived, so
// the leader keeps, per voter, the highest round it answered; round r is confirmed when a quorum (the
// leader included) has answered r or later.

export interface ReadRequest {
  /** the leader's commit index when the request arrived */
  readonly index: number;
  /** who asked: the leader itself or a follower that forwarded it */
  readonly from: bigint;
  readonly ctx: Uint8Array;
  readonly round: number;
}

export class ReadOnly {
  // Invariant: queued requests are in arrival order, so rounds and indexes are non-decreasing; every
  // queued round ≤ nextRound; lastSent = nextRound − 1.
  private queue: ReadRequest[] = [];
  private nextRound = 1;
  private readonly acked = new Map<bigint, number>();

  get pending(): readonly ReadRequest[] {
    return this.queue;
  }

  /** the round that heartbeats carry now (0: none sent yet) */
  get lastSentRound(): number {
    return this.nextRound - 1;
  }

  add(index: number, from: bigint, ctx: Uint8Array): void {
    this.queue.push({ index, from, ctx, round: this.nextRound });
  }

  /** some request waits for a round that has not been sent */
  hasUnsentRound(): boolean {
    return this.queue.at(-1)?.round === this.nextRound;
  }

  /** the number of the round to broadcast now */
  startRound(): number {
    return this.nextRound++;
  }

  recvAck(from: bigint, round: number): void {
    if (round > this.lastSentRound) return;
    if (round > (this.acked.get(from) ?? 0)) this.acked.set(from, round);
  }

  /** removes and returns the requests a quorum has confirmed; `confirmed` is the round a quorum reached */
  release(confirmed: number): ReadRequest[] {
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.round <= confirmed) n++;
    if (n === 0) return [];
    const done = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    return done;
  }

  ackedRound(id: bigint): number {
    return this.acked.get(id) ?? 0;
  }
}

export function encodeRound(round: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(round));
  return b;
}

/** the round in a heartbeat context, or 0 when it carries none */
export function decodeRound(ctx: Uint8Array): number {
  if (ctx.length !== 8) return 0;
  const v = new DataView(ctx.buffer, ctx.byteOffset, 8).getBigUint64(0);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(v);
}
