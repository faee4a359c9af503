// A member far behind gets the leader's database: with --snapshot-count=50 and only 10 entries kept
// behind a snapshot, a follower that was down while 300 writes went by cannot catch up from the log;
// the leader sends it a copy of its backend, the follower restores from it (keys, leases, members) and
// goes on from the log. Every member ends with the same hashkv.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startCluster, type LocalCluster } from '../support/cluster.js';
import { etcdctl } from '../support/etcdctl.js';
import { skipUnless } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function ok(endpoint: string, args: string[]): Promise<string> {
  const r = await etcdctl(endpoint, args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('a member far behind receives a snapshot', skipUnless('etcdctl'), () => {
  let c: LocalCluster;
  before(async () => {
    c = await startCluster(3, ['--snapshot-count=50', '--experimental-snapshot-catchup-entries=10']);
  });
  after(async () => {
    await c?.stop();
  });

  it('restores from the leader’s database and catches up', async () => {
    const leader = await c.leader();
    const behind = c.members[(leader + 1) % 3]!;
    const rest = c.members.filter((m) => m !== behind);
    await behind.kill('SIGKILL');
    const client = new Etcd3({ hosts: rest.map((m) => m.clientUrl) });
    let leaseId: string;
    try {
      for (let i = 0; i < 300; i++) await client.put(`snap/${String(i).padStart(3, '0')}`).value(String(i));
      const lease = client.lease(600, { autoKeepAlive: false });
      leaseId = BigInt(await lease.grant()).toString(16);
      await lease.put('snap/leased').value('yes');
      await client.delete().key('snap/000');
    } finally {
      client.close();
    }
    await behind.restart();
    let value = '';
    for (let i = 0; i < 50 && value !== 'yes\n'; i++) {
      value = (await etcdctl(behind.endpoint, ['get', 'snap/leased', '--print-value-only', '--consistency=s'])).stdout;
      if (value !== 'yes\n') await sleep(200);
    }
    assert.equal(value, 'yes\n', 'the member caught up');
    assert.match(behind.logs(), /restoring database snapshot from leader/, 'it caught up through a snapshot, not the log');
    const keys = await ok(behind.endpoint, ['get', 'snap/', '--prefix', '--keys-only', '--consistency=s']);
    assert.equal((keys.match(/^snap\//gm) ?? []).length, 300, '299 numbered keys (one deleted) and the leased one');
    assert.match(await ok(behind.endpoint, ['lease', 'timetolive', leaseId, '--keys']), /granted with TTL\(600s\).*snap\/leased/);
    assert.equal((await ok(behind.endpoint, ['member', 'list'])).trim().split('\n').length, 3);
    let hashes = new Set<string>();
    for (let i = 0; i < 50; i++) {
      hashes = new Set(await Promise.all(c.members.map(async (m) => (await ok(m.endpoint, ['endpoint', 'hashkv', '-w', 'json'])).replace(/.*"hash":(\d+).*\n?/s, '$1'))));
      if (hashes.size === 1) break;
      await sleep(200);
    }
    assert.equal(hashes.size, 1, 'hashkv equal on all members');
    // and it keeps replicating from the log afterwards
    await ok(rest[0]!.endpoint, ['put', 'after-snapshot', 'ok']);
    let after = '';
    for (let i = 0; i < 25 && after !== 'ok\n'; i++) {
      after = (await etcdctl(behind.endpoint, ['get', 'after-snapshot', '--print-value-only', '--consistency=s'])).stdout;
      if (after !== 'ok\n') await sleep(200);
    }
    assert.equal(after, 'ok\n');
  });
});
