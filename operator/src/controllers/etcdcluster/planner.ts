// The EtcdCluster planner: a pure function from what the controller observed to the one next step.
// Level-triggered: it never remembers what it did; every reconcile observes again and asks again, so a
// step that failed or an operator that restarted mid-way converges (a member added just before a crash
// is found as a learner beyond the StatefulSet's size and the StatefulSet is grown to it).
//
// Order of concerns: refuse to act on an invalid world (Degraded) → paused → the objects the cluster
// needs (Services, ConfigMap, StatefulSet bootstrapping every initial member together, PDB) → wait for a
// member to answer → finish any membership change in flight (a learner is grown into the StatefulSet,
// then promoted once its pod is ready) → remove members no ordinal explains → scale up (one learner at a
// time) → scale down (leadership moved off the member first, remove it, then shrink, then delete its
// claim) → grow claims to a larger storage.size → roll out a changed pod template (one member at a time,
// the leader last) → claims that cannot grow (Degraded) → settled.
//
// Roll-outs: the StatefulSet's update strategy is OnDelete, so a new template reaches a member only when
// its pod is deleted here. The template is applied first (the StatefulSet controller computes the new
// revision); a member whose pod is not Ready on the old template restarts at once (it serves nothing, and
// the new template may be its fix); then, with every member Ready, one follower after another, and the
// leader last after leadership moved to an updated member; each next one only when the members restarted
// so far report a revision within CAUGHT_UP_REVISIONS of the leader's. A pod that stays not Ready longer than
// spec.progressDeadlineSeconds after it started stops everything: Degraded, naming the member. A version
// change waits first for a full snapshot from each of the cluster's EtcdBackups (upgrade-backup.ts).
import type { EtcdClusterSpec } from '../../api/etcd-cluster.js';
import { names, ordinalOf, quorum, type ClusterRef } from '../../resources/names.js';
import { versionChangeRefusal } from './version-policy.js';
import { backupBeforeVersionChange, type ObservedBackup } from './upgrade-backup.js';
import { claimsThatCannotGrow, nextClaimToGrow, type ObservedClaim } from './claim-growth.js';
import { versionOfImage } from '../../resources/builders.js';

export interface ObservedMember {
  /** hex */
  readonly id: string;
  readonly name: string;
  readonly peerURL: string;
  readonly isLearner: boolean;
}

export interface ObservedPod {
  /** the pod runs the StatefulSet's update revision (the template applied last) */
  readonly updated: boolean;
  readonly ready: boolean;
  /** deleted, still stopping */
  readonly terminating: boolean;
  /** since the pod was created */
  readonly ageMs: number;
  /** the member's applied revision as it reported it (asked while a roll-out runs); undefined when not asked or it did not answer */
  readonly revision?: number;
  /** why the member did not report, when it did not */
  readonly reportError?: string;
}

/**
 * How far behind the leader's revision a restarted member may be and count as caught up. Both are asked
 * at about the same moment, so under a write load a healthy follower is a few revisions behind; a member
 * still replaying or receiving a snapshot is far more. (etcd promotes a learner at 90% of the leader's
 * log; a distance in revisions is the same idea for a member that already votes.)
 */
export const CAUGHT_UP_REVISIONS = 1000;

export interface Observed {
  readonly cluster: ClusterRef;
  readonly spec: EtcdClusterSpec;
  /** reasons the operator must not act (a missing Secret, …): reported as Degraded */
  readonly problems: readonly string[];
  readonly servicesExist: boolean;
  readonly bootstrapConfigExists: boolean;
  readonly pdbExists: boolean;
  /** the PodDisruptionBudget's spec.minAvailable, when it exists */
  readonly pdbMinAvailable?: number;
  /** the StatefulSet's spec.replicas, undefined when there is none */
  readonly statefulSetReplicas: number | undefined;
  /** ordinals whose pod is Ready */
  readonly readyPods: ReadonlySet<number>;
  /** ordinals that still have a claim */
  readonly claims: ReadonlySet<number>;
  /** ordinals whose claim is not the one their member's data was on (deleted and re-created): the member
   *  lost its data and must be removed and added again as a learner */
  readonly lostData?: ReadonlySet<number>;
  /** the member list from any member that answered; undefined when none did */
  readonly members: readonly ObservedMember[] | undefined;
  /** when none answered: the addresses tried and the last error */
  readonly unreachable?: string;
  /** hex id of the leader, when known */
  readonly leaderId: string | undefined;
  /** false when the StatefulSet's template is not the one the spec asks for (its hash annotation differs) */
  readonly templateCurrent?: boolean;
  /** false while the StatefulSet controller has not seen the StatefulSet's latest spec (status.observedGeneration) */
  readonly statefulSetObserved?: boolean;
  /** the members' pods by ordinal; without it no roll-out is planned */
  readonly pods?: ReadonlyMap<number, ObservedPod>;
  /** the versions (image tags) the members' pods run, as the kubelet reports them */
  readonly runningVersions?: readonly string[];
  /** the cluster's EtcdBackups that are not suspended: each takes a full snapshot before a version change */
  readonly backups?: readonly ObservedBackup[];
  /** the EtcdCluster's metadata.generation (names the snapshot asked before a version change) */
  readonly generation?: number;
  /** the members' claims by ordinal, with what their StorageClass allows (growing storage.size) */
  readonly claimStorage?: ReadonlyMap<number, ObservedClaim>;
}

