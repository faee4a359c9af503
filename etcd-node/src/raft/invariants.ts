// Local invariants of one Raft member, as written next to the fields they constrain. checkRaft returns a
// description of each one that does not hold (empty when all do). Tests call it after every step; the
// cluster-wide properties (election safety, log matching, leader completeness, state machine safety) are
// checked by the simulator, which sees every member.
import { StateRole } from './messages.js';
import type { Raft } from './raft.js';

export function checkRaft(r: Raft): string[] {
  const p: string[] = [];
  const log = r.log;
  const first = log.firstIndex();
  const last = log.lastIndex();
  const un = log.unstable;
  if (!(first - 1 <= log.committed && log.committed <= last)) p.push(`committed ${log.committed} outside [${first - 1}, ${last}]`);
  if (log.applied > log.committed) p.push(`applied ${log.applied} > committed ${log.committed}`);
  if (log.applied < first - 1 && log.unstable.snapshot === undefined) p.push(`applied ${log.applied} below the first index ${first}`);
  if (un.snapshot !== undefined && un.offset !== un.snapshot.meta.index + 1) p.push(`unstable offset ${un.offset} does not follow its snapshot ${un.snapshot.meta.index}`);
  un.entries.forEach((e, i) => {
    if (e.index !== un.offset + i) p.push(`unstable entry ${i} has index ${e.index}, expected ${un.offset + i}`);
  });
  // Terms never decrease along the log and never exceed the current term. Every entry enters the log
  // through `unstable`, so checking there (and against the entry before it) after every step covers all.
  let prevTerm = log.termOrZero(un.offset - 1);
  for (const e of un.entries) {
    if (e.term < prevTerm) p.push(`entry ${e.index} has term ${e.term} below the previous entry's ${prevTerm}`);
    prevTerm = e.term;
  }
  if (log.lastTerm() > r.term) p.push(`last entry has term ${log.lastTerm()} above the current term ${r.term}`);
  if (r.randomizedElectionTimeout < r.electionTimeout || r.randomizedElectionTimeout >= 2 * r.electionTimeout) {
    p.push(`randomized election timeout ${r.randomizedElectionTimeout} outside [${r.electionTimeout}, ${2 * r.electionTimeout})`);
  }
  for (const id of r.tracker.voters) if (r.tracker.learners.has(id)) p.push(`member ${id} is both voter and learner`);
  if (r.tracker.progress.size !== r.tracker.voters.size + r.tracker.learners.size) p.push('progress does not match the configuration');
  for (const [id, pr] of r.tracker.progress) {
    if (pr.isLearner !== r.tracker.learners.has(id)) p.push(`progress of ${id} disagrees on being a learner`);
  }
  switch (r.role) {
    case StateRole.Leader: {
      if (r.lead !== r.id) p.push(`leader with lead ${r.lead}`);
      if (r.vote !== r.id) p.push(`leader of term ${r.term} voted for ${r.vote}`);
      const self = r.tracker.progress.get(r.id);
      if (self !== undefined && self.match > log.stableLastIndex()) p.push(`leader's own match ${self.match} past its durable index ${log.stableLastIndex()}`);
      for (const [id, pr] of r.tracker.progress) {
        if (id === r.id) continue;
        const v = pr.violation(last);
        if (v !== undefined) p.push(`progress of ${id}: ${v}`);
      }
      if (r.pendingConfIndex > last) p.push(`pendingConfIndex ${r.pendingConfIndex} past the last index ${last}`);
      if (r.leadTransferee !== 0n && !r.tracker.voters.has(r.leadTransferee)) p.push(`transferee ${r.leadTransferee} is not a voter`);
      if (r.leadTransferee === r.id) p.push('transferring leadership to itself');
      break;
    }
    case StateRole.Candidate:
      if (r.vote !== r.id) p.push(`candidate voted for ${r.vote}`);
      if (r.lead !== 0n) p.push(`candidate with lead ${r.lead}`);
      break;
    case StateRole.PreCandidate:
      if (r.lead !== 0n) p.push(`pre-candidate with lead ${r.lead}`);
      break;
    case StateRole.Follower:
      if (r.lead === r.id) p.push('follower names itself leader');
      break;
  }
  if (r.role !== StateRole.Leader) {
    if (r.readOnly.pending.length > 0 || r.pendingReadIndex.length > 0) p.push('read requests queued on a non-leader');
    if (r.leadTransferee !== 0n) p.push('leadership transfer on a non-leader');
  }
  return p;
}
