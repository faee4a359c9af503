// The interface the server drives consensus through, shaped after etcd-io/raft's RawNode. The server
// loop is: while hasReady(): rd = ready(); persist rd.hardState and rd.entries (WAL, one fsync); send
// rd.messages; apply rd.committedEntries in order; advance(). A one-member log implements it today
// (single-node.ts); the replicated Raft core implements the same interface, so the server does not change.
import type { Entry, HardState } from './types.js';

export interface Ready {
  /** to persist before anything below takes effect; undefined when unchanged */
  readonly hardState: HardState | undefined;
  /** new log entries to append to stable storage before messages are sent */
  readonly entries: readonly Entry[];
  /** entries known committed, in index order; safe to apply once `entries` are persisted */
  readonly committedEntries: readonly Entry[];
}

export class ProposalDroppedError extends Error {
  readonly code = 'PROPOSAL_DROPPED';
}

export interface ConsensusNode {
  /** this member's id */
  readonly id: bigint;
  /** current leader, 0n when unknown */
  readonly leader: bigint;
  readonly term: number;
  /** highest index known committed */
  readonly commitIndex: number;
  /** appends a proposal to the log; throws ProposalDroppedError when this member cannot accept it */
  propose(data: Uint8Array): void;
  /** advances logical time by one heartbeat interval */
  tick(): void;
  hasReady(): boolean;
  ready(): Ready;
  /** acknowledges that the last Ready was persisted and applied */
  advance(): void;
}
