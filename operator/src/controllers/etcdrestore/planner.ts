// The EtcdRestore planner: a pure function from what the controller observed to the one next step.
// Phases: Pending (the source's objects — EtcdBackup, Secrets — are looked for) → Resolving (the target is
// resolved once to one revision of one chain, recorded in status, so every member's init container
// restores the same revision however the chain grows afterwards) → Restoring (the EtcdCluster exists,
// marked as restored by this EtcdRestore; its members' init containers restore) → Succeeded once it is
// Available | Failed (an unreachable target, a name taken without replaceExisting, an invalid spec).
// Failed and Succeeded are terminal: an EtcdRestore is immutable, another attempt is another object.
import type { RestorePhase } from '../../api/etcd-restore.js';

export interface Resolution {
  revision: number;
  /** unix ms */
  time: number;
  clusterId: string;
  objects: string[];
}

export interface RestoreObserved {
  readonly phase: RestorePhase | undefined;
  /** why the spec cannot work (schema) */
  readonly specProblem?: string;
  /** what the source needs and is missing: "EtcdBackup db/nightly", "Secret db/s3-creds" */
  readonly missing: readonly string[];
  /** the resolution recorded in status (undefined: not resolved yet) */
  readonly resolved: Resolution | undefined;
  /** an EtcdCluster of the target name, when one exists */
  readonly cluster:
    | undefined
    | {
        /** it carries this EtcdRestore's uid (created by it) */
        readonly ours: boolean;
        readonly available: boolean;
        /** the StatefulSet's replicas of a cluster not ours (0: its members are stopped) */
        readonly runningMembers: number;
        readonly clusterId: string | undefined;
      };
  readonly replaceExisting: boolean;
}

export type RestoreStep =
  | { kind: 'Nothing' }
  | { kind: 'Fail'; reason: string; message: string }
  | { kind: 'WaitForSource'; message: string }
  /** list the chain and resolve the target (the controller does the I/O; an unreachable target → Fail) */
  | { kind: 'Resolve' }
  /** replaceExisting: scale the old StatefulSet to 0 (its claims stay) and record the old cluster id */
  | { kind: 'StopOldMembers'; replacedClusterId: string | undefined }
  /** replaceExisting, old members stopped: delete the old EtcdCluster object (its claims stay: Retain) */
  | { kind: 'DeleteOldCluster' }
  | { kind: 'CreateCluster'; resolution: Resolution }
  | { kind: 'WaitForCluster' }
  | { kind: 'Succeed' };

export function planRestore(o: RestoreObserved): RestoreStep {
  if (o.phase === 'Succeeded' || o.phase === 'Failed') return { kind: 'Nothing' };
  if (o.specProblem) return { kind: 'Fail', reason: 'InvalidSpec', message: o.specProblem };
  // a cluster this restore created: only its availability matters now
  if (o.cluster?.ours) return o.cluster.available ? { kind: 'Succeed' } : { kind: 'WaitForCluster' };
  if (o.missing.length > 0) return { kind: 'WaitForSource', message: `not found: ${o.missing.join(', ')}` };
  if (!o.resolved) return { kind: 'Resolve' };
  if (o.cluster) {
    if (!o.replaceExisting) {
      return { kind: 'Fail', reason: 'ClusterExists', message: 'an EtcdCluster of that name exists and replaceExisting is false: nothing was changed' };
    }
    if (o.cluster.runningMembers > 0) return { kind: 'StopOldMembers', replacedClusterId: o.cluster.clusterId };
    return { kind: 'DeleteOldCluster' };
  }
  return { kind: 'CreateCluster', resolution: o.resolved };
}

/** The phase a step leaves the EtcdRestore in. */
export function phaseAfter(step: RestoreStep, current: RestorePhase | undefined): RestorePhase {
  switch (step.kind) {
    case 'Nothing':
      return current ?? 'Pending';
    case 'Fail':
      return 'Failed';
    case 'WaitForSource':
      return 'Pending';
    case 'Resolve':
      return 'Resolving';
    case 'StopOldMembers':
    case 'DeleteOldCluster':
    case 'CreateCluster':
    case 'WaitForCluster':
      return 'Restoring';
    case 'Succeed':
      return 'Succeeded';
  }
}
