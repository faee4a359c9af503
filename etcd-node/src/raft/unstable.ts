// The part of the log not yet known durable: an incoming snapshot and/or entries after it (or after the
// stable entries in Storage). They leave here when the server acknowledges a Ready with advance().
import type { Snapshot } from './messages.js';
import type { Entry } from './types.js';

export class Unstable {
  /** a snapshot received from the leader and not yet persisted */
  snapshot: Snapshot | undefined;
  // Invariant: entries[i].index === offset + i; when a snapshot is held, offset === snapshot.meta.index + 1.
  // Entries below `offset` are in Storage (durable); the logical log is Storage[.. offset-1] + entries.
  entries: Entry[] = [];
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** the first index, when a snapshot is held */
  maybeFirstIndex(): number | undefined {
    return this.snapshot !== undefined ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    return this.entries[i - this.offset]?.term;
  }

  /** entries up to (i, t) are durable; ignored when the entry at i was since replaced */
  stableTo(i: number, t: number): void {
    if (i < this.offset || this.maybeTerm(i) !== t) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  /** appends `ents` (contiguous), replacing any entries at or after ents[0].index */
  truncateAndAppend(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable (and shadows the stable entries from `after` on).
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** entries [lo, hi), which must lie within offset … last */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
