// The Raft role state machine (follower, pre-candidate, candidate, leader): terms, elections with PreVote
// and CheckQuorum, and the follower side of replication. The leader side (replication, commit, ReadIndex,
// leader transfer, membership) is in leader.ts. Pure and synchronous: everything it wants to send is
// queued in `msgs`, time arrives as tick(), randomness from the injected generator.
import { changeConfig, type ConfChange } from './confchange.js';
import { RaftLog } from './log.js';
import {
  campaignTransferContext,
  emptyConfState,
  isCampaignTransfer,
  MessageType,
  newMessage,
  StateRole,
  voteResponseType,
  type Message,
  type ReadState,
  type Snapshot,
  type SoftState,
} from './messages.js';
import { ReadOnly } from './read-only.js';
import type { Storage } from './storage.js';
import { ProgressTracker, VoteResult } from './tracker.js';
import { EntryType, type ConfState, type Entry, type HardState } from './types.js';
import { Progress } from './progress.js';
import * as leader from './leader.js';

/** switches that break Raft on purpose, so tests can show the invariant checks catch it. Never set them. */
export interface TestingKnobs {
  /** commit by counting replicas of an entry from an earlier term (the Raft paper's Figure 8 bug) */
  readonly commitOldTermEntries?: boolean;
  /** grant every vote request with an up-to-date log, even after voting for someone else in the term */
  readonly grantEveryVote?: boolean;
  /** let every message leave before the Ready is persisted (a follower acknowledges entries it may lose) */
  readonly sendBeforePersist?: boolean;
  /** answer ReadIndex at once, without the heartbeat round that confirms leadership */
  readonly readWithoutQuorum?: boolean;
}

export interface RaftConfig {
  readonly id: bigint;
  readonly storage: Storage;
  /** ticks without hearing from a leader before campaigning (randomized to [electionTick, 2·electionTick)) */
  readonly electionTick: number;
  readonly heartbeatTick: number;
  /** last index applied by the server; entries up to it are not handed out again */
  readonly applied: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** uniform in [0, 1): the only source of randomness */
  readonly random: () => number;
  readonly knobs: TestingKnobs;
}

const noEntries: readonly Entry[] = [];
const noBytes = new Uint8Array(0);

type CampaignKind = 'pre-election' | 'election' | 'transfer';

