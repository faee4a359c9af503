// RawNode: the replicated Raft core behind the ConsensusNode interface, shaped after etcd-io/raft's
// RawNode. Synchronous and deterministic: the server feeds it ticks, peer messages and proposals, and
// drains Readys (see node.ts for the loop). The rules a server must follow:
//
// Persisting. For each Ready, in one WAL write (fsync when rd.mustSync): rd.snapshot (if any; it replaces
//   the log up to its index), rd.hardState (if any), rd.entries (an entry at an index already written
//   replaces that entry and all after it). Then copy the same into the MemoryStorage the node reads
//   (storage.applySnapshot, setHardState, append), in that order, before advance().
// Sending. rd.messages[0 .. rd.earlyMessages) may be sent before or during that write (a leader's
//   appends and heartbeats when its term and vote are already on disk); the rest only after the write is
//   durable. Sending everything after the write is always correct. Report transport failures with
//   reportUnreachable(id), and the outcome of every MsgSnap with reportSnapshot(id, ok): a follower stays
//   in the snapshot state until it is reported.
// Applying. After the write: restore the state machine from rd.snapshot if there is one, then apply
//   rd.committedEntries in order. A ConfChange entry is applied by decoding its data (decodeConfChange)
//   and calling applyConfChange(cc); keep the returned ConfState for the next snapshot. An empty Normal
//   entry is the new leader's no-op (or a refused conf change): skip it. Then call advance(). The server
//   may call step/tick/propose while a Ready is being written; it must not call ready() again before
//   advance().
// Reads. readIndex(ctx) → a later Ready carries ReadState { index, requestCtx: ctx }: serve the read once
//   the applied index reaches `index`. Requests lost with a leader change are never answered (time out).
// Snapshots. Whenever the server likes (etcd: every --snapshot-count applied entries): take a snapshot of
//   the applied state at index i, storage.createSnapshot(i, confState, data), write it to disk, then
//   storage.compact(j) for some j ≤ i (keep some entries so slow followers can catch up without a
//   snapshot) and release the WAL before j.
// Restart. Rebuild a MemoryStorage from disk: applySnapshot(latest snapshot), setHardState(last hard
//   state), append(WAL entries after the snapshot); restore the state machine from the snapshot; construct
//   the RawNode with the same id and storage (peers are ignored once the storage is not empty). The node
//   hands out again the committed entries after the snapshot: re-apply conf changes among them with
//   applyConfChange even when the backend already holds them (normal entries at or below the backend's
//   consistent index may be skipped).
// Bootstrap. A new cluster: every initial member starts with an empty storage and the same `peers` (and
//   `learners`); the node writes identical AddNode/AddLearnerNode entries at index 1… (term 1, committed).
//   A member joining a running cluster (added as a learner first) starts empty with no peers and learns
//   everything from the leader. A one-voter cluster elects itself on the first election timeout (or at
//   once with campaign()).
import { encodeConfChange, ConfChangeType, sortIds, type ConfChange } from './confchange.js';
import { checkRaft } from './invariants.js';
import * as leader from './leader.js';
import { isLocalMessage, isResponseMessage, MessageType, newMessage, StateRole, type Message, type SoftState } from './messages.js';
import { ProposalDroppedError, type ConsensusNode, type Ready } from './node.js';
import type { ProgressState } from './progress.js';
import { Raft, type TestingKnobs } from './raft.js';
import type { Storage } from './storage.js';
import { EntryType, type ConfState, type Entry, type HardState } from './types.js';

export interface RawNodeOptions {
  readonly id: bigint;
  /** voters of a new cluster. Used only when `storage` is empty (no entries, no snapshot, no hard state):
   *  the node then writes one AddNode entry per peer (and AddLearnerNode per learner) at term 1, committed,
   *  identical on every bootstrapping member. A member joining an existing cluster passes none */
  readonly peers?: readonly bigint[];
  readonly learners?: readonly bigint[];
  readonly storage: Storage;
  /** default 10 */
  readonly electionTick?: number;
  /** default 1 */
  readonly heartbeatTick?: number;
  /** bytes of entries per MsgApp (at least one entry is always sent); default 1 MiB */
  readonly maxSizePerMsg?: number;
  /** unacknowledged MsgApps per follower in the replicate state; default 256 */
  readonly maxInflightMsgs?: number;
  /** default true */
  readonly preVote?: boolean;
  /** default true */
  readonly checkQuorum?: boolean;
  /** uniform in [0, 1), seeded: the only randomness (election timeouts) */
  readonly random: () => number;
  /** last applied index on restart; entries up to it are not handed out again. Leave it unset unless the
   *  server also restores the configuration as of that index (conf changes after the snapshot are
   *  re-delivered in committedEntries and must be re-applied with applyConfChange) */
  readonly applied?: number;
  /** breaks Raft on purpose, for tests of the tests */
  readonly testingKnobs?: TestingKnobs;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly pendingSnapshot: number;
  readonly paused: boolean;
  readonly inflight: number;
}

