// Prometheus metrics on /metrics, named as etcd names them where etcd has the metric (dashboards and
// alerts written for etcd keep working), plus the Node.js process metrics prom-client collects.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CLUSTER_VERSION, SERVER_VERSION } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { BUILD_VERSION } from '../../util/build-version.js';

/** etcd's disk histograms: 1 ms doubling up to ~8 s. */
const DISK_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);

export class Metrics {
  readonly registry = new Registry();
  readonly walFsync = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'The latency distributions of fsync called by WAL.',
    buckets: DISK_BUCKETS,
    registers: [this.registry],
  });
  private readonly leaderChanges = new Counter({
    name: 'etcd_server_leader_changes_seen_total',
    help: 'The number of leader changes seen.',
    registers: [this.registry],
  });
  private server: EtcdServer | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const current = (): EtcdServer | undefined => this.server;
    const gauge = (name: string, help: string, read: (s: EtcdServer) => number): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = current();
          if (s) this.set(read(s));
        },
      });
    };
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', (s) => (s.status().leader !== 0n ? 1 : 0));
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', (s) => (s.isLeader() ? 1 : 0));
    gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', (s) => s.backend.size());
    gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', (s) => s.backend.sizeInUse());
    gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', (s) => s.cfg.quotaBackendBytes);
    gauge('etcd_debugging_mvcc_current_revision', 'The current revision of store.', (s) => s.store.currentRevision);
    gauge('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', (s) => s.store.compactRevision);
    gauge('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', (s) => s.watchable.watcherCount);
    gauge('etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers.', (s) => s.watchable.unsyncedCount);
    gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', (s) => s.store.indexedKeys);
    const version = new Gauge({ name: 'etcd_server_version', help: 'Which version is running. 1 for server_version label with current version.', labelNames: ['server_version'], registers: [this.registry] });
    version.set({ server_version: SERVER_VERSION }, 1);
    const cluster = new Gauge({ name: 'etcd_cluster_version', help: 'Which version is running. 1 for cluster_version label with current cluster version', labelNames: ['cluster_version'], registers: [this.registry] });
    cluster.set({ cluster_version: CLUSTER_VERSION.split('.').slice(0, 2).join('.') }, 1);
    // etcd-node's own release beside the etcd API version above: what the operator reports as a member's version
    const build = new Gauge({ name: 'etcd_node_build_info', help: 'Which etcd-node release is running. 1 for the version label (the etcd API version it serves is etcd_server_version).', labelNames: ['version', 'node_version'], registers: [this.registry] });
    build.set({ version: BUILD_VERSION, node_version: process.version }, 1);
  }

  /** Starts reading the server's state (metrics exist before the server does: the WAL fsync hook). */
  attach(server: EtcdServer): void {
    this.server = server;
    server.onLeaderChange(() => this.leaderChanges.inc());
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
