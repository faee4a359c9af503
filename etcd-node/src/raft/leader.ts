// The leader's side of Raft: proposals, replication with flow control, commit by counting (current-term
// entries only), snapshots for followers that fell behind a compaction, heartbeats and CheckQuorum,
// ReadIndex, leader transfer, and reacting to membership changes. Functions over a Raft in the leader role.
import { MessageType, StateRole, type Message } from './messages.js';
import { ProgressState, type Progress } from './progress.js';
import type { Raft } from './raft.js';
import { decodeRound, encodeRound, type ReadRequest } from './read-only.js';
import { CompactedError, SnapshotTemporarilyUnavailableError } from './storage.js';
import { EntryType, type Entry } from './types.js';

/** appends entries of the current term to the leader's log (they are acknowledged for the leader itself
 *  only once persisted: see onPersisted) */
export function appendEntries(r: Raft, ents: readonly Entry[]): void {
  let index = r.log.lastIndex();
  const stamped = ents.map((e) => ({ term: r.term, index: ++index, type: e.type, data: e.data }));
  r.log.append(stamped);
}

/** commits the highest index a quorum of voters has durably matched, if it is of the current term */
export function maybeCommit(r: Raft): boolean {
  return r.log.maybeCommit(r.tracker.committedIndex(), r.term, r.knobs.commitOldTermEntries === true);
}

/** the leader's own write of entries up to its stable last index finished */
export function onPersisted(r: Raft): void {
  if (r.role !== StateRole.Leader) return;
  const self = r.tracker.progress.get(r.id);
  if (self === undefined) return;
  if (self.maybeUpdate(r.log.stableLastIndex()) && maybeCommit(r)) afterCommit(r);
}

function afterCommit(r: Raft): void {
  releasePendingReadIndex(r);
  bcastAppend(r);
}

function committedEntryInCurrentTerm(r: Raft): boolean {
  return r.log.termOrZero(r.log.committed) === r.term;
}

// ---- sending ----

/** sends entries from pr.next (or an empty MsgApp to carry the commit index when sendIfEmpty); falls back
 *  to a snapshot when the entries are compacted. False when nothing was sent */
export function maybeSendAppend(r: Raft, to: bigint, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined || to === r.id || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  if (prevTerm === undefined) return maybeSendSnapshot(r, to, pr);
  let ents: Entry[];
  try {
    ents = r.log.entriesFrom(pr.next, r.maxSizePerMsg);
  } catch (err) {
    if (err instanceof CompactedError) return maybeSendSnapshot(r, to, pr);
    throw err;
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({ type: MessageType.MsgApp, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.log.committed });
  pr.sentEntries(ents.length, ents.at(-1)?.index ?? prevIndex);
  return true;
}

function maybeSendSnapshot(r: Raft, to: bigint, pr: Progress): boolean {
  // A member not heard from lately may be down; do not ship it a whole state machine now.
  if (!pr.recentActive) return false;
  let snap;
  try {
    snap = r.log.snapshot();
  } catch (err) {
    if (err instanceof SnapshotTemporarilyUnavailableError) return false;
    throw err;
  }
  if (snap.meta.index === 0) throw new Error('raft: entries are compacted but there is no snapshot to send');
  pr.becomeSnapshot(snap.meta.index);
  r.send({ type: MessageType.MsgSnap, to, snapshot: snap });
  return true;
}

export function sendAppend(r: Raft, to: bigint): void {
  maybeSendAppend(r, to, true);
}

export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.progress.keys()) if (id !== r.id) maybeSendAppend(r, id, true);
}

function bcastHeartbeat(r: Raft): void {
  const round = r.readOnly.lastSentRound;
  const context = round > 0 ? encodeRound(round) : new Uint8Array(0);
  for (const [id, pr] of r.tracker.progress) {
    if (id === r.id) continue;
    // Never tell a follower an index is committed before it holds that entry.
    r.send({ type: MessageType.MsgHeartbeat, to: id, commit: Math.min(pr.match, r.log.committed), context });
  }
}

// ---- ReadIndex ----

function answerRead(r: Raft, req: { index: number; from: bigint; ctx: Uint8Array }): void {
  if (req.from === r.id || req.from === 0n) r.readStates.push({ index: req.index, requestCtx: req.ctx });
  else r.send({ type: MessageType.MsgReadIndexResp, to: req.from, index: req.index, context: req.ctx });
}

function handleReadIndex(r: Raft, m: Message): void {
  // Our commit index is only known to be the cluster's once an entry of our term is committed.
  if (!committedEntryInCurrentTerm(r)) {
    r.pendingReadIndex.push(m);
    return;
  }
  if ((r.tracker.isSingleton() && r.tracker.voters.has(r.id)) || r.knobs.readWithoutQuorum === true) {
    answerRead(r, { index: r.log.committed, from: m.from, ctx: m.context });
    return;
  }
  r.readOnly.add(r.log.committed, m.from, m.context);
}

function releasePendingReadIndex(r: Raft): void {
  if (r.pendingReadIndex.length === 0 || !committedEntryInCurrentTerm(r)) return;
  const waiting = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const m of waiting) handleReadIndex(r, m);
}

