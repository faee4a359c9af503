// The Raft log as the core sees it: Storage (durable) followed by Unstable (not yet durable), plus the
// commit and apply marks.
import { entrySize, type Snapshot } from './messages.js';
import { CompactedError, type Storage } from './storage.js';
import { Unstable } from './unstable.js';
import type { Entry } from './types.js';

/** the index of the storage's latest snapshot (0 when it is being prepared) */
function snapshotIndex(storage: Storage): number {
  try {
    return storage.snapshot().meta.index;
  } catch {
    return 0;
  }
}

export class RaftLog {
  readonly unstable: Unstable;
  // Invariant: firstIndex() − 1 ≤ committed ≤ lastIndex(); committed never decreases (a committed entry
  // is never removed or replaced: maybeAppend refuses a conflict at or below it).
  committed: number;
  // Invariant: applied ≤ committed; applied ≥ firstIndex() − 1 unless a snapshot is pending in `unstable`
  // (the server has not restored it yet). Entries ≤ applied are never handed out again.
  applied: number;

  constructor(
    readonly storage: Storage,
    applied: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // The server restores its state machine from the latest snapshot on restart, so entries up to the
    // snapshot are applied even when the storage still holds some of them.
    this.committed = Math.max(first - 1, snapshotIndex(storage));
    this.applied = Math.max(this.committed, applied);
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** the last index known durable on this member (entries after it are only in memory) */
  stableLastIndex(): number {
    if (this.unstable.snapshot !== undefined) return this.unstable.snapshot.meta.index - 1;
    return Math.min(this.lastIndex(), this.unstable.offset - 1);
  }

  /** term of entry i, or undefined when i is compacted away or past the end */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof CompactedError) return undefined;
      throw err;
    }
  }

  termOrZero(i: number): number {
    return this.term(i) ?? 0;
  }

  lastTerm(): number {
    return this.termOrZero(this.lastIndex());
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** a candidate's log (last entry lasti/term) is at least as up to date as ours (Raft §5.4.1) */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /**
   * Appends the leader's entries after (index, logTerm) if our log holds that entry; returns the index of
   * the last new entry, or undefined when it does not match (the leader probes further back).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`raft: entry ${ci} conflicts with a committed entry (committed ${this.committed})`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) throw new Error(`raft: append after ${after} is below committed ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** index of the first entry that is new or differs in term from ours; 0 when all are already held */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with that term (0 when unknown): where a leader
   * with an entry of `term` at `index` should probe next (skips a whole conflicting term at once).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    if (c > this.lastIndex()) throw new Error(`raft: commit ${c} is past the last index ${this.lastIndex()}`);
    this.committed = c;
  }

  /** commits up to `maxIndex` if that entry is of `term` (the leader's current term: Raft §5.4.2) */
  maybeCommit(maxIndex: number, term: number, anyTerm = false): boolean {
    if (maxIndex > this.committed && (anyTerm || this.termOrZero(maxIndex) === term)) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    if (i > this.committed || i < this.applied) throw new Error(`raft: applied ${i} is outside [${this.applied}, ${this.committed}]`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  /** committed entries not yet applied; none while a received snapshot is pending */
  nextCommittedEntries(maxSize = Infinity): Entry[] {
    if (this.unstable.snapshot !== undefined) return [];
    if (this.committed <= this.applied) return [];
    return this.slice(this.applied + 1, this.committed + 1, maxSize);
  }

  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === undefined && this.committed > this.applied;
  }

  /** entries from `lo` to the end, up to maxSize bytes (at least one); throws CompactedError below firstIndex */
  entriesFrom(lo: number, maxSize: number): Entry[] {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxSize);
  }

  /** entries [lo, hi) within maxSize bytes (at least one); throws CompactedError when lo < firstIndex() */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(`raft: index ${lo} is compacted`);
    if (hi > this.lastIndex() + 1 || lo > hi) throw new Error(`raft: slice [${lo}, ${hi}) out of range [${this.firstIndex()}, ${this.lastIndex()}]`);
    if (lo === hi) return [];
    const off = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < off) {
      out = this.storage.entries(lo, Math.min(hi, off), maxSize);
      if (out.length < Math.min(hi, off) - lo) return out;
    }
    if (hi > off) {
      const un = this.unstable.slice(Math.max(lo, off), hi);
      if (out.length === 0 && maxSize === Infinity) return un;
      let size = 0;
      for (const e of out) size += entrySize(e);
      for (const e of un) {
        size += entrySize(e);
        if (out.length > 0 && size > maxSize) break;
        out.push(e);
      }
    }
    return out;
  }

  /** the snapshot to send a follower that needs compacted entries */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** replaces the log with a snapshot from the leader (Raft §7) */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  /** every entry held, for tests and invariant checks */
  allEntries(): Entry[] {
    return this.slice(this.firstIndex(), this.lastIndex() + 1, Infinity);
  }
}