export type Step =
  | { kind: 'Degraded'; reason: string; message: string }
  | { kind: 'Paused' }
  | { kind: 'CreateServices' }
  | { kind: 'CreateBootstrapConfig'; initialMembers: number }
  | { kind: 'CreateStatefulSet'; replicas: number }
  | { kind: 'CreatePDB' }
  /** the PDB keeps a quorum of the voting members there are now */
  | { kind: 'UpdatePDB'; minAvailable: number }
  | { kind: 'Wait'; reason: string; message: string }
  | { kind: 'AddLearner'; ordinal: number }
  | { kind: 'ScaleStatefulSet'; replicas: number }
  | { kind: 'PromoteLearner'; id: string; ordinal: number }
  | { kind: 'RemoveMember'; id: string; reason: string }
  | { kind: 'MoveLeader'; from: string; to: string }
  | { kind: 'DeleteClaim'; ordinal: number }
  /** the StatefulSet gets the pod template (and update strategy) the spec asks for */
  | { kind: 'UpdateStatefulSet' }
  /** the member's pod is deleted; the StatefulSet controller makes it again from the new template */
  | { kind: 'RestartMember'; ordinal: number; id?: string; reason: string }
  /** the claim is asked for the spec's storage.size (its StorageClass allows expansion) */
  | { kind: 'ExpandClaim'; ordinal: number; claim: string; from: string; size: string }
  /** the EtcdBackup is asked for a full snapshot (its etcdts.dev/snapshot-now annotation set to `request`) */
  | { kind: 'RequestBackup'; backup: string; request: string }
  | { kind: 'Settled' };

