// The configuration (voters and learners) and, on the leader, a Progress per member; votes during an
// election; the quorum arithmetic. Learners get a Progress (they receive the log) but never count in a
// quorum: not for votes, not for commit, not for CheckQuorum, not for ReadIndex.
import { sortIds } from './confchange.js';
import { Progress } from './progress.js';
import type { ConfState } from './types.js';

export enum VoteResult {
  Pending = 0,
  Won = 1,
  Lost = 2,
}

export class ProgressTracker {
  // Invariant: voters ∩ learners = ∅; progress has exactly one entry per member of voters ∪ learners,
  // and progress.get(id).isLearner ⇔ learners.has(id).
  voters = new Set<bigint>();
  learners = new Set<bigint>();
  readonly progress = new Map<bigint, Progress>();
  /** votes received in the current election, by voter */
  readonly votes = new Map<bigint, boolean>();

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    return { voters: sortIds(this.voters), learners: sortIds(this.learners) };
  }

  /** switches to `cs`, keeping the Progress of members that stay and creating one (next = nextIndex) for new ones */
  setConfig(cs: ConfState, nextIndex: number): void {
    this.voters = new Set(cs.voters);
    this.learners = new Set(cs.learners);
    for (const id of [...this.progress.keys()]) {
      if (!this.voters.has(id) && !this.learners.has(id)) this.progress.delete(id);
    }
    for (const id of [...this.voters, ...this.learners]) {
      const isLearner = this.learners.has(id);
      const pr = this.progress.get(id);
      if (pr !== undefined) {
        pr.isLearner = isLearner;
      } else {
        const fresh = new Progress(nextIndex, this.maxInflight, isLearner);
        // A new member counts as active so that adding it cannot make CheckQuorum fail at once.
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      }
    }
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  /** the largest index acknowledged by a quorum of voters (0 with no voters) */
  committedIndex(): number {
    if (this.voters.size === 0) return 0;
    const matches: number[] = [];
    for (const id of this.voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    return matches[this.quorum() - 1]!;
  }

  /** a quorum of voters was heard from recently (`self` always counts) */
  quorumActive(self: bigint): boolean {
    let active = 0;
    for (const id of this.voters) if (id === self || this.progress.get(id)?.recentActive === true) active++;
    return active >= this.quorum();
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** records the first answer of each member; answers from non-voters are kept but never counted */
  recordVote(id: bigint, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tally(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    const q = this.quorum();
    let result = VoteResult.Pending;
    if (this.voters.size > 0 && granted >= q) result = VoteResult.Won;
    else if (this.voters.size - rejected < q) result = VoteResult.Lost;
    return { granted, rejected, result };
  }

  /** the q-th largest of `values` over the voters (0 missing): the value a quorum has reached */
  quorumValue(values: (id: bigint) => number): number {
    if (this.voters.size === 0) return 0;
    const vs: number[] = [];
    for (const id of this.voters) vs.push(values(id));
    vs.sort((a, b) => b - a);
    return vs[this.quorum() - 1]!;
  }
}
