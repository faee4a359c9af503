// Prometheus metrics on /metrics, named as etcd names them where etcd has the metric (dashboards and
// alerts written for etcd keep working), plus the Node.js process metrics prom-client collects.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { status as grpcStatus } from '@grpc/grpc-js';
import { CLUSTER_VERSION, SERVER_VERSION } from '../../server/config.js';
import type { EtcdServer, ServerHooks } from '../../server/etcd-server.js';
import type { ServerStats, TimedOp } from '../../server/stats.js';
import { BUILD_VERSION } from '../../util/build-version.js';
import type { GrpcCallStats } from '../grpc/call-stats.js';

/** etcd's disk histograms: 1 ms doubling up to ~8 s. */
const DISK_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
/** etcd's defrag/snapshot/hash histograms: 10 ms doubling up to ~80 s (snapshot save: 100 ms…). */
const LONG_BUCKETS = Array.from({ length: 14 }, (_, i) => 0.01 * 2 ** i);
/** etcd's apply/range histograms: 100 µs doubling up to ~13 s. */
const REQUEST_BUCKETS = Array.from({ length: 18 }, (_, i) => 0.0001 * 2 ** i);

/** gRPC status codes by number, as go-grpc-prometheus labels them (OK, NotFound, …). */
const CODE_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(grpcStatus)
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    .map(([name, code]) => [code, name.split('_').map((w) => w[0] + w.slice(1).toLowerCase()).join('').replace(/^Ok$/, 'OK')]),
);

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
  private readonly walWriteBytes = new Counter({
    name: 'etcd_disk_wal_write_bytes_total',
    help: 'Bytes of records written to the WAL.',
    registers: [this.registry],
  });
  private readonly walWrite = new Histogram({
    name: 'etcd_disk_wal_write_duration_seconds',
    help: 'How long each write of records to a WAL segment took (before its fdatasync).',
    buckets: DISK_BUCKETS,
    registers: [this.registry],
  });
  private readonly backendCommit = new Histogram({
    name: 'etcd_disk_backend_commit_duration_seconds',
    help: 'How long each backend write transaction took to run and commit.',
    buckets: DISK_BUCKETS,
    registers: [this.registry],
  });
  private readonly timed: Record<TimedOp, Histogram> = {
    apply: this.histogram('etcd_server_apply_duration_seconds', 'How long applying one committed request took, by request kind and outcome.', REQUEST_BUCKETS, ['version', 'op', 'success']),
    range: this.histogram('etcd_server_range_duration_seconds', 'How long a serializable range took to read.', REQUEST_BUCKETS),
    defrag: this.histogram('etcd_disk_backend_defrag_duration_seconds', 'How long a defragmentation of the backend took.', LONG_BUCKETS),
    hash: this.histogram('etcd_mvcc_hash_duration_seconds', 'How long hashing the whole backend took (Hash).', LONG_BUCKETS),
    hashRev: this.histogram('etcd_mvcc_hash_rev_duration_seconds', 'How long hashing the keys up to a revision took (HashKV).', LONG_BUCKETS),
    backendCommit: this.backendCommit,
    backendSnapshot: this.histogram('etcd_disk_backend_snapshot_duration_seconds', 'How long streaming a snapshot of the backend to a client took.', LONG_BUCKETS),
    snapshotSave: this.histogram('etcd_snap_db_save_total_duration_seconds', 'How long saving a database snapshot received from the leader took.', LONG_BUCKETS),
  };
  private server: EtcdServer | undefined;
  private grpc: GrpcCallStats | undefined;

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
    this.serverMetrics(current);
    this.grpcMetrics();
    const build = new Gauge({ name: 'etcd_node_build_info', help: 'Which etcd-node release is running. 1 for the version label (the etcd API version it serves is etcd_server_version).', labelNames: ['version', 'node_version'], registers: [this.registry] });
    build.set({ version: BUILD_VERSION, node_version: process.version }, 1);
  }

  /** The hooks the server starts with (metrics exist before the server does: the WAL's). */
  serverHooks(): ServerHooks {
    return {
      onFsync: (s) => this.walFsync.observe(s),
      onWalWrite: (bytes, s) => {
        this.walWriteBytes.inc(bytes);
        this.walWrite.observe(s);
      },
    };
  }

  /** Starts reading the server's state. */
  attach(server: EtcdServer): void {
    this.server = server;
    server.onLeaderChange(() => this.leaderChanges.inc());
    server.stats.observe = (op, seconds, labels) => (labels ? this.timed[op].observe(labels, seconds) : this.timed[op].observe(seconds));
    server.backend.onCommitted = (seconds) => this.backendCommit.observe(seconds);
  }

  /** Starts reading the gRPC layer's per-method counters. */
  attachGrpc(stats: GrpcCallStats): void {
    this.grpc = stats;
  }

  private histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }

  /** Counters and gauges read from the server's ServerStats and state at each scrape. */
  private serverMetrics(current: () => EtcdServer | undefined): void {
    const registers = [this.registry];
    const stat = (read: (s: ServerStats) => number) => (): number | undefined => {
      const srv = current();
      return srv ? read(srv.stats) : undefined;
    };
    const counter = (name: string, help: string, read: () => number | undefined): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const v = read();
          if (v === undefined) return;
          this.reset();
          this.inc(v);
        },
      });
    };
    const gauge = (name: string, help: string, read: () => number | undefined): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const v = read();
          if (v !== undefined) this.set(v);
        },
      });
    };
    counter('etcd_mvcc_range_total', 'Range operations run on this member (each op of a txn counts).', stat((s) => s.ranges));
    counter('etcd_mvcc_put_total', 'Put operations applied on this member (each op of a txn counts).', stat((s) => s.puts));
    counter('etcd_mvcc_delete_total', 'DeleteRange operations applied on this member (each op of a txn counts).', stat((s) => s.deletes));
    counter('etcd_mvcc_txn_total', 'Transactions of more than one operation run on this member.', stat((s) => s.txns));
    counter('etcd_server_proposals_failed_total', 'Proposals that failed: timed out, dropped without a leader, or lost with a leader change.', stat((s) => s.proposalsFailed));
    counter('etcd_server_slow_apply_total', 'Applied requests that took 100 ms or longer.', stat((s) => s.slowApplies));
    counter('etcd_server_read_indexes_failed_total', 'Linearizable reads whose read index could not be confirmed.', stat((s) => s.readIndexFailures));
    counter('etcd_server_heartbeat_send_failures_total', 'Heartbeats this member could not send to a follower (not connected, or its connection backed up).', stat((s) => s.heartbeatFailures));
    counter('etcd_server_learner_promote_successes', 'Learner promotions this member carried out.', stat((s) => s.learnerPromotes));
    counter('etcd_server_health_success', '/health requests answered healthy.', stat((s) => s.healthSuccesses));
    counter('etcd_server_health_failures', '/health requests answered unhealthy.', stat((s) => s.healthFailures));
    gauge('etcd_server_snapshot_apply_in_progress_total', '1 while this member applies a database snapshot from the leader, else 0.', stat((s) => s.snapshotsApplying));
    gauge('etcd_disk_defrag_inflight', '1 while this member defragments its backend, else 0.', stat((s) => s.defragsInFlight));
    const proposals = (pick: (p: EtcdServer['proposals']) => number) => (): number | undefined => {
      const srv = current();
      return srv ? pick(srv.proposals) : undefined;
    };
    gauge('etcd_server_proposals_committed_total', 'The Raft commit index this member knows.', proposals((p) => p.committed));
    gauge('etcd_server_proposals_applied_total', 'The Raft index this member has applied.', proposals((p) => p.applied));
    gauge('etcd_server_proposals_pending', 'Proposals of this member waiting to be applied.', proposals((p) => p.pending));
    gauge('etcd_server_is_learner', '1 if this member is a learner, else 0.', () => {
      const srv = current();
      return srv ? (srv.isLearner ? 1 : 0) : undefined;
    });
    new Gauge({
      name: 'etcd_server_id',
      help: 'This member: 1 for the server_id label (its id in hex).',
      labelNames: ['server_id'],
      registers,
      collect() {
        const srv = current();
        if (srv) this.set({ server_id: srv.memberId.toString(16) }, 1);
      },
    });
    new Gauge({
      name: 'etcd_network_known_peers',
      help: '1 for each other member this member knows (Remote: its id in hex).',
      labelNames: ['Local', 'Remote'],
      registers,
      collect() {
        const srv = current();
        if (!srv) return;
        this.reset();
        const local = srv.memberId.toString(16);
        for (const m of srv.memberList()) if (m.ID !== srv.memberId) this.set({ Local: local, Remote: m.ID.toString(16) }, 1);
      },
    });
  }

  /** go-grpc-prometheus's server metrics and etcd_server_client_requests_total, from GrpcCallStats. */
  private grpcMetrics(): void {
    const registers = [this.registry];
    const stats = (): GrpcCallStats | undefined => this.grpc;
    const perMethod = (name: string, help: string, read: (m: GrpcCallStats['methods'][number]) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['grpc_type', 'grpc_service', 'grpc_method'],
        registers,
        collect() {
          const g = stats();
          if (!g) return;
          this.reset();
          for (const m of g.methods) this.inc({ grpc_type: m.type, grpc_service: m.service, grpc_method: m.method }, read(m));
        },
      });
    };
    perMethod('grpc_server_started_total', 'gRPC calls started, by method.', (m) => m.started);
    perMethod('grpc_server_msg_received_total', 'gRPC messages received, by method.', (m) => m.received);
    perMethod('grpc_server_msg_sent_total', 'gRPC messages sent, by method.', (m) => m.sent);
    new Counter({
      name: 'grpc_server_handled_total',
      help: 'gRPC calls ended, by method and status code.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'],
      registers,
      collect() {
        const g = stats();
        if (!g) return;
        this.reset();
        for (const m of g.methods) {
          for (const [code, n] of m.handled) {
            this.inc({ grpc_type: m.type, grpc_service: m.service, grpc_method: m.method, grpc_code: CODE_NAMES.get(code) ?? String(code) }, n);
          }
        }
      },
    });
    const bytes = (name: string, help: string, read: (g: GrpcCallStats) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const g = stats();
          if (!g) return;
          this.reset();
          this.inc(read(g));
        },
      });
    };
    bytes('etcd_network_client_grpc_received_bytes_total', 'Bytes of gRPC request messages received from clients.', (g) => g.receivedBytes);
    bytes('etcd_network_client_grpc_sent_bytes_total', 'Bytes of gRPC response messages sent to clients.', (g) => g.sentBytes);
    new Counter({
      name: 'etcd_server_client_requests_total',
      help: 'Client gRPC calls by kind (unary, stream) and the client API version they declare.',
      labelNames: ['type', 'client_api_version'],
      registers,
      collect() {
        const g = stats();
        if (!g) return;
        this.reset();
        for (const [key, n] of g.clientRequests) {
          const [version, type] = key.split(' ');
          this.inc({ type: type!, client_api_version: version! }, n);
        }
      },
    });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
