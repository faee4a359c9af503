// The Maintenance service: Status, Defragment, Hash, HashKV, Snapshot (stream), Alarm. MoveLeader and
// Downgrade answer Unimplemented until replication lands. With auth on, Defragment, Hash, HashKV and
// Snapshot need the root role (as etcd's authMaintenanceServer; Status and Alarm need nothing), and
// refuse with the auth package's error unmapped (gRPC Unknown, "auth: permission denied"), as etcd does.
import { asAuthPackageError } from '../../auth/store.js';
import type { MaintenanceServer } from '../../gen/etcdserverpb/rpc.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { authorizeAdmin, type ServerSurfaceCall } from './auth-context.js';
import { toServiceError } from './errors.js';
import { streamSnapshot } from './snapshot.js';
import { unary, unimplemented } from './unary.js';

export function maintenanceService(server: EtcdServer, log: Logger): MaintenanceServer {
  const admin = async (call: ServerSurfaceCall): Promise<void> => {
    try {
      await authorizeAdmin(server, call);
    } catch (err) {
      throw asAuthPackageError(err);
    }
  };
  return {
    alarm: unary(log, 'Alarm', (r) => server.alarm(r)),
    status: unary(log, 'Status', () => server.status()),
    defragment: unary(log, 'Defragment', async (_r, call) => {
      await admin(call);
      await server.defragment();
      return { header: server.header() };
    }),
    hash: unary(log, 'Hash', async (_r, call) => {
      await admin(call);
      return server.hash();
    }),
    hashKv: unary(log, 'HashKV', async (r, call) => {
      await admin(call);
      return server.hashKV(Number(r.revision));
    }),
    snapshot: (call) => {
      admin(call)
        .then(() => streamSnapshot(server, log, call))
        .catch((err: unknown) => call.emit('error', toServiceError(err, log, 'Snapshot')));
    },
    moveLeader: unary(log, 'MoveLeader', async (r, call) => {
      await admin(call);
      await server.moveLeader(r.targetID);
      return { header: server.header() };
    }),
    downgrade: unimplemented('Downgrade'),
  };
}