export class Raft {
  readonly id: bigint;
  // Invariant: term never decreases; a change of term resets vote to 0 (persisted before any message of
  // the new term leaves: RawNode marks such messages as sent only after the write).
  term = 0;
  // Invariant (election safety, per member): at most one vote per term: vote changes only from 0, or when
  // the term changes.
  vote = 0n;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  role = StateRole.Follower;
  // Invariant: lead === id ⇔ role === Leader; lead is 0 in the (pre)candidate roles.
  lead = 0n;
  // Invariant: non-zero only on a leader, and then a voter other than this member.
  leadTransferee = 0n;
  // Invariant (leader): a conf change is accepted only when pendingConfIndex ≤ applied; it starts at the
  // index of the leader's first (empty) entry, so the first change waits for an entry of this term.
  pendingConfIndex = 0;
  // Invariant: empty unless leader.
  readOnly = new ReadOnly();
  /** a MsgTimeoutNow came while a committed conf change was not yet applied: campaign once it is (the
   *  leader asked in this term; any change of term forgets it) */
  transferPending = false;
  /** ReadIndex requests that arrived before the leader committed an entry of its term */
  pendingReadIndex: Message[] = [];
  readStates: ReadState[] = [];
  msgs: Message[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  // Invariant: electionTimeout ≤ randomizedElectionTimeout < 2·electionTimeout.
  randomizedElectionTimeout = 0;
  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly maxSizePerMsg: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly knobs: TestingKnobs;
  private readonly random: () => number;

  constructor(cfg: RaftConfig) {
    if (cfg.id === 0n) throw new Error('raft: id must not be 0');
    if (!(cfg.heartbeatTick > 0 && cfg.electionTick > cfg.heartbeatTick)) throw new Error('raft: electionTick must be greater than heartbeatTick > 0');
    this.id = cfg.id;
    this.electionTimeout = cfg.electionTick;
    this.heartbeatTimeout = cfg.heartbeatTick;
    this.maxSizePerMsg = cfg.maxSizePerMsg;
    this.preVote = cfg.preVote;
    this.checkQuorum = cfg.checkQuorum;
    this.random = cfg.random;
    this.knobs = cfg.knobs;
    const { hardState, confState } = cfg.storage.initialState();
    this.log = new RaftLog(cfg.storage, 0);
    this.tracker = new ProgressTracker(cfg.maxInflightMsgs);
    this.tracker.setConfig(confState, this.log.lastIndex() + 1);
    if (hardState.commit > this.log.lastIndex()) {
      throw new Error(`raft: stored commit ${hardState.commit} is past the last stored index ${this.log.lastIndex()}`);
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    // A snapshot is committed whatever the stored commit says.
    this.log.committed = Math.max(hardState.commit, this.log.committed);
    if (cfg.applied > this.log.applied) this.log.appliedTo(cfg.applied);
    this.becomeFollower(this.term, 0n);
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** queues a message; `from` defaults to this member, `term` to the current term (0 for forwarded requests) */
  send(m: Partial<Message> & Pick<Message, 'type' | 'to'>): void {
    const forwarded = m.type === MessageType.MsgProp || m.type === MessageType.MsgReadIndex;
    this.msgs.push({
      type: m.type,
      from: m.from ?? this.id,
      to: m.to,
      term: m.term ?? (forwarded ? 0 : this.term),
      logTerm: m.logTerm ?? 0,
      index: m.index ?? 0,
      entries: m.entries ?? noEntries,
      commit: m.commit ?? 0,
      reject: m.reject ?? false,
      rejectHint: m.rejectHint ?? 0,
      snapshot: m.snapshot,
      context: m.context ?? noBytes,
    });
  }

  // ---- roles ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = 0n;
    }
    this.lead = 0n;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = 0n;
    this.tracker.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.tracker.progress) {
      const fresh = new Progress(last + 1, this.tracker.maxInflight, pr.isLearner);
      if (id === this.id) fresh.match = this.log.stableLastIndex();
      this.tracker.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.transferPending = false;
    this.readOnly = new ReadOnly();
    this.pendingReadIndex = [];
  }

  becomeFollower(term: number, lead: bigint): void {
    this.reset(term);
    this.lead = lead;
    this.role = StateRole.Follower;
  }

  private becomePreCandidate(): void {
    if (this.role === StateRole.Leader) throw new Error('raft: leader cannot become pre-candidate');
    // Neither term nor vote change: a pre-election that fails leaves no trace.
    this.role = StateRole.PreCandidate;
    this.tracker.resetVotes();
    this.lead = 0n;
  }

  private becomeCandidate(): void {
    if (this.role === StateRole.Leader) throw new Error('raft: leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = StateRole.Candidate;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = StateRole.Leader;
    const self = this.tracker.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.next = this.log.lastIndex() + 1;
      self.recentActive = true;
    }
    // The empty entry of this term: committing it commits everything before (Raft §5.4.2), and until it
    // is applied no conf change is accepted (the single-server change rule of the dissertation's errata).
    leader.appendEntries(this, [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    this.pendingConfIndex = this.log.lastIndex();
    leader.bcastAppend(this);
  }

  /** this member may campaign: it is a voter and not waiting to restore a snapshot */
  promotable(): boolean {
    return this.tracker.voters.has(this.id) && this.log.unstable.snapshot === undefined;
  }

  // ---- time ----

  tick(): void {
    if (this.role === StateRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === StateRole.Leader && this.leadTransferee !== 0n) this.leadTransferee = 0n;
    }
    if (this.role !== StateRole.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  // ---- elections ----

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    return this.log.slice(this.log.applied + 1, this.log.committed + 1, Infinity).some((e) => e.type === EntryType.ConfChange);
  }

  private hup(transfer: boolean): void {
    if (this.role === StateRole.Leader) return;
    if (!this.promotable()) return;
    // A member that has not applied a committed conf change does not know its configuration yet.
    if (this.hasUnappliedConfChanges()) {
      if (transfer) this.transferPending = true;
      return;
    }
    this.campaign(transfer ? 'transfer' : this.preVote ? 'pre-election' : 'election');
  }

  /** the server applied more entries (RawNode.advance): a transfer that waited for them may go ahead */
  afterApplied(): void {
    if (!this.transferPending || this.role !== StateRole.Follower || this.hasUnappliedConfChanges()) return;
    this.transferPending = false;
    this.hup(true);
  }

  private campaign(kind: CampaignKind): void {
    let term: number;
    let voteType: MessageType;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      voteType = MessageType.MsgPreVote;
      // A pre-vote asks about the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.MsgVote;
      term = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tally().result === VoteResult.Won) {
      // A single voter wins at once.
      if (kind === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const context = kind === 'transfer' ? campaignTransferContext : new Uint8Array(0);
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send({ type: voteType, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), context });
    }
  }

  private handleVoteRequest(m: Message): void {
    const respType = voteResponseType(m.type);
    // We may vote for m.from if we already did in this term, or have voted for no one and know no leader;
    // a pre-vote is about a future term, so it is granted on the log alone.
    const canVote =
      this.vote === m.from ||
      (this.vote === 0n && this.lead === 0n) ||
      (m.type === MessageType.MsgPreVote && m.term > this.term) ||
      (this.knobs.grantEveryVote === true && this.role === StateRole.Follower);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // The answer to a pre-vote carries the future term, so the pre-candidate can tell it is current.
      this.send({ type: respType, to: m.from, term: m.term });
      if (m.type === MessageType.MsgVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, to: m.from, term: this.term, reject: true });
    }
  }

