// A 3-member etcd-node cluster of real processes, driven by etcdctl and the etcd3 client: replication,
// members listing each other, leader failover after kill -9, a restarted member catching up, a cut-off
// member refusing linearizable reads, leases kept alive through a follower, watches on followers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startCluster, type LocalCluster } from '../support/cluster.js';
import { etcdctl } from '../support/etcdctl.js';
import { skipUnless } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function ok(endpoint: string, args: string[]): Promise<string> {
  const r = await etcdctl(endpoint, args);
  assert.equal(r.code, 0, `etcdctl --endpoints=${endpoint} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `endpoint hashkv` of every running member, once they agree (or the last answer after 10 s). */
async function hashesAgree(c: LocalCluster): Promise<string[]> {
  let hashes: string[] = [];
  for (let i = 0; i < 50; i++) {
    hashes = await Promise.all(c.members.map(async (m) => (await ok(m.endpoint, ['endpoint', 'hashkv', '-w', 'json'])).replace(/.*"hash":(\d+).*\n?/s, '$1')));
    if (new Set(hashes).size === 1) break;
    await sleep(200);
  }
  return hashes;
}

describe('a 3-member etcd-node cluster', skipUnless('etcdctl'), () => {
  let c: LocalCluster;
  before(async () => {
    c = await startCluster(3);
  });
  after(async () => {
    await c?.stop();
  });

  it('replicates writes to every member; every member lists all three with their client URLs', async () => {
    const [a, b, third] = c.members;
    await ok(b!.endpoint, ['put', 'greeting', 'hello']);
    for (const m of [a!, b!, third!]) assert.equal(await ok(m.endpoint, ['get', 'greeting', '--print-value-only']), 'hello\n');
    const list = await ok(a!.endpoint, ['member', 'list']);
    for (const m of c.members) assert.ok(list.includes(`http://${m.endpoint}`), `member list shows ${m.endpoint}:\n${list}`);
    assert.equal(list.trim().split('\n').length, 3);
    const status = await ok(c.endpoints, ['endpoint', 'status']);
    assert.equal((status.match(/, true, false, /g) ?? []).length, 1, `exactly one leader:\n${status}`);
    const hashes = await hashesAgree(c);
    assert.equal(new Set(hashes).size, 1, `hashkv equal on all: ${hashes.join(' ')}`);
  });

  it('a lease kept alive through a follower keeps its key; a watch on a follower sees a write made on the leader', async () => {
    const leader = await c.leader();
    const follower = c.members[(leader + 1) % 3]!;
    const client = new Etcd3({ hosts: `http://${follower.endpoint}` });
    try {
      const seen: string[] = [];
      const w = await client.watch().key('watched').create();
      w.on('put', (kv) => seen.push(kv.value.toString()));
      const lease = client.lease(2); // kept alive by the client, through the follower
      await lease.put('leased').value('x');
      await ok(c.members[leader]!.endpoint, ['put', 'watched', 'from-leader']);
      await sleep(3500); // longer than the TTL
      assert.equal(await client.get('leased').string(), 'x', 'the keep-alives reached the leader');
      assert.deepEqual(seen, ['from-leader']);
      await lease.revoke();
      assert.equal(await client.get('leased').string(), null);
      await w.cancel();
    } finally {
      client.close();
    }
  });

  it('kill -9 of the leader: a write is accepted within 5 s; the member restarts and catches up', async () => {
    const leader = await c.leader();
    assert.ok(leader >= 0, 'a leader');
    const victim = c.members[leader]!;
    const others = c.members.filter((m) => m !== victim).map((m) => m.endpoint).join(',');
    await victim.kill('SIGKILL');
    const start = Date.now();
    let accepted = false;
    while (Date.now() - start < 5000) {
      const r = await etcdctl(others, ['--command-timeout=1s', 'put', 'after-failover', 'yes']);
      if (r.code === 0) {
        accepted = true;
        break;
      }
    }
    const took = Date.now() - start;
    assert.ok(accepted, `no write accepted within 5 s of killing the leader`);
    for (let i = 0; i < 20; i++) await ok(others, ['put', `while-down-${i}`, String(i)]);
    await victim.restart();
    assert.equal(await ok(victim.endpoint, ['get', 'while-down-19', '--print-value-only']), '19\n');
    const hashes = await hashesAgree(c);
    assert.equal(new Set(hashes).size, 1, `hashkv equal on all after the restart: ${hashes.join(' ')} (failover write took ${took} ms)`);
  });

  it('a member cut off from the others serves no linearizable read (serializable still answers); healed, it catches up', async () => {
    const leader = await c.leader();
    const i = (leader + 1) % 3;
    const cut = c.members[i]!;
    const rest = c.members.filter((m) => m !== cut).map((m) => m.endpoint).join(',');
    await ok(c.endpoints, ['put', 'partition', 'before']);
    await sleep(300);
    c.isolate(i);
    try {
      await ok(rest, ['put', 'partition', 'during']);
      const lin = await etcdctl(cut.endpoint, ['--command-timeout=3s', 'get', 'partition', '--print-value-only']);
      assert.notEqual(lin.code, 0, `a linearizable read on the cut-off member must fail, got: ${lin.stdout}`);
      const ser = await ok(cut.endpoint, ['get', 'partition', '--print-value-only', '--consistency=s']);
      assert.equal(ser, 'before\n', 'a serializable read answers from the local (stale) state');
    } finally {
      c.heal();
    }
    let value = '';
    for (let n = 0; n < 50 && value !== 'during\n'; n++) {
      const r = await etcdctl(cut.endpoint, ['--command-timeout=2s', 'get', 'partition', '--print-value-only']);
      value = r.stdout;
      if (value !== 'during\n') await sleep(200);
    }
    assert.equal(value, 'during\n', 'after healing, a linearizable read sees the write made during the partition');
  });
});
