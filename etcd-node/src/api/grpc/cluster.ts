// The Cluster service: MemberList, and membership changes through Raft (one at a time): MemberAdd (a
// voter, or a learner with isLearner), MemberPromote (a learner that has caught up), MemberRemove,
// MemberUpdate (peer URLs). With auth on, MemberList needs a user and changes the root role (as etcd 3.6).
import type { ClusterServer } from '../../gen/etcdserverpb/rpc.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { authorizeAdmin, authorizeUser } from './auth-context.js';
import { unary } from './unary.js';

export function clusterService(server: EtcdServer, log: Logger): ClusterServer {
  return {
    memberList: unary(log, 'MemberList', async (r, call) => {
      await authorizeUser(server, call);
      if (r.linearizable) await server.linearizableBarrier();
      return { header: server.clusterHeader(), members: server.memberList() };
    }),
    memberAdd: unary(log, 'MemberAdd', async (r, call) => {
      await authorizeAdmin(server, call);
      return server.memberAdd(r);
    }),
    memberRemove: unary(log, 'MemberRemove', async (r, call) => {
      await authorizeAdmin(server, call);
      return server.memberRemove(r.ID);
    }),
    memberUpdate: unary(log, 'MemberUpdate', async (r, call) => {
      await authorizeAdmin(server, call);
      return server.memberUpdate(r.ID, r.peerURLs);
    }),
    memberPromote: unary(log, 'MemberPromote', async (r, call) => {
      await authorizeAdmin(server, call);
      return server.memberPromote(r.ID);
    }),
  };
}