export function plan(o: Observed): Step {
  if (o.problems.length > 0) return { kind: 'Degraded', reason: 'InvalidConfiguration', message: o.problems.join('; ') };
  if (o.spec.paused) return { kind: 'Paused' };
  // claims left by an earlier cluster of this name would hand their old data to the new members
  if (o.statefulSetReplicas === undefined && o.claims.size > 0 && !o.spec.adoptExistingClaims) {
    const claims = [...o.claims].sort((a, b) => a - b).map((ord) => names.pvc(o.cluster, ord));
    return {
      kind: 'Degraded',
      reason: 'ClaimsExist',
      message: `claims ${claims.join(', ')} of an earlier cluster of this name exist and hold its data: delete them, or set spec.adoptExistingClaims: true to start from that data`,
    };
  }
  if (!o.servicesExist) return { kind: 'CreateServices' };
  if (!o.bootstrapConfigExists) return { kind: 'CreateBootstrapConfig', initialMembers: o.spec.replicas };
  if (o.statefulSetReplicas === undefined) return { kind: 'CreateStatefulSet', replicas: o.spec.replicas };
  if (!o.pdbExists) return { kind: 'CreatePDB' };
  // a template that cannot start a member is fixed by a new one: apply it before waiting for members
  if (o.templateCurrent === false) {
    const refused = o.spec.image === undefined ? versionChangeRefusal(o.runningVersions ?? [], o.spec.version) : undefined;
    if (refused) return { kind: 'Degraded', reason: 'VersionChangeRefused', message: refused };
    const target = o.spec.image !== undefined ? versionOfImage(o.spec.image) : o.spec.version;
    const gate = backupBeforeVersionChange(o.runningVersions ?? [], target, o.generation ?? 0, o.backups ?? []);
    if (gate) return gate;
    return { kind: 'UpdateStatefulSet' };
  }
  if (o.statefulSetObserved === false) return { kind: 'Wait', reason: 'StatefulSetUpdating', message: 'waiting for the StatefulSet controller to take the new pod template' };
  const pods = [...(o.pods ?? new Map<number, ObservedPod>()).entries()].sort((a, b) => a[0] - b[0]);
  for (const [ord, p] of pods) {
    if (ord < o.statefulSetReplicas && !p.updated && !p.ready && !p.terminating) return { kind: 'RestartMember', ordinal: ord, reason: 'it is not ready, on an outdated pod template' };
  }
  const deadlineMs = o.spec.progressDeadlineSeconds * 1000;
  for (const [ord, p] of pods) {
    if (p.updated && !p.ready && !p.terminating && p.ageMs > deadlineMs) {
      const pod = `${names.statefulSet(o.cluster)}-${ord}`;
      return {
        kind: 'Degraded',
        reason: 'MemberNotReady',
        message: `member pod ${pod} has not been ready for ${Math.round(p.ageMs / 1000)} s since it started (progressDeadlineSeconds ${o.spec.progressDeadlineSeconds}); nothing else is changed until it is ready or the spec changes`,
      };
    }
  }
  if (o.members === undefined) return { kind: 'Wait', reason: 'NoMemberReachable', message: o.unreachable ? `no member answered: ${o.unreachable}` : 'waiting for a member to answer' };
  const voters = o.members.filter((m) => !m.isLearner).length;
  if (voters > 0 && o.pdbMinAvailable !== quorum(voters)) return { kind: 'UpdatePDB', minAvailable: quorum(voters) };

  const size = o.statefulSetReplicas;
  const byOrdinal = new Map<number, ObservedMember>();
  const strays: ObservedMember[] = [];
  for (const m of o.members) {
    const ord = ordinalOf(o.cluster, m.peerURL);
    if (ord === undefined || byOrdinal.has(ord)) strays.push(m);
    else byOrdinal.set(ord, m);
  }

  // a membership change in flight: a learner is grown into the StatefulSet, then promoted when ready
  const learners = [...byOrdinal.entries()].filter(([, m]) => m.isLearner).sort((a, b) => a[0] - b[0]);
  for (const [ord, m] of learners) {
    if (ord >= size) return { kind: 'ScaleStatefulSet', replicas: ord + 1 };
    if (!o.readyPods.has(ord)) return { kind: 'Wait', reason: 'LearnerStarting', message: `waiting for learner ${m.id} (${m.name || `ordinal ${ord}`}) to start and catch up` };
    return { kind: 'PromoteLearner', id: m.id, ordinal: ord };
  }

  for (const m of strays) return { kind: 'RemoveMember', id: m.id, reason: `member ${m.id} (${m.peerURL}) belongs to no ordinal of this cluster` };

  // a member whose data is gone may not come back as itself (it could vote twice in a term): remove it
  for (const ord of [...(o.lostData ?? [])].sort((a, b) => a - b)) {
    const m = byOrdinal.get(ord);
    if (!m) continue;
    if (m.id === o.leaderId) {
      const to = [...byOrdinal.entries()].find(([k, x]) => k !== ord && !x.isLearner && o.readyPods.has(k))?.[1];
      if (!to) return { kind: 'Wait', reason: 'NoLeaderTransferee', message: 'no ready voter to move leadership to' };
      return { kind: 'MoveLeader', from: m.id, to: to.id };
    }
    return { kind: 'RemoveMember', id: m.id, reason: `the data of member ${m.id} (ordinal ${ord}) was lost` };
  }

  // an ordinal within the StatefulSet without a member (its member was removed): add it back as a learner
  for (let ord = 0; ord < Math.min(size, o.spec.replicas); ord++) if (!byOrdinal.has(ord)) return { kind: 'AddLearner', ordinal: ord };

  // scale up: one learner at a time, only when every member's pod is ready
  if (size < o.spec.replicas) {
    const notReady = [...byOrdinal.keys()].filter((ord) => !o.readyPods.has(ord));
    if (notReady.length > 0) return { kind: 'Wait', reason: 'MembersNotReady', message: `waiting for ordinals ${notReady.join(', ')} to be ready before adding a member` };
    return { kind: 'AddLearner', ordinal: size };
  }

  // scale down: the highest ordinal goes first; never the leader while it leads
  if (size > o.spec.replicas) {
    const ord = size - 1;
    const m = byOrdinal.get(ord);
    if (m) {
      if (m.id === o.leaderId) {
        const to = [...byOrdinal.entries()].find(([k, x]) => k < o.spec.replicas && !x.isLearner && o.readyPods.has(k))?.[1];
        if (!to) return { kind: 'Wait', reason: 'NoLeaderTransferee', message: 'no ready voter to move leadership to' };
        return { kind: 'MoveLeader', from: m.id, to: to.id };
      }
      return { kind: 'RemoveMember', id: m.id, reason: `scaling down to ${o.spec.replicas}` };
    }
    return { kind: 'ScaleStatefulSet', replicas: ord };
  }

  // claims of removed ordinals: a later scale-up must start from an empty data dir
  for (const ord of [...o.claims].sort((a, b) => a - b)) if (ord >= size) return { kind: 'DeleteClaim', ordinal: ord };
  // a larger storage.size: claims grow in place (no restart), before anything waits for members
  const grow = o.claimStorage ? nextClaimToGrow(o.claimStorage, o.spec.storage.size) : undefined;
  if (grow) return grow;

  const notReady = [...byOrdinal.keys()].filter((ord) => !o.readyPods.has(ord));
  if (notReady.length > 0) return { kind: 'Wait', reason: 'MembersNotReady', message: `waiting for ordinals ${notReady.join(', ')} to be ready` };

  // roll-out: every member is ready; the followers on the old template first (highest ordinal first), the leader last
  const stale = pods.filter(([ord, p]) => ord < size && !p.updated).map(([ord]) => ord);
  if (stale.length > 0) {
    const progress = `${updatedMembers(o.pods, size)} of ${size} members updated`;
    if (pods.some(([, p]) => p.terminating)) return { kind: 'Wait', reason: 'MemberRestarting', message: `waiting for a restarted member to stop (${progress})` };
    if (o.leaderId === undefined) return { kind: 'Wait', reason: 'NoLeader', message: `waiting for a leader before restarting the next member (${progress})` };
    const behind = notCaughtUp(o, byOrdinal, pods, size);
    if (behind) return { kind: 'Wait', reason: 'MemberCatchingUp', message: `${behind} (${progress})` };
    const follower = [...stale].reverse().find((ord) => byOrdinal.get(ord)?.id !== o.leaderId);
    if (follower !== undefined) return { kind: 'RestartMember', ordinal: follower, ...idOf(byOrdinal, follower), reason: `the pod template changed; ${progress}` };
    const leaderOrd = stale[0]!;
    const to = [...byOrdinal.entries()].find(([k, x]) => k !== leaderOrd && k < size && !x.isLearner && o.readyPods.has(k) && o.pods?.get(k)?.updated === true)?.[1];
    if (to) return { kind: 'MoveLeader', from: o.leaderId, to: to.id };
    // the only member: it restarts as it is (the cluster is unavailable meanwhile)
    if (![...byOrdinal.keys()].some((k) => k !== leaderOrd)) return { kind: 'RestartMember', ordinal: leaderOrd, ...idOf(byOrdinal, leaderOrd), reason: `the pod template changed; ${progress}` };
    return { kind: 'Wait', reason: 'NoLeaderTransferee', message: `no updated ready voter to move leadership to (${progress})` };
  }
  // claims that cannot grow are said last: they block nothing else
  const stuck = o.claimStorage ? claimsThatCannotGrow(o.claimStorage, o.spec.storage.size) : undefined;
  if (stuck) return stuck;
  return { kind: 'Settled' };
}

