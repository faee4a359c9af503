// The consensus layer's own types. Indexes and terms are plain numbers (safe to 2^53, which no log
// reaches); member ids are uint64 and so bigint. The WAL converts these to and from etcdtspb records.

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** the proposal; empty for the no-op entry a new leader appends */
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  /** the member voted for in `term`, 0n for none */
  readonly vote: bigint;
  /** highest index known committed; never decreases */
  readonly commit: number;
}

export const emptyHardState: HardState = { term: 0, vote: 0n, commit: 0 };

export interface ConfState {
  readonly voters: readonly bigint[];
  readonly learners: readonly bigint[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}
