// The Cluster service: MemberList. Membership changes answer Unimplemented until replication lands.
import type { ClusterServer } from '../../gen/etcdserverpb/rpc.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { unary, unimplemented } from './unary.js';

export function clusterService(server: EtcdServer, log: Logger): ClusterServer {
  return {
    memberList: unary(log, 'MemberList', () => ({ header: server.clusterHeader(), members: server.memberList() })),
    memberAdd: unimplemented('MemberAdd'),
    memberRemove: unimplemented('MemberRemove'),
    memberUpdate: unimplemented('MemberUpdate'),
    memberPromote: unimplemented('MemberPromote'),
  };
}
