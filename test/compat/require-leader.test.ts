// clientv3.WithRequireLeader (gRPC metadata hasleader=true) on a member cut off from its peers: etcd ends
// the member's require-leader watches with `etcdserver: no leader` within a few election timeouts, and
// refuses new require-leader calls at once; calls without the metadata are served as before (a
// serializable read). Runs on a 3-member etcd-node cluster (COMPAT_SELF_CHECK=1: real etcd, the
// reference for the same assertions).
import assert from 'node:assert/strict';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { KVClient, WatchClient, type WatchResponse } from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import { startCluster, type LocalCluster } from '../support/cluster.js';
import { skipUnless } from '../support/servers.js';

const requireLeader = (): Metadata => {
  const md = new Metadata();
  md.set('hasleader', 'true');
  return md;
};

describe('require-leader calls on a member cut off from its peers', skipUnless('etcdctl'), () => {
  let cluster: LocalCluster;
  let kv: KVClient;
  let watch: WatchClient;
  let cut = -1;

  before(async () => {
    cluster = await startCluster(3);
    const leader = await cluster.leader();
    cut = leader === 0 ? 1 : 0;
    const ep = cluster.members[cut]!.endpoint;
    kv = new KVClient(ep, credentials.createInsecure());
    watch = new WatchClient(ep, credentials.createInsecure());
  });

  after(async () => {
    kv?.close();
    watch?.close();
    cluster?.heal();
    await cluster?.stop();
  });

  it('the watch is ended with "etcdserver: no leader" within a few election timeouts; new ones are refused at once', async () => {
    const stream = watch.watch(requireLeader());
    const ended = new Promise<{ err: ServiceError; at: number }>((resolve) => stream.on('error', (err: ServiceError) => resolve({ err, at: Date.now() })));
    const created = new Promise<void>((resolve) => stream.once('data', (r: WatchResponse) => (r.created ? resolve() : undefined)));
    stream.write({ createRequest: { key: Buffer.from('rl/'), rangeEnd: Buffer.from('rl0'), startRevision: 0n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false } });
    await created;
    const cutAt = Date.now();
    cluster.isolate(cut);
    const { err, at } = await Promise.race([ended, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('the require-leader watch stayed open 30 s after the member lost its peers')), 30_000))]);
    assert.equal(err.code, status.UNAVAILABLE);
    assert.equal(err.details, 'etcdserver: no leader');
    const took = at - cutAt;
    assert.ok(took < 15_000, `ended ${took} ms after the cut`);
    console.log(`# the require-leader watch ended ${took} ms after the member was cut off`);

    // a new one: refused at once
    const again = watch.watch(requireLeader());
    const refused = await new Promise<ServiceError>((resolve) => again.on('error', resolve));
    assert.equal(refused.code, status.UNAVAILABLE);
    assert.equal(refused.details, 'etcdserver: no leader');

    // a unary call with the metadata: refused; without it a serializable read is served
    const range = (md: Metadata): Promise<ServiceError | undefined> =>
      new Promise((resolve) => kv.range({ key: Buffer.from('rl/x'), rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: true, keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n }, md, (e) => resolve(e ?? undefined)));
    const withLeader = await range(requireLeader());
    assert.equal(withLeader?.code, status.UNAVAILABLE);
    assert.equal(withLeader?.details, 'etcdserver: no leader');
    assert.equal(await range(new Metadata()), undefined, 'a serializable read without the metadata is served');

    // /health: unhealthy without a leader; ?serializable=true asks only whether this member serves
    // serializable reads, which it does (etcd 3.6's answers)
    const health = async (query: string): Promise<string> => {
      const r = await fetch(`http://${cluster.members[cut]!.endpoint}/health${query}`);
      return `${r.status} ${await r.text()}`;
    };
    assert.equal(await health(''), '503 {"health":"false","reason":"RAFT NO LEADER"}');
    assert.equal(await health('?serializable=true'), '200 {"health":"true","reason":""}');
  });

  it('once the member has a leader again, require-leader watches are accepted', async () => {
    cluster.heal();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const stream = watch.watch(requireLeader());
      const ok = await new Promise<boolean>((resolve) => {
        stream.once('data', (r: WatchResponse) => resolve(r.created));
        stream.once('error', () => resolve(false));
        stream.write({ createRequest: { key: Buffer.from('rl/'), rangeEnd: Buffer.alloc(0), startRevision: 0n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false } });
      });
      stream.cancel();
      if (ok) return;
      assert.ok(Date.now() < deadline, 'no leader 30 s after the heal');
      await new Promise((r) => setTimeout(r, 300));
    }
  });
});
