// The KV service: Range, Put, DeleteRange, Txn, Compact.
import type { KVServer } from '../../gen/etcdserverpb/rpc.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { checkDeleteRange, checkPut, checkRange, checkTxn } from '../../server/validate.js';
import type { Logger } from '../../util/logger.js';
import { unary } from './unary.js';

export function kvService(server: EtcdServer, log: Logger): KVServer {
  return {
    range: unary(log, 'Range', (r) => {
      checkRange(r);
      return server.range(r);
    }),
    put: unary(log, 'Put', (r) => {
      checkPut(r);
      return server.put(r);
    }),
    deleteRange: unary(log, 'DeleteRange', (r) => {
      checkDeleteRange(r);
      return server.deleteRange(r);
    }),
    txn: unary(log, 'Txn', (r) => {
      checkTxn(r, server.cfg.maxTxnOps);
      return server.txn(r);
    }),
    compact: unary(log, 'Compact', (r) => server.compact(r)),
  };
}