  // ---- step ----

  /** processes one message; returns why a proposal, read or transfer was dropped (undefined: taken) */
  step(m: Message): string | undefined {
    if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        // Leader lease (CheckQuorum): while we heard from a leader within the election timeout, a
        // candidate is not allowed to disrupt it, unless the leader itself asked for the election.
        const inLease = this.checkQuorum && this.lead !== 0n && this.electionElapsed < this.electionTimeout;
        if (inLease && !isCampaignTransfer(m.context)) return;
      }
      if (m.type === MessageType.MsgPreVote) {
        // never move to a term because of a pre-vote
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // a granted pre-vote carries the term we will campaign in; the term moves when we do
      } else if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0n);
      }
    } else if (m.term < this.term && m.term !== 0) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A leader cut off by a partition learns of the newer term from our answer and steps down (with
        // PreVote or CheckQuorum our term moves only when a real election happened).
        this.send({ type: MessageType.MsgAppResp, to: m.from });
      } else if (m.type === MessageType.MsgPreVote) {
        this.send({ type: MessageType.MsgPreVoteResp, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(false);
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case StateRole.Leader:
        return leader.stepLeader(this, m);
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        return this.stepCandidate(m);
      case StateRole.Follower:
        return this.stepFollower(m);
    }
  }

  private stepCandidate(m: Message): string | undefined {
    const myVoteResp = this.role === StateRole.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        return 'raft: no leader (election in progress)';
      case MessageType.MsgReadIndex:
        return 'raft: no leader to serve a read index (election in progress)';
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        this.tracker.recordVote(m.from, !m.reject);
        const { result } = this.tracker.tally();
        if (result === VoteResult.Won) {
          if (this.role === StateRole.PreCandidate) this.campaign('election');
          else this.becomeLeader();
        } else if (result === VoteResult.Lost) {
          // A term learned from a rejection was adopted in step(); otherwise stay in ours.
          this.becomeFollower(this.term, 0n);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): string | undefined {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === 0n) return 'raft: no leader';
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.MsgReadIndex:
        if (this.lead === 0n) return 'raft: no leader to serve a read index';
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.MsgTransferLeader:
        if (this.lead === 0n) return 'raft: no leader to transfer leadership from';
        this.send({ type: MessageType.MsgTransferLeader, from: m.from, to: this.lead });
        return;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.MsgTimeoutNow:
        // The leader hands over: campaign at once, skipping the pre-vote and the leases.
        this.hup(true);
        return;
      case MessageType.MsgReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return;
      default:
        return;
    }
  }

  // ---- follower side of replication ----

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: lastNew });
      return;
    }
    // No entry (m.index, m.logTerm) here: tell the leader where our log could match, skipping every entry
    // of a term newer than m.logTerm (they cannot match), so it probes back a term at a time.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: MessageType.MsgAppResp, to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send({ type: MessageType.MsgHeartbeatResp, to: m.from, context: m.context });
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s === undefined) return;
    if (this.restore(s)) this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.log.lastIndex() });
    else this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.log.committed });
  }

  /** installs a snapshot from the leader; false when it brings nothing new */
  private restore(s: Snapshot): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.role !== StateRole.Follower) {
      // Only a leader sends snapshots, and hearing from one made us a follower.
      this.becomeFollower(this.term + 1, 0n);
      return false;
    }
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // We hold that entry: the snapshot only tells us it is committed.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.tracker.setConfig(s.meta.confState, this.log.lastIndex() + 1);
    return true;
  }

  // ---- membership ----

  applyConfChange(cc: ConfChange): ConfState {
    const cs = changeConfig(this.tracker.confState(), cc);
    this.tracker.setConfig(cs, this.log.lastIndex() + 1);
    leader.afterConfigChange(this);
    return cs;
  }

  confState(): ConfState {
    return this.tracker.voters.size + this.tracker.learners.size === 0 ? emptyConfState : this.tracker.confState();
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.min(this.electionTimeout - 1, Math.floor(this.random() * this.electionTimeout));
  }
}
