// The client-facing gRPC services: every etcd v3 service this build serves, as a list the gRPC server
// and the JSON gateway (api/http/gateway.ts) both take.
import { Server } from '@grpc/grpc-js';
import { AuthService, ClusterService, KVService, LeaseService, MaintenanceService, WatchService } from '../../gen/etcdserverpb/rpc.js';
import { ElectionService } from '../../gen/v3electionpb/v3election.js';
import { LockService } from '../../gen/v3lockpb/v3lock.js';
import { GRPC_OVERHEAD_BYTES, type ServerConfig } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { encodePutResponse, encodeRangeResponse, encodeWatchResponse } from '../../util/fast-encode.js';
import type { Logger } from '../../util/logger.js';
import type { ServiceEntry } from '../http/gateway.js';
import { authService } from './auth.js';
import { clusterService } from './cluster.js';
import { electionService } from './election.js';
import { leaseService } from './lease.js';
import { lockService } from './lock.js';
import { kvService } from './kv.js';
import { maintenanceService } from './maintenance.js';
import type { GrpcCallStats } from './call-stats.js';
import type { RequireLeaderGuard } from './require-leader.js';
import { watchService } from './watch.js';

/**
 * KV with size-first encoders for the two answers a load is made of (util/fast-encode.ts: the same bytes
 * as the generated encoders, without their intermediate arrays and the extra copy).
 */
const FastKVService: typeof KVService = {
  ...KVService,
  range: { ...KVService.range, responseSerialize: encodeRangeResponse },
  put: { ...KVService.put, responseSerialize: encodePutResponse },
};

/** Watch with the size-first encoder that encodes an event once for all the watchers it reaches. */
const FastWatchService: typeof WatchService = {
  ...WatchService,
  watch: { ...WatchService.watch, responseSerialize: encodeWatchResponse },
};

export function clientServices(server: EtcdServer, log: Logger): ServiceEntry[] {
  return [
    { name: 'etcdserverpb.KV', definition: FastKVService, impl: kvService(server, log) },
    { name: 'etcdserverpb.Watch', definition: FastWatchService, impl: watchService(server, log) },
    { name: 'etcdserverpb.Maintenance', definition: MaintenanceService, impl: maintenanceService(server, log) },
    { name: 'etcdserverpb.Cluster', definition: ClusterService, impl: clusterService(server, log) },
    { name: 'etcdserverpb.Lease', definition: LeaseService, impl: leaseService(server, log) },
    { name: 'etcdserverpb.Auth', definition: AuthService, impl: authService(server, log) },
    // etcd registers these two on its client port as well (v3lock, v3election)
    { name: 'v3lockpb.Lock', definition: LockService, impl: lockService(server, log) },
    { name: 'v3electionpb.Election', definition: ElectionService, impl: electionService(server, log) },
  ];
}

/** `guard`: etcd's require-leader contract in front of every handler (require-leader.ts); `stats`:
 *  per-method counters for /metrics (call-stats.ts), outside the guard so refused calls count too. */
export function createGrpcServer(cfg: ServerConfig, services: readonly ServiceEntry[], guard?: RequireLeaderGuard, stats?: GrpcCallStats): Server {
  const ka = cfg.grpcKeepalive;
  const g = new Server({
    'grpc.max_receive_message_length': cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    'grpc.keepalive_permit_without_calls': 1,
    // --grpc-keepalive-min-time (etcd's default 5 s)
    'grpc.http2.min_ping_interval_without_data_ms': ka?.minTimeMs ?? 5000,
    // --grpc-keepalive-interval / --grpc-keepalive-timeout (0 disables; grpc-js's default is no pings)
    ...(ka !== undefined && ka.intervalMs > 0 ? { 'grpc.keepalive_time_ms': ka.intervalMs } : {}),
    ...(ka !== undefined && ka.timeoutMs > 0 ? { 'grpc.keepalive_timeout_ms': ka.timeoutMs } : {}),
    // --max-concurrent-streams (etcd's default, 2^32-1, is HTTP/2's own: only a smaller one is set)
    ...(cfg.maxConcurrentStreams !== undefined && cfg.maxConcurrentStreams < 2 ** 32 - 1 ? { 'grpc.max_concurrent_streams': cfg.maxConcurrentStreams } : {}),
    // channelz keeps per-call counters and trace events for a debugging service we do not register;
    // it costs a few percent of the CPU of every call (profiled)
    'grpc.enable_channelz': 0,
  });
  for (const s of services) {
    const guarded = guard ? guard.wrap(s.definition, s.impl) : s.impl;
    if (stats) g.addService(stats.countBytes(s.definition), stats.wrap(s.name, s.definition, guarded));
    else g.addService(s.definition, guarded);
  }
  return g;
}
