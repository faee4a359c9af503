// The KV service: Range, Put, DeleteRange, Txn, Compact. With auth on, every key a request reads or
// writes is checked against the caller's permissions first (etcd's rules: prev_kv needs read as well,
// a txn needs read on every compare and the rights of every op in both branches); writes carry the
// auth revision of that check into the log, where a stale one is refused (AuthStore.checkWriteHeader).
import type { KVServer, RequestOp, TxnRequest } from '../../gen/etcdserverpb/rpc.js';
import type { AuthInfo } from '../../auth/store.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { checkDeleteRange, checkPut, checkRange, checkTxn } from '../../server/validate.js';
import type { Logger } from '../../util/logger.js';
import { authInfoOf, authorizeAdmin } from './auth-context.js';
import { unary } from './unary.js';

const EMPTY = Buffer.alloc(0);

export function kvService(server: EtcdServer, log: Logger): KVServer {
  const auth = server.auth;
  return {
    range: unary(log, 'Range', async (r, call) => {
      checkRange(r);
      const info = await authInfoOf(server, call);
      auth.checkPermission(info, 'read', r.key, r.rangeEnd);
      if (!r.serializable) await server.linearizableBarrier();
      return server.range(r);
    }),
    put: unary(log, 'Put', async (r, call) => {
      checkPut(r);
      const info = await authInfoOf(server, call);
      auth.checkPermission(info, 'write', r.key, EMPTY);
      if (r.prevKv) auth.checkPermission(info, 'read', r.key, EMPTY);
      return server.put(r, auth.header(info));
    }),
    deleteRange: unary(log, 'DeleteRange', async (r, call) => {
      checkDeleteRange(r);
      const info = await authInfoOf(server, call);
      auth.checkPermission(info, 'write', r.key, r.rangeEnd);
      if (r.prevKv) auth.checkPermission(info, 'read', r.key, r.rangeEnd);
      return server.deleteRange(r, auth.header(info));
    }),
    txn: unary(log, 'Txn', async (r, call) => {
      checkTxn(r, server.cfg.maxTxnOps);
      const info = await authInfoOf(server, call);
      checkTxnPermissions(server, info, r);
      return server.txn(r, auth.header(info));
    }),
    // etcd 3.6 lets only the root role compact (3.4 let anyone)
    compact: unary(log, 'Compact', async (r, call) => {
      await authorizeAdmin(server, call);
      return server.compact(r);
    }),
  };
}

/** etcd's txn check: read on every compare's range, then every op of both branches, nested txns too. */
export function checkTxnPermissions(server: EtcdServer, info: AuthInfo | undefined, r: TxnRequest): void {
  const auth = server.auth;
  if (!auth.isEnabled) return;
  for (const c of r.compare) auth.checkPermission(info, 'read', c.key, c.rangeEnd);
  const op = (o: RequestOp): void => {
    if (o.requestRange) {
      auth.checkPermission(info, 'read', o.requestRange.key, o.requestRange.rangeEnd);
    } else if (o.requestPut) {
      auth.checkPermission(info, 'write', o.requestPut.key, EMPTY);
      if (o.requestPut.prevKv) auth.checkPermission(info, 'read', o.requestPut.key, EMPTY);
    } else if (o.requestDeleteRange) {
      const d = o.requestDeleteRange;
      auth.checkPermission(info, 'write', d.key, d.rangeEnd);
      if (d.prevKv) auth.checkPermission(info, 'read', d.key, d.rangeEnd);
    } else if (o.requestTxn) {
      checkTxnPermissions(server, info, o.requestTxn);
    }
  };
  r.success.forEach(op);
  r.failure.forEach(op);
}
