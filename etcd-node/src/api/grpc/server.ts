// The client-facing gRPC server: every etcd v3 service this build serves, on every --listen-client-urls
// address. Services not listed here (Lease, Lock, Election) answer Unimplemented.
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { AuthService, ClusterService, KVService, MaintenanceService, WatchService } from '../../gen/etcdserverpb/rpc.js';
import { GRPC_OVERHEAD_BYTES, type ServerConfig } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { authService } from './auth.js';
import { clusterService } from './cluster.js';
import { kvService } from './kv.js';
import { maintenanceService } from './maintenance.js';
import { watchService } from './watch.js';


export function createGrpcServer(server: EtcdServer, cfg: ServerConfig, log: Logger): Server {
  const g = new Server({
    'grpc.max_receive_message_length': cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    'grpc.max_send_message_length': 2 ** 31 - 1,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5000,
  });
  g.addService(KVService, kvService(server, log));
  g.addService(MaintenanceService, maintenanceService(server, log));
  g.addService(ClusterService, clusterService(server, log));
  g.addService(AuthService, authService(server, log));
  g.addService(WatchService, watchService(server, log));
  return g;
}

export async function listenClients(g: Server, cfg: ServerConfig, log: Logger): Promise<void> {
  for (const u of cfg.listenClientUrls) {
    const creds = credentialsFor(u, cfg);
    const port = await new Promise<number>((resolve, reject) =>
      g.bindAsync(u.host, creds, (err, p) => (err ? reject(new Error(`listen on ${u.href}: ${err.message}`)) : resolve(p))),
    );
    if (u.protocol === 'http:') {
      log.warn('serving client traffic insecurely; this is strongly discouraged!', { address: `${u.hostname}:${port}` });
    } else {
      log.info('serving client traffic securely', { address: `${u.hostname}:${port}` });
    }
  }
}

function credentialsFor(u: URL, cfg: ServerConfig): ServerCredentials {
  if (u.protocol === 'http:') return ServerCredentials.createInsecure();
  const { certFile, keyFile, trustedCaFile, clientCertAuth } = cfg.tls;
  if (!certFile || !keyFile) throw new Error(`--listen-client-urls ${u.href} is https but --cert-file and --key-file are not set`);
  return ServerCredentials.createSsl(
    trustedCaFile ? readFileSync(trustedCaFile) : null,
    [{ cert_chain: readFileSync(certFile), private_key: readFileSync(keyFile) }],
    clientCertAuth,
  );
}
