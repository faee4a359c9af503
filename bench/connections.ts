// gRPC connections for the load generator. Each connection is its own HTTP/2 connection: grpc-js would
// otherwise share one subchannel between channels to the same address, and "64 clients over 8
// connections" would silently be 64 clients over one. Connections are spread round-robin over the
// endpoints given (the leader first), as etcd's benchmark tool spreads its connections.
import { Channel, credentials } from '@grpc/grpc-js';
import { KVClient, LeaseClient, MaintenanceClient, WatchClient } from '../etcd-node/src/gen/etcdserverpb/rpc.js';

/** The service clients of one connection, all on the same HTTP/2 connection. */
export interface Connection {
  readonly kv: KVClient;
  readonly watch: WatchClient;
  readonly lease: LeaseClient;
  readonly maintenance: MaintenanceClient;
  close(): void;
}

export function connect(endpoint: string): Connection {
  const channel = new Channel(endpoint, credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    // 100,000 watchers or a 1,000-client burst queue many messages: do not cap them
    'grpc.max_receive_message_length': -1,
  });
  const opts = { channelOverride: channel };
  const creds = credentials.createInsecure();
  return {
    kv: new KVClient(endpoint, creds, opts),
    watch: new WatchClient(endpoint, creds, opts),
    lease: new LeaseClient(endpoint, creds, opts),
    maintenance: new MaintenanceClient(endpoint, creds, opts),
    close: () => channel.close(),
  };
}

/** `count` connections over the endpoints, round-robin. */
export function connectMany(endpoints: readonly string[], count: number): Connection[] {
  return Array.from({ length: count }, (_, i) => connect(endpoints[i % endpoints.length]!));
}

export function closeAll(conns: readonly Connection[]): void {
  for (const c of conns) c.close();
}
