// The leader's view of one member's log, and the flow-control state machine around it:
//
//   Probe ──(append acknowledged)──▶ Replicate ──(rejection / unreachable)──▶ Probe
//     │                                   │
//     └──────(needed entries compacted: MsgSnap sent)──▶ Snapshot ──(snapshot applied or failed)──▶ Probe
//
// Probe: one MsgApp at a time, then wait for an answer (the follower's log end is unknown).
// Replicate: stream MsgApps optimistically, at most `inflights.capacity` unacknowledged.
// Snapshot: a snapshot is on its way; send nothing else until it is reported.
import { Inflights } from './inflights.js';

export enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

export class Progress {
  // Invariant: 0 ≤ match < next; match only grows while this member stays leader of the term (the
  // follower has durably acknowledged everything up to match); next ≤ leader's lastIndex + 1.
  match = 0;
  next: number;
  state = ProgressState.Probe;
  // Invariant: > 0 exactly in state Snapshot: the index of the snapshot sent.
  pendingSnapshot = 0;
  /** heard from since the last CheckQuorum round (a leader's own entry is always active) */
  recentActive = false;
  /** Probe: a MsgApp was sent and is not yet answered */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      // Whatever the snapshot was, the follower holds at least up to it once it is applied; probe from
      // there (or from match when that is higher).
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** the follower acknowledged up to n; false when that is old news */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * The follower rejected a MsgApp whose previous index was `rejected`, hinting that its log matches at
   * most up to `matchHint`. Returns false for a stale rejection (one already handled).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** a MsgApp carrying `count` entries, the last being `lastIndex`, was sent */
  sentEntries(count: number, lastIndex: number): void {
    switch (this.state) {
      case ProgressState.Replicate:
        if (count > 0) {
          this.next = lastIndex + 1;
          this.inflights.add(lastIndex);
        }
        break;
      case ProgressState.Probe:
        this.probeSent = true;
        break;
      case ProgressState.Snapshot:
        throw new Error('raft: sending entries to a member in snapshot state');
    }
  }

  /** the leader heard from this member (a heartbeat answer); a probe may be sent again */
  heartbeatAcked(): void {
    this.probeSent = false;
  }

  /** sending more MsgApps to this member has to wait */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  /** a description of what is wrong, or undefined; `lastIndex` is the leader's */
  violation(lastIndex: number): string | undefined {
    if (this.match < 0 || this.next <= this.match) return `next ${this.next} ≤ match ${this.match}`;
    if (this.match > lastIndex) return `match ${this.match} past the leader's last index ${lastIndex}`;
    if (this.next > lastIndex + 1 && this.state !== ProgressState.Snapshot) return `next ${this.next} past the leader's last index ${lastIndex} + 1`;
    if ((this.state === ProgressState.Snapshot) !== this.pendingSnapshot > 0) return `pendingSnapshot ${this.pendingSnapshot} in state ${ProgressState[this.state]}`;
    if (this.state !== ProgressState.Replicate && this.inflights.count > 0) return `inflights held in state ${ProgressState[this.state]}`;
    const held = this.inflights.indexes();
    if (held.some((i) => i <= this.match || i >= this.next)) return `inflight indexes ${held.join(',')} outside (match ${this.match}, next ${this.next})`;
    return undefined;
  }
}
