import type { InternalRequest } from '../gen/etcdtspb/internal.js';

// What a member counts for /metrics (api/http/metrics.ts names them as etcd does): plain fields the hot
// paths bump, read when Prometheus scrapes, so a request pays an increment and no label lookup.

/** The durations etcd keeps histograms of; the metrics layer observes them (etcd's metric names beside). */
export type TimedOp =
  | 'apply' // etcd_server_apply_duration_seconds
  | 'range' // etcd_server_range_duration_seconds
  | 'defrag' // etcd_disk_backend_defrag_duration_seconds
  | 'hash' // etcd_mvcc_hash_duration_seconds
  | 'hashRev' // etcd_mvcc_hash_rev_duration_seconds
  | 'backendCommit' // etcd_disk_backend_commit_duration_seconds
  | 'backendSnapshot' // etcd_disk_backend_snapshot_duration_seconds
  | 'snapshotSave'; // etcd_snap_db_save_total_duration_seconds

/** An applied request slower than this counts as slow (etcd's warning threshold for applies). */
export const SLOW_APPLY_MS = 100;

export class ServerStats {
  /** etcd_mvcc_*_total: operations run by transactions (etcd counts calls, not keys) */
  ranges = 0;
  puts = 0;
  deletes = 0;
  /** transactions that ran more than one operation */
  txns = 0;
  proposalsFailed = 0;
  slowApplies = 0;
  readIndexFailures = 0;
  learnerPromotes = 0;
  /** snapshots from the leader being applied now (0 or 1) */
  snapshotsApplying = 0;
  defragsInFlight = 0;
  heartbeatFailures = 0;
  healthSuccesses = 0;
  healthFailures = 0;

  /** Where durations go (the metrics layer sets it; without one, timing costs nothing but the clock). */
  observe: (op: TimedOp, seconds: number, labels?: Readonly<Record<string, string>>) => void = () => undefined;

  /** Runs fn and observes its duration as `op` (also when it throws). */
  time<T>(op: TimedOp, fn: () => T): T {
    const t0 = process.hrtime.bigint();
    try {
      return fn();
    } finally {
      this.observe(op, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  async timeAsync<T>(op: TimedOp, fn: () => Promise<T>): Promise<T> {
    const t0 = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.observe(op, Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }

  /** One transaction's operations (etcd's metricsTxnWrite.End). */
  countTxn(ranges: number, puts: number, deletes: number): void {
    this.ranges += ranges;
    this.puts += puts;
    this.deletes += deletes;
    if (ranges + puts + deletes > 1) this.txns++;
  }
}

/** The op label of etcd_server_apply_duration_seconds: the request's kind, named as etcd names it. */
export function applyOpName(req: InternalRequest): string {
  for (const [field, name] of APPLY_OPS) if (req[field] !== undefined) return name;
  return 'Unknown';
}

const APPLY_OPS: ReadonlyArray<readonly [keyof InternalRequest, string]> = [
  ['put', 'Put'],
  ['deleteRange', 'DeleteRange'],
  ['txn', 'Txn'],
  ['compaction', 'Compaction'],
  ['leaseGrant', 'LeaseGrant'],
  ['leaseRevoke', 'LeaseRevoke'],
  ['alarm', 'Alarm'],
  ['authenticate', 'Authenticate'],
  ['authEnable', 'AuthEnable'],
  ['authDisable', 'AuthDisable'],
  ['authStatus', 'AuthStatus'],
  ['authUserAdd', 'AuthUserAdd'],
  ['authUserDelete', 'AuthUserDelete'],
  ['authUserChangePassword', 'AuthUserChangePassword'],
  ['authUserGrantRole', 'AuthUserGrantRole'],
  ['authUserRevokeRole', 'AuthUserRevokeRole'],
  ['authRoleAdd', 'AuthRoleAdd'],
  ['authRoleDelete', 'AuthRoleDelete'],
  ['authRoleGrantPermission', 'AuthRoleGrantPermission'],
  ['authRoleRevokePermission', 'AuthRoleRevokePermission'],
  ['memberAttributes', 'ClusterMemberAttrSet'],
  ['memberUpdate', 'MemberUpdate'],
];
