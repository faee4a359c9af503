// The Election service (v3electionpb), as etcd serves it from its concurrency recipes. A candidate's key
// is `<name>/<lease hex>` (a lease of 0 gets a new 60 s lease); the leader is the key under `<name>/`
// with the lowest create revision, and its value is what the leader proclaims.
//
//   Campaign  put the key unless it exists (then proclaim the new value), wait until every key created
//             before it is gone; answers the leader key {name, key, rev (its create revision), lease}
//   Proclaim  `if create_revision(key) = rev then put(key, value)`, else `election: not leader`
//   Leader    the current leader's key-value, or `election: no leader`
//   Observe   a stream of the leader's key-value: now, on each new value, and each new leader
//   Resign    `if create_revision(key) = rev then delete(key)`; not being leader is not an error
import type { ServerWritableStream } from '@grpc/grpc-js';
import { RangeRequest, type ResponseHeader } from '../../gen/etcdserverpb/rpc.js';
import type { ElectionServer, LeaderKey, LeaderRequest, LeaderResponse } from '../../gen/v3electionpb/v3election.js';
import { Event_EventType, type KeyValue } from '../../gen/mvccpb/kv.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { Errors } from '../../server/errors.js';
import type { Logger } from '../../util/logger.js';
import { toServiceError } from './errors.js';
import { CallerClient, callAborted, contenders, ownKey, recipe, prefixEnd } from './recipes.js';
import { unary } from './unary.js';

export function electionService(server: EtcdServer, log: Logger): ElectionServer {
  return {
    campaign: unary(log, 'Campaign', (r, call) => recipe(async () => {
      const aborted = callAborted(call);
      const c = await CallerClient.of(server, call);
      const lease = await c.leaseOrNew(r.lease);
      const pfx = contenders(r.name);
      const key = ownKey(r.name, lease);
      const { res, rev } = await c.createIfAbsent(key, r.value, lease);
      if (!res.succeeded) {
        const current = res.responses[0]?.responseRange?.kvs[0];
        if (current !== undefined && !current.value.equals(r.value)) {
          const p = await c.ifOwner(key, rev, { requestPut: { key, value: r.value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } });
          if (!p.succeeded) throw Errors.ElectionNotLeader;
        }
      }
      try {
        await c.waitDeletes(pfx, rev - 1n, aborted);
      } catch (err) {
        // the caller went away: withdraw the candidacy
        await c.ifOwner(key, rev, { requestDeleteRange: { key, rangeEnd: Buffer.alloc(0), prevKv: false } }).catch(() => undefined);
        throw err;
      }
      return { header: res.header, leader: { name: r.name, key, rev, lease } };
    })),
    proclaim: unary(log, 'Proclaim', (r, call) => recipe(async () => {
      const leader = mustHaveLeader(r.leader);
      const c = await CallerClient.of(server, call);
      const res = await c.ifOwner(leader.key, leader.rev, {
        requestPut: { key: leader.key, value: r.value, lease: leader.lease, prevKv: false, ignoreValue: false, ignoreLease: false },
      });
      if (!res.succeeded) throw Errors.ElectionNotLeader;
      return { header: res.header };
    })),
    leader: unary(log, 'Leader', (r, call) => recipe(async () => {
      const c = await CallerClient.of(server, call);
      const res = c.firstCreated(contenders(r.name));
      const kv = res.kvs[0];
      if (kv === undefined) throw Errors.ElectionNoLeader;
      return { header: res.header, kv };
    })),
    resign: unary(log, 'Resign', (r, call) => recipe(async () => {
      const leader = mustHaveLeader(r.leader);
      const c = await CallerClient.of(server, call);
      const res = await c.ifOwner(leader.key, leader.rev, { requestDeleteRange: { key: leader.key, rangeEnd: Buffer.alloc(0), prevKv: false } });
      return { header: res.header };
    })),
    observe: (call: ServerWritableStream<LeaderRequest, LeaderResponse>) => {
      observe(server, call).then(
        () => call.end(),
        (err: unknown) => {
          if (!call.cancelled) call.emit('error', toServiceError(err, log, 'Observe'));
        },
      );
    },
  };
}

function mustHaveLeader(l: LeaderKey | undefined): LeaderKey {
  if (l === undefined) throw Errors.ElectionMissingLeaderKey;
  return l;
}

/** Sends the leader's key-value each time it changes, until the caller goes away. */
async function observe(server: EtcdServer, call: ServerWritableStream<LeaderRequest, LeaderResponse>): Promise<void> {
  const aborted = callAborted(call);
  const c = await CallerClient.of(server, call);
  const pfx = contenders(call.request.name);
  const end = prefixEnd(pfx);
  const send = (header: ResponseHeader | undefined, kv: KeyValue): void => {
    call.write({ header, kv });
  };
  while (!aborted.aborted) {
    // the leader now, or the first key put under the prefix
    let leader: KeyValue | undefined = c.firstCreated(pfx).kvs[0];
    if (leader === undefined) {
      leader = await nextPut(server, pfx, end, aborted);
      send(server.header(Number(leader.modRevision)), leader);
    } else {
      send(server.header(), leader);
    }
    // then every new value of that key, until it is deleted
    const key = leader.key;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        unsubscribe();
        aborted.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => done(Errors.Stopped);
      const unsubscribe = server.store.onCommit((rev, events) => {
        for (const ev of events) {
          if (!ev.kv?.key.equals(key)) continue;
          if (ev.type === Event_EventType.DELETE) {
            done();
            return;
          }
          send(server.header(rev), ev.kv);
        }
      });
      aborted.addEventListener('abort', onAbort);
      // deleted between the read and the subscription: look for the next leader
      if (server.range(RangeRequest.fromPartial({ key, countOnly: true })).count === 0n) done();
    });
  }
}

/** The next key-value put under [pfx, end). */
function nextPut(server: EtcdServer, pfx: Buffer, end: Buffer, aborted: AbortSignal): Promise<KeyValue> {
  return new Promise<KeyValue>((resolve, reject) => {
    const done = (kv?: KeyValue): void => {
      unsubscribe();
      aborted.removeEventListener('abort', onAbort);
      if (kv) resolve(kv);
      else reject(Errors.Stopped);
    };
    const onAbort = (): void => done();
    const unsubscribe = server.store.onCommit((_rev, events) => {
      for (const ev of events) {
        if (ev.type === Event_EventType.PUT && ev.kv && ev.kv.key.compare(pfx) >= 0 && ev.kv.key.compare(end) < 0) {
          done(ev.kv);
          return;
        }
      }
    });
    // (the caller read the prefix empty in this same tick: no put can have slipped in between)
    aborted.addEventListener('abort', onAbort);
  });
}
