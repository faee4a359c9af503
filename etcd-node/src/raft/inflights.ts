// The leader's window of MsgApp messages sent to one follower and not yet acknowledged (flow control in
// the replicate state). Each slot holds the last index the message carried; an acknowledgement of index
// i frees every slot ≤ i. A full window pauses replication to that follower.
export class Inflights {
  // Invariant: 0 ≤ count ≤ capacity; the held indexes (ring buffer from `start`) strictly increase.
  private readonly buffer: number[];
  private start = 0;
  private countValue = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`raft: inflight window ${capacity} must be a positive integer`);
    this.buffer = new Array<number>(capacity).fill(0);
  }

  get count(): number {
    return this.countValue;
  }

  full(): boolean {
    return this.countValue === this.capacity;
  }

  /** records a message whose last entry is `index` (larger than every index held) */
  add(index: number): void {
    if (this.full()) throw new Error('raft: inflight window is full');
    const last = this.countValue > 0 ? this.buffer[(this.start + this.countValue - 1) % this.capacity]! : -1;
    if (index <= last) throw new Error(`raft: inflight index ${index} is not above ${last}`);
    this.buffer[(this.start + this.countValue) % this.capacity] = index;
    this.countValue++;
  }

  /** frees every message whose last index is ≤ `index` */
  freeLE(index: number): void {
    while (this.countValue > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.countValue--;
    }
    if (this.countValue === 0) this.start = 0;
  }

  /** frees the oldest message (its acknowledgement may have been lost) */
  freeFirst(): void {
    if (this.countValue === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.countValue--;
    if (this.countValue === 0) this.start = 0;
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
  }

  /** the held indexes, oldest first */
  indexes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.countValue; i++) out.push(this.buffer[(this.start + i) % this.capacity]!);
    return out;
  }
}
