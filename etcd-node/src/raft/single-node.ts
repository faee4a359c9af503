// A one-member log: the degenerate Raft cluster of size one. The member is always leader; an entry is
// committed as soon as it is durable on this member's WAL, so Ready returns each batch both as entries to
// persist and as committed entries (the server persists before it applies, which keeps that safe — the
// same rule etcd-io/raft gives a single voter).
import { ProposalDroppedError, type ConsensusNode, type Ready } from './node.js';
import { EntryType, type Entry, type HardState } from './types.js';

export interface SingleNodeState {
  /** persisted hard state from the WAL (term 0 for a new log) */
  readonly hardState: HardState;
  /** index of the last entry in the WAL (0 for a new log) */
  readonly lastIndex: number;
}

export class SingleNode implements ConsensusNode {
  // Invariant: every index in `unstable` is lastIndex-unstable.length+1 … lastIndex, contiguous.
  private unstable: Entry[] = [];
  // Invariant: term only grows; it is bumped once per start, as an election would.
  private termValue: number;
  private lastIndex: number;
  // Invariant: commit ≤ lastIndex; commit covers only entries handed out in a Ready.
  private commit: number;
  private hardStateDirty = true;
  private inFlight = false;

  constructor(
    readonly id: bigint,
    state: SingleNodeState,
  ) {
    // Starting is winning an election: a new term, and a no-op entry of that term (so everything before
    // it is committed in the current term, as Raft requires before a leader serves reads).
    this.termValue = Math.max(state.hardState.term, 1) + 1;
    this.lastIndex = state.lastIndex;
    this.commit = state.hardState.commit;
    this.append(new Uint8Array(0));
  }

  get leader(): bigint {
    return this.id;
  }

  get term(): number {
    return this.termValue;
  }

  get commitIndex(): number {
    return this.commit;
  }

  propose(data: Uint8Array): void {
    if (data.length === 0) throw new ProposalDroppedError('empty proposals are reserved for the leader no-op');
    this.append(data);
  }

  tick(): void {
    // A single member has no one to hear from; nothing happens on time.
  }

  hasReady(): boolean {
    return !this.inFlight && (this.unstable.length > 0 || this.hardStateDirty);
  }

  ready(): Ready {
    if (this.inFlight) throw new Error('raft: ready() called before advance()');
    const entries = this.unstable;
    this.unstable = [];
    if (entries.length > 0) this.commit = this.lastIndex;
    this.inFlight = true;
    const hardState = { term: this.termValue, vote: this.id, commit: this.commit };
    this.hardStateDirty = false;
    return {
      softState: undefined,
      hardState,
      entries,
      snapshot: undefined,
      committedEntries: entries,
      messages: [],
      earlyMessages: 0,
      readStates: [],
      mustSync: true,
    };
  }

  advance(): void {
    this.inFlight = false;
  }

  private append(data: Uint8Array): void {
    this.lastIndex += 1;
    this.unstable.push({ term: this.termValue, index: this.lastIndex, type: EntryType.Normal, data });
    this.hardStateDirty = true;
  }
}
