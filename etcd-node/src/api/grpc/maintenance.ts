// The Maintenance service: Status, Defragment, Hash, HashKV, Snapshot (stream), Alarm, MoveLeader;
// Downgrade answers Unimplemented. With auth on (etcd 3.6's rules): Status and listing alarms need a
// user, everything else the root role, refused with etcd's errors (`etcdserver: user name is empty`,
// `etcdserver: permission denied`; 3.4 answered Hash/Defragment/Snapshot with the auth package's text).
import { AlarmRequest_AlarmAction, type MaintenanceServer } from '../../gen/etcdserverpb/rpc.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { authorizeAdmin, authorizeUser } from './auth-context.js';
import { toServiceError } from './errors.js';
import { streamSnapshot } from './snapshot.js';
import { unary, unimplemented } from './unary.js';

export function maintenanceService(server: EtcdServer, log: Logger): MaintenanceServer {
  const admin = authorizeAdmin.bind(undefined, server);
  return {
    alarm: unary(log, 'Alarm', async (r, call) => {
      if (r.action === AlarmRequest_AlarmAction.GET) await authorizeUser(server, call);
      else await admin(call);
      return server.alarm(r);
    }),
    status: unary(log, 'Status', async (_r, call) => {
      await authorizeUser(server, call);
      return server.status();
    }),
    // etcd 3.6 answers a defragmentation without a response header (the gateway shows `{}`)
    defragment: unary(log, 'Defragment', async (_r, call) => {
      await admin(call);
      await server.defragment();
      return { header: undefined };
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
