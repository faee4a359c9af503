// The Lease service: Grant, Revoke, KeepAlive (a bidirectional stream: one answer per request, in
// order), TimeToLive, Leases. As etcd answers: a keep-alive for an unknown or expired lease is TTL 0 on
// the stream (not an error), TimeToLive of an unknown lease is TTL -1, Revoke of one is NotFound.
// With auth on, every call needs a user (etcd 3.6); Revoke needs write permission on every key the
// lease holds (it deletes them) and TimeToLive with keys needs read permission on them (etcd 3.5).
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseServer } from '../../gen/etcdserverpb/rpc.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { authorizeUser } from './auth-context.js';
import { toServiceError } from './errors.js';
import { unary } from './unary.js';

const EMPTY = Buffer.alloc(0);

export function leaseService(server: EtcdServer, log: Logger): LeaseServer {
  const auth = server.auth;
  return {
    leaseGrant: unary(log, 'LeaseGrant', async (r, call) => {
      await authorizeUser(server, call);
      return server.leaseGrant(r);
    }),
    leaseRevoke: unary(log, 'LeaseRevoke', async (r, call) => {
      const info = await authorizeUser(server, call);
      if (auth.isEnabled) for (const k of server.leaseKeys(r.ID)) auth.checkPermission(info, 'write', k, EMPTY);
      return server.leaseRevoke(r);
    }),
    leaseTimeToLive: unary(log, 'LeaseTimeToLive', async (r, call) => {
      const info = await authorizeUser(server, call);
      if (auth.isEnabled && r.keys) for (const k of server.leaseKeys(r.ID)) auth.checkPermission(info, 'read', k, EMPTY);
      return server.leaseTimeToLive(r);
    }),
    leaseLeases: unary(log, 'LeaseLeases', async (_r, call) => {
      await authorizeUser(server, call);
      return server.leaseLeases();
    }),
    leaseKeepAlive: (call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>) => {
      // requests are answered strictly in order: each waits for the one before it
      let queue: Promise<void> = Promise.resolve();
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        call.emit('error', toServiceError(err, log, 'LeaseKeepAlive'));
      };
      call.on('data', (r: LeaseKeepAliveRequest) => {
        queue = queue.then(async () => {
          if (failed || call.cancelled) return;
          try {
            await authorizeUser(server, call);
            const ttl = await server.leaseRenew(r.ID);
            call.write({ header: server.header(), ID: r.ID, TTL: BigInt(ttl) });
          } catch (err) {
            fail(err);
          }
        });
      });
      call.on('end', () => {
        void queue.then(() => {
          if (!failed) call.end();
        });
      });
      call.on('error', () => undefined);
    },
  };
}
