// The Lock service (v3lockpb), as etcd serves it from its concurrency recipes: Lock puts
// `<name>/<lease hex>` with the caller's lease (a lease of 0 gets a new 60 s lease) unless it exists,
// and returns once every key under `<name>/` created before it is gone; the key it returns is the lock,
// and it lasts as long as the lease or until Unlock deletes it. A caller that goes away while waiting
// gives its key up.
import type { LockServer } from '../../gen/v3lockpb/v3lock.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { CallerClient, callAborted, contenders, ownKey, recipe } from './recipes.js';
import { unary } from './unary.js';

export function lockService(server: EtcdServer, log: Logger): LockServer {
  return {
    lock: unary(log, 'Lock', (r, call) => recipe(async () => {
      const aborted = callAborted(call);
      const c = await CallerClient.of(server, call);
      const lease = await c.leaseOrNew(r.lease);
      const pfx = contenders(r.name);
      const key = ownKey(r.name, lease);
      const { res, rev } = await c.createIfAbsent(key, Buffer.alloc(0), lease, [{ requestRange: c.firstCreatedRequest(pfx) }]);
      const first = res.responses[1]?.responseRange?.kvs[0];
      if (first === undefined || first.createRevision === rev) return { header: res.header, key };
      try {
        const header = await c.waitDeletes(pfx, rev - 1n, aborted);
        return { header, key };
      } catch (err) {
        // gave up waiting: do not leave a key that would take the lock later
        await c.del(key).catch(() => undefined);
        throw err;
      }
    })),
    unlock: unary(log, 'Unlock', (r, call) => recipe(async () => {
      const c = await CallerClient.of(server, call);
      return { header: (await c.del(r.key)).header };
    })),
  };
}