/** Members of the first `size` ordinals whose pod runs the latest template and is not stopping (status.updatedMembers). */
export function updatedMembers(pods: ReadonlyMap<number, ObservedPod> | undefined, size: number): number {
  return [...(pods ?? new Map<number, ObservedPod>()).entries()].filter(([ord, p]) => ord < size && p.updated && !p.terminating).length;
}

/** Why a restarted (updated) member does not count as caught up with the leader yet, or undefined. */
function notCaughtUp(o: Observed, byOrdinal: ReadonlyMap<number, ObservedMember>, pods: ReadonlyArray<[number, ObservedPod]>, size: number): string | undefined {
  const updated = pods.filter(([ord, p]) => ord < size && p.updated && !p.terminating);
  if (updated.length === 0) return undefined;
  const leaderOrd = [...byOrdinal.entries()].find(([, m]) => m.id === o.leaderId)?.[0];
  const leader = leaderOrd === undefined ? undefined : o.pods?.get(leaderOrd);
  if (leader?.revision === undefined) return `waiting for the leader to report its revision${leader?.reportError ? `: ${leader.reportError}` : ''}`;
  for (const [ord, p] of updated) {
    const pod = `${names.statefulSet(o.cluster)}-${ord}`;
    if (p.revision === undefined) return `waiting for restarted member ${pod} to report its revision${p.reportError ? `: ${p.reportError}` : ''}`;
    if (leader.revision - p.revision > CAUGHT_UP_REVISIONS) return `waiting for restarted member ${pod} to catch up: revision ${p.revision}, the leader's ${leader.revision}`;
  }
  return undefined;
}

function idOf(byOrdinal: ReadonlyMap<number, ObservedMember>, ord: number): { id?: string } {
  const m = byOrdinal.get(ord);
  return m ? { id: m.id } : {};
}