/** sends the heartbeat round for the reads queued since the last one (RawNode calls it once per Ready) */
export function flushReadRound(r: Raft): void {
  if (r.role !== StateRole.Leader || !r.readOnly.hasUnsentRound()) return;
  r.readOnly.startRound();
  bcastHeartbeat(r);
  releaseReads(r);
}

function releaseReads(r: Raft): void {
  const last = r.readOnly.lastSentRound;
  if (last === 0) return;
  const confirmed = r.tracker.quorumValue((id) => (id === r.id ? last : r.readOnly.ackedRound(id)));
  const done: ReadRequest[] = r.readOnly.release(confirmed);
  for (const req of done) answerRead(r, req);
}

// ---- the leader's step ----

/** the leader's handling of `m`; returns why a proposal was dropped */
export function stepLeader(r: Raft, m: Message): string | undefined {
  switch (m.type) {
    case MessageType.MsgBeat:
      bcastHeartbeat(r);
      return;
    case MessageType.MsgCheckQuorum:
      if (!r.tracker.quorumActive(r.id)) {
        r.becomeFollower(r.term, 0n);
        return;
      }
      for (const [id, pr] of r.tracker.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.MsgProp:
      return handleProposal(r, m);
    case MessageType.MsgReadIndex:
      handleReadIndex(r, m);
      return;
    default:
      break;
  }
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case MessageType.MsgAppResp:
      handleAppendResponse(r, m, pr);
      return;
    case MessageType.MsgHeartbeatResp:
      pr.recentActive = true;
      pr.heartbeatAcked();
      // Acknowledgements may have been lost: make room so replication cannot stall on a full window.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirst();
      if (pr.match < r.log.lastIndex()) sendAppend(r, m.from);
      {
        const round = decodeRound(m.context);
        if (round > 0) {
          r.readOnly.recvAck(m.from, round);
          releaseReads(r);
        }
      }
      return;
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for the follower's answer (or a heartbeat's) before probing.
      pr.probeSent = true;
      return;
    case MessageType.MsgUnreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.MsgTransferLeader:
      handleTransferLeader(r, m.from, pr);
      return;
    default:
      return;
  }
}

function handleProposal(r: Raft, m: Message): string | undefined {
  if (m.entries.length === 0) throw new Error('raft: empty proposal');
  if (!r.tracker.progress.has(r.id)) return 'raft: this member is not in the configuration';
  if (r.leadTransferee !== 0n) return 'raft: leadership transfer in progress';
  const local = m.from === r.id;
  const ents: Entry[] = [];
  let pendingConf = r.pendingConfIndex;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (e.type === EntryType.ConfChange) {
      // One change at a time, and not before an entry of this term is committed and applied.
      if (pendingConf > r.log.applied) {
        if (local) return 'raft: a configuration change is still pending; propose it again once it is applied';
        ents.push({ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) });
        continue;
      }
      pendingConf = r.log.lastIndex() + i + 1;
    }
    ents.push(e);
  }
  r.pendingConfIndex = pendingConf;
  appendEntries(r, ents);
  bcastAppend(r);
  return undefined;
}

function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.reject) {
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe))) return;
  switch (pr.state) {
    case ProgressState.Probe:
      pr.becomeReplicate();
      break;
    case ProgressState.Snapshot:
      if (pr.match + 1 >= r.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
      break;
    case ProgressState.Replicate:
      pr.inflights.freeLE(m.index);
      break;
  }
  if (maybeCommit(r)) afterCommit(r);
  else if (wasPaused) sendAppend(r, m.from);
  // Fill the window.
  while (maybeSendAppend(r, m.from, false)) {
    // keep sending
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) r.send({ type: MessageType.MsgTimeoutNow, to: m.from });
}

function handleTransferLeader(r: Raft, transferee: bigint, pr: Progress): void {
  if (pr.isLearner) return;
  if (r.leadTransferee !== 0n) {
    if (r.leadTransferee === transferee) return;
    r.leadTransferee = 0n;
  }
  if (transferee === r.id) return;
  // The transfer has to finish within one election timeout.
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.log.lastIndex()) r.send({ type: MessageType.MsgTimeoutNow, to: transferee });
  else sendAppend(r, transferee);
}

// ---- membership ----

/** after the configuration changed (the server applied a conf change entry) */
export function afterConfigChange(r: Raft): void {
  if (r.role !== StateRole.Leader) return;
  const self = r.tracker.progress.get(r.id);
  if (self === undefined || self.isLearner) {
    // This leader was removed. Hand over to the most caught-up voter so the cluster need not wait for an
    // election timeout, then step down.
    let best: bigint | undefined;
    for (const id of r.tracker.voters) {
      const pr = r.tracker.progress.get(id);
      if (pr !== undefined && pr.match === r.log.lastIndex()) best = best === undefined || id < best ? id : best;
    }
    if (best !== undefined) r.send({ type: MessageType.MsgTimeoutNow, to: best });
    r.becomeFollower(r.term, 0n);
    return;
  }
  if (r.leadTransferee !== 0n && !r.tracker.voters.has(r.leadTransferee)) r.leadTransferee = 0n;
  // A smaller quorum may commit more; new members are probed at once.
  if (maybeCommit(r)) afterCommit(r);
  else bcastAppend(r);
  releaseReads(r);
}
