// The interface the server drives consensus through, shaped after etcd-io/raft's RawNode. The server
// loop is:
//   while hasReady(): rd = ready();
//     send rd.messages[0 .. rd.earlyMessages)            (may go out before or during the write)
//     persist rd.snapshot, rd.hardState, rd.entries      (WAL, one fsync when rd.mustSync)
//     send rd.messages[rd.earlyMessages ..]              (only after the write is durable)
//     apply rd.snapshot (if any), then rd.committedEntries in order; advance()
// A one-member log implements it (single-node.ts); the replicated Raft core (raw-node.ts) implements the
// same interface, so the server does not change.
import type { Message, ReadState, Snapshot, SoftState } from './messages.js';
import type { Entry, HardState } from './types.js';

export interface Ready {
  /** leader and role, when they changed since the last Ready; undefined when unchanged */
  readonly softState: SoftState | undefined;
  /** to persist before anything below takes effect; undefined when unchanged */
  readonly hardState: HardState | undefined;
  /** new log entries to append to stable storage before messages are sent. An entry at an index already
   *  in the WAL replaces it and every entry after it */
  readonly entries: readonly Entry[];
  /** a snapshot from the leader: persist it (it replaces the whole log before `entries`), restore the
   *  state machine from it, then apply `committedEntries` */
  readonly snapshot: Snapshot | undefined;
  /** entries known committed, in index order; safe to apply once `entries` are persisted */
  readonly committedEntries: readonly Entry[];
  /** messages to send to peers. The first `earlyMessages` of them may be sent before (in parallel with)
   *  this Ready's write; the rest only once it is durable (a follower must never acknowledge, nor a
   *  candidate ask for votes, before its log and vote are on disk). Sending all of them after the write is
   *  always correct */
  readonly messages: readonly Message[];
  readonly earlyMessages: number;
  /** answers to readIndex() calls: serve each read once the applied index reaches its `index` */
  readonly readStates: readonly ReadState[];
  /** the write must be fsynced (entries, term or vote changed, or a snapshot); a commit-only change need not */
  readonly mustSync: boolean;
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
