// Range options that etcdctl 3.4 cannot send (count_only, min/max mod and create revision filters) or
// prints only in part, sent raw through the `etcd3` npm client's KV stub to etcd-node and to a real
// etcd side by side: the whole responses must be equal, headers included (ids and raft term aside).
//
//   node --import tsx --test test/compat/range-options.test.ts
//   COMPAT_SELF_CHECK=1 node --import tsx --test test/compat/range-options.test.ts   (both sides real etcd)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3, type IRangeRequest, type IRangeResponse } from 'etcd3';
import { Compat } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

/** The response as comparable JSON: bytes as base64, the header without ids and raft term. */
function canonical(res: IRangeResponse): string {
  return JSON.stringify({
    revision: String(res.header.revision),
    kvs: res.kvs.map((kv) => ({
      key: Buffer.from(kv.key).toString('base64'),
      value: Buffer.from(kv.value).toString('base64'),
      create_revision: String(kv.create_revision),
      mod_revision: String(kv.mod_revision),
      version: String(kv.version),
      lease: String(kv.lease),
    })),
    more: res.more,
    count: String(res.count),
  });
}

describe('Range options through the etcd3 client: etcd-node answers what etcd answers', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  let nodeClient: Etcd3 | undefined;
  let etcdClient: Etcd3 | undefined;
  before(async () => {
    compat = await Compat.start();
    nodeClient = new Etcd3({ hosts: compat.node.server.clientUrl });
    etcdClient = new Etcd3({ hosts: compat.etcd.server.clientUrl });
  });
  after(async () => {
    nodeClient?.close();
    etcdClient?.close();
    await compat?.stop();
  });

  it('count_only, keys_only, limit, revision filters, sorting', async () => {
    const c = compat;
    assert.ok(c !== undefined && nodeClient !== undefined && etcdClient !== undefined, 'servers did not start');
    const writes: [string, string][] = [
      ['k/a', '1'],
      ['k/b', '2'],
      ['k/c', '3'],
      ['k/a', '11'],
      ['k/d', '4'],
      ['k/b', '22'],
      ['k/e', ''],
      ['k/a', '111'],
      ['l/x', 'x'],
    ];
    for (const [k, v] of writes) await c.same(['put', k, v], { expectCode: 0 });
    await c.same(['del', 'k/c'], { expectCode: 0 });
    c.assertNoMismatch();

    const k = Buffer.from('k/');
    const kEnd = Buffer.from('k0'); // prefix end of "k/"
    const requests: [string, IRangeRequest][] = [
      ['count_only over a prefix', { key: k, range_end: kEnd, count_only: true }],
      ['count_only with a limit', { key: k, range_end: kEnd, count_only: true, limit: 2 }],
      ['count_only of a single key', { key: Buffer.from('k/a'), count_only: true }],
      ['count_only of a missing key', { key: Buffer.from('k/zz'), count_only: true }],
      ['count_only over everything', { key: Buffer.from([0]), range_end: Buffer.from([0]), count_only: true }],
      ['count_only at an old revision', { key: k, range_end: kEnd, count_only: true, revision: 4 }],
      ['keys_only', { key: k, range_end: kEnd, keys_only: true }],
      ['keys_only with limit', { key: k, range_end: kEnd, keys_only: true, limit: 2 }],
      ['limit 1', { key: k, range_end: kEnd, limit: 1 }],
      ['min_mod_revision', { key: k, range_end: kEnd, min_mod_revision: 6 }],
      ['max_mod_revision', { key: k, range_end: kEnd, max_mod_revision: 6 }],
      ['min_create_revision', { key: k, range_end: kEnd, min_create_revision: 4 }],
      ['max_create_revision', { key: k, range_end: kEnd, max_create_revision: 3 }],
      ['filters with limit', { key: k, range_end: kEnd, min_mod_revision: 3, limit: 1 }],
      ['filters with count_only', { key: k, range_end: kEnd, min_mod_revision: 6, count_only: true }],
      ['sort by value descending, limit', { key: k, range_end: kEnd, sort_target: 'Value', sort_order: 'Descend', limit: 2 }],
      ['sort by version ascending', { key: k, range_end: kEnd, sort_target: 'Version', sort_order: 'Ascend' }],
      ['sort by mod descending with count_only', { key: k, range_end: kEnd, sort_target: 'Mod', sort_order: 'Descend', count_only: true }],
      ['serializable', { key: k, range_end: kEnd, serializable: true }],
      ['range_end before key', { key: Buffer.from('k/d'), range_end: Buffer.from('k/a') }],
    ];
    const mismatches: string[] = [];
    for (const [name, req] of requests) {
      const [got, want] = await Promise.all([nodeClient.kv.range(req), etcdClient.kv.range(req)]);
      const g = canonical(got);
      const w = canonical(want);
      if (g !== w) mismatches.push(`${name}:\n  etcd-node: ${g}\n  real etcd: ${w}`);
    }
    assert.deepEqual(mismatches, []);
  });
});
