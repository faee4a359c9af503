// The stable part of the Raft log as the core reads it. The server owns durability: it writes each Ready
// to the WAL and only then copies it into a MemoryStorage (applySnapshot, setHardState, append), so what
// the core reads here is always on disk. On restart the server rebuilds the MemoryStorage from the WAL
// and the latest snapshot file before it constructs the RawNode.
import { emptySnapshot, entrySize, type Snapshot } from './messages.js';
import { emptyHardState, type ConfState, type Entry, type HardState } from './types.js';

/** the requested index is at or below the last compaction; the leader sends a snapshot instead */
export class CompactedError extends Error {
  readonly code = 'RAFT_COMPACTED';
}

/** the requested index is past the last entry */
export class UnavailableError extends Error {
  readonly code = 'RAFT_UNAVAILABLE';
}

/** applySnapshot/createSnapshot with an index not newer than the current snapshot */
export class SnapshotOutOfDateError extends Error {
  readonly code = 'RAFT_SNAPSHOT_OUT_OF_DATE';
}

/** the snapshot is being prepared; the core retries on a later heartbeat */
export class SnapshotTemporarilyUnavailableError extends Error {
  readonly code = 'RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE';
}

export interface InitialState {
  readonly hardState: HardState;
  /** the configuration as of the snapshot (conf changes after it are in the log and re-applied) */
  readonly confState: ConfState;
}

export interface Storage {
  initialState(): InitialState;
  /** entries [lo, hi): at least one when lo < hi, then as many as fit in maxSize bytes (entrySize). Throws
   *  CompactedError when lo < firstIndex(), UnavailableError when hi > lastIndex() + 1 */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** term of entry `index`, for firstIndex() − 1 (the snapshot's term) ≤ index ≤ lastIndex() */
  term(index: number): number;
  /** index of the first entry still held (snapshot index + 1 after a compaction) */
  firstIndex(): number;
  lastIndex(): number;
  /** the latest snapshot; may throw SnapshotTemporarilyUnavailableError */
  snapshot(): Snapshot;
}

/** An in-memory Storage. Compaction and snapshot creation are the server's calls, made after it applied. */
export class MemoryStorage implements Storage {
  private hardState: HardState = emptyHardState;
  private snap: Snapshot = emptySnapshot;
  // Invariant: `entries` hold indexes dummyIndex+1 … dummyIndex+entries.length, contiguous, with
  // non-decreasing terms; dummyIndex ≤ snap.meta.index ≤ dummyIndex + entries.length (compaction never
  // passes the snapshot, so the snapshot plus the entries always cover the whole log).
  private dummyIndex = 0;
  private dummyTerm = 0;
  private ents: Entry[] = [];

  /** test convenience: a log that starts from `confState` at index 0 without a snapshot */
  static withConfState(confState: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    s.snap = { meta: { index: 0, term: 0, confState }, data: emptySnapshot.data };
    return s;
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.meta.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  firstIndex(): number {
    return this.dummyIndex + 1;
  }

  lastIndex(): number {
    return this.dummyIndex + this.ents.length;
  }

  term(index: number): number {
    if (index < this.dummyIndex) throw new CompactedError(`raft: index ${index} is compacted (first index ${this.firstIndex()})`);
    if (index > this.lastIndex()) throw new UnavailableError(`raft: index ${index} is past the last index ${this.lastIndex()}`);
    if (index === this.dummyIndex) return this.dummyTerm;
    return this.ents[index - this.dummyIndex - 1]!.term;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(`raft: index ${lo} is compacted (first index ${this.firstIndex()})`);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(`raft: entries up to ${hi - 1} requested, last index is ${this.lastIndex()}`);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.dummyIndex - 1]!;
      size += entrySize(e);
      if (out.length > 0 && size > maxSize) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** replaces the whole log with a snapshot received from the leader (after it is durable) */
  applySnapshot(s: Snapshot): void {
    if (s.meta.index <= this.snap.meta.index && this.snap.meta.index > 0) {
      throw new SnapshotOutOfDateError(`raft: snapshot ${s.meta.index} is not newer than ${this.snap.meta.index}`);
    }
    this.snap = s;
    this.dummyIndex = s.meta.index;
    this.dummyTerm = s.meta.term;
    this.ents = [];
  }

  /** records a snapshot of the state machine at `index`, which must be applied already (so ≤ lastIndex);
   *  `confState` is the configuration as of `index` (the last applyConfChange result at or before it) */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapshotOutOfDateError(`raft: snapshot ${index} is not newer than ${this.snap.meta.index}`);
    if (index > this.lastIndex()) throw new UnavailableError(`raft: snapshot index ${index} is past the last index ${this.lastIndex()}`);
    this.snap = { meta: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** drops entries up to and including `index`, which must not pass the latest snapshot (nor, so, the
   *  applied index) */
  compact(index: number): void {
    if (index <= this.dummyIndex) return;
    if (index > this.snap.meta.index) throw new Error(`raft: cannot compact to ${index} past the snapshot at ${this.snap.meta.index}`);
    const term = this.term(index);
    this.ents = this.ents.slice(index - this.dummyIndex);
    this.dummyIndex = index;
    this.dummyTerm = term;
  }

  /** appends entries that are durable; an entry at an index already held replaces it and all after it */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    let es = entries;
    if (es.at(-1)!.index < first) return;
    if (es[0]!.index < first) es = es.slice(first - es[0]!.index);
    const at = es[0]!.index - first;
    if (at > this.ents.length) throw new Error(`raft: append at ${es[0]!.index} leaves a gap after ${this.lastIndex()}`);
    this.ents.length = at;
    for (const e of es) this.ents.push(e);
  }
}