export interface Status {
  readonly id: bigint;
  readonly term: number;
  readonly vote: bigint;
  readonly commit: number;
  readonly applied: number;
  /** the last index in this member's log (a learner is caught up when its match reaches the leader's) */
  readonly lastIndex: number;
  readonly lead: bigint;
  readonly role: StateRole;
  readonly leadTransferee: bigint;
  readonly config: ConfState;
  /** the leader's view of every member (empty on other roles) */
  readonly progress: ReadonlyMap<bigint, ProgressStatus>;
}

interface InFlight {
  lastEntry: { index: number; term: number } | undefined;
  snapshotIndex: number;
  appliedTo: number;
}

/** messages that carry no vote, no acknowledgement and no claim about our own log: a leader's replication
 *  traffic. They may leave before the leader's own write when its term and vote are already durable */
function isLeaderTraffic(m: Message): boolean {
  return m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap || m.type === MessageType.MsgTimeoutNow;
}

export class RawNode implements ConsensusNode {
  /** the state machine; exposed for tests and the simulator, not for the server */
  readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private inFlight: InFlight | undefined;

  constructor(opts: RawNodeOptions) {
    const storage = opts.storage;
    this.raft = new Raft({
      id: opts.id,
      storage,
      electionTick: opts.electionTick ?? 10,
      heartbeatTick: opts.heartbeatTick ?? 1,
      applied: opts.applied ?? 0,
      maxSizePerMsg: opts.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: opts.maxInflightMsgs ?? 256,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
      random: opts.random,
      knobs: opts.testingKnobs ?? {},
    });
    const init = storage.initialState();
    this.prevHard = init.hardState;
    const empty =
      storage.lastIndex() === 0 &&
      storage.firstIndex() === 1 &&
      init.hardState.term === 0 &&
      init.confState.voters.length === 0 &&
      init.confState.learners.length === 0;
    if (empty && (opts.peers?.length ?? 0) > 0) this.bootstrap(opts.peers ?? [], opts.learners ?? []);
    this.prevSoft = this.raft.softState();
  }

  private bootstrap(peers: readonly bigint[], learners: readonly bigint[]): void {
    const changes: ConfChange[] = [
      ...sortIds(new Set(peers)).map((nodeId) => ({ type: ConfChangeType.AddNode, nodeId, context: new Uint8Array(0) })),
      ...sortIds(new Set(learners)).map((nodeId) => ({ type: ConfChangeType.AddLearnerNode, nodeId, context: new Uint8Array(0) })),
    ];
    const r = this.raft;
    r.becomeFollower(1, 0n);
    const ents: Entry[] = changes.map((cc, i) => ({ term: 1, index: i + 1, type: EntryType.ConfChange, data: encodeConfChange(cc) }));
    r.log.append(ents);
    r.log.commitTo(ents.length);
    for (const cc of changes) r.applyConfChange(cc);
  }

  get id(): bigint {
    return this.raft.id;
  }

  get leader(): bigint {
    return this.raft.lead;
  }

  get term(): number {
    return this.raft.term;
  }

  get commitIndex(): number {
    return this.raft.log.committed;
  }

  get role(): StateRole {
    return this.raft.role;
  }

  tick(): void {
    this.raft.tick();
  }

  /** starts an election now (as if the election timeout had passed) */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup, from: this.raft.id }));
  }

  /** a message from a peer. Local message types are refused; responses from non-members and proposals the
   *  leader cannot take are dropped silently (the proposer learns by timeout, as with any lost message) */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new Error(`raft: cannot step local message ${MessageType[m.type]}`);
    if (isResponseMessage(m.type) && !this.raft.tracker.progress.has(m.from) && this.raft.role === StateRole.Leader) return;
    this.raft.step(m);
  }

  private stepLocal(m: Message): void {
    const dropped = this.raft.step(m);
    if (dropped !== undefined) throw new ProposalDroppedError(dropped);
  }

  /** throws ProposalDroppedError when there is no leader, a transfer is in progress, or this member was removed */
  propose(data: Uint8Array): void {
    this.stepLocal(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }));
  }

  /** proposes a membership change. On the leader, throws ProposalDroppedError while another change is
   *  pending (proposed but not applied) or before the leader applied an entry of its own term; a change
   *  forwarded from a follower in that situation becomes an empty entry instead */
  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.stepLocal(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }] }));
  }

  /** asks for a linearizable read point; the answer arrives as a ReadState with the same ctx in a later
   *  Ready. Throws ProposalDroppedError when no leader is known. A request lost with a leader change is
   *  never answered: the server retries after a timeout */
  readIndex(ctx: Uint8Array): void {
    this.stepLocal(newMessage({ type: MessageType.MsgReadIndex, from: this.raft.id, context: ctx }));
  }

  /** asks the leader (directly, or through this follower) to hand leadership to `to` */
  transferLeader(to: bigint): void {
    this.raft.step(newMessage({ type: MessageType.MsgTransferLeader, from: to }));
  }

  /** the server applied a ConfChange entry: switch the configuration. Returns the new configuration (to
   *  store with the next snapshot) */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** the transport failed to reach `id` (the leader stops streaming to it and probes) */
  reportUnreachable(id: bigint): void {
    this.raft.step(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** the transport finished sending a snapshot to `id` (ok) or gave up (!ok) */
  reportSnapshot(id: bigint, ok: boolean): void {
    this.raft.step(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  hasReady(): boolean {
    if (this.inFlight !== undefined) return false;
    const r = this.raft;
    const soft = r.softState();
    if (soft.lead !== this.prevSoft.lead || soft.role !== this.prevSoft.role) return true;
    const hard = r.hardState();
    if (hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote || hard.commit !== this.prevHard.commit) return true;
    if (r.log.unstable.snapshot !== undefined || r.log.unstable.entries.length > 0) return true;
    if (r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.role === StateRole.Leader && r.readOnly.hasUnsentRound()) return true;
    return r.log.hasNextCommittedEntries();
  }

  ready(): Ready {
    if (this.inFlight !== undefined) throw new Error('raft: ready() called again before advance()');
    const r = this.raft;
    leader.flushReadRound(r);
    const soft = r.softState();
    const softChanged = soft.lead !== this.prevSoft.lead || soft.role !== this.prevSoft.role;
    const hard = r.hardState();
    const termVoteSame = hard.term === this.prevHard.term && hard.vote === this.prevHard.vote;
    const hardChanged = !termVoteSame || hard.commit !== this.prevHard.commit;
    const snapshot = r.log.unstable.snapshot;
    const entries = [...r.log.unstableEntries()];
    const committedEntries = r.log.nextCommittedEntries();
    const early: Message[] = [];
    const late: Message[] = [];
    const anyEarly = r.knobs.sendBeforePersist === true;
    for (const m of r.msgs) (anyEarly || (termVoteSame && isLeaderTraffic(m)) ? early : late).push(m);
    r.msgs = [];
    const readStates = r.readStates;
    r.readStates = [];
    this.prevSoft = soft;
    this.prevHard = hard;
    const lastEntry = entries.at(-1);
    this.inFlight = {
      lastEntry: lastEntry && { index: lastEntry.index, term: lastEntry.term },
      snapshotIndex: snapshot?.meta.index ?? 0,
      appliedTo: committedEntries.at(-1)?.index ?? 0,
    };
    return {
      softState: softChanged ? soft : undefined,
      hardState: hardChanged ? hard : undefined,
      entries,
      snapshot,
      committedEntries,
      messages: [...early, ...late],
      earlyMessages: early.length,
      readStates,
      mustSync: entries.length > 0 || !termVoteSame || snapshot !== undefined,
    };
  }

  advance(): void {
    const f = this.inFlight;
    if (f === undefined) throw new Error('raft: advance() without a Ready');
    this.inFlight = undefined;
    const log = this.raft.log;
    if (f.snapshotIndex > 0) {
      log.stableSnapTo(f.snapshotIndex);
      if (log.applied < f.snapshotIndex) log.appliedTo(f.snapshotIndex);
    }
    if (f.lastEntry !== undefined) {
      log.stableTo(f.lastEntry.index, f.lastEntry.term);
      leader.onPersisted(this.raft);
    }
    if (f.appliedTo > log.applied) log.appliedTo(f.appliedTo);
    this.raft.afterApplied();
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<bigint, ProgressStatus>();
    if (r.role === StateRole.Leader) {
      for (const [id, pr] of r.tracker.progress) {
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          pendingSnapshot: pr.pendingSnapshot,
          paused: pr.isPaused(),
          inflight: pr.inflights.count,
        });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      config: r.confState(),
      progress,
    };
  }

  /** throws an Error naming every local invariant that does not hold (see the comments on the fields) */
  checkInvariants(): void {
    const problems = checkRaft(this.raft);
    if (problems.length > 0) throw new Error(`raft ${this.raft.id}: invariant violated: ${problems.join('; ')}`);
  }
}
