// kill -9 durability on a 3-member cluster: writers put unique keys through every member while, round
// after round, one member is SIGKILLed at a random moment (the leader in the first round) and restarted.
// Every write a client saw acknowledged must be on every member at the end, with its value.
//
//   CLUSTER_KILL9_SEED=1234 node --import tsx --test test/cluster/durability.test.ts   (the same kill schedule)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { startCluster, type LocalCluster } from '../support/cluster.js';
import { seededRandom as prng } from '../../etcd-node/src/raft/sim-member.js';
import { sendOnceFaultHandling } from '../support/etcd3.js';
import { skipUnless } from '../support/servers.js';

const ROUNDS = 3;
const WRITERS = 12;

const seed = Number(process.env['CLUSTER_KILL9_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('kill -9 of any member of a 3-member cluster loses no acknowledged write', skipUnless('etcdctl'), () => {
  let c: LocalCluster;
  before(async () => {
    c = await startCluster(3);
  });
  after(async () => {
    await c?.stop();
  });

  it(`${ROUNDS} rounds (seed ${seed})`, async () => {
    const rand = prng(seed);
    const clients = c.members.map(
      (m) =>
        new Etcd3({
          hosts: m.clientUrl,
          dialTimeout: 3000,
          faultHandling: sendOnceFaultHandling,
          defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 8000 }),
        }),
    );
    const acked = new Map<string, string>();
    let failures = 0;
    let stop = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let seq = 0; !stop; seq++) {
        const key = `dur/${w}/${seq}`;
        const value = `v${seed}-${w}-${seq}`;
        const client = clients[(w + seq) % clients.length]!;
        try {
          await client.put(key).value(value);
          acked.set(key, value);
        } catch {
          failures++;
          await sleep(50);
        }
      }
    });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await sleep(300 + rand() * 700);
        const victim = round === 0 ? await c.leader() : Math.floor(rand() * 3);
        assert.ok(victim >= 0, 'a leader to kill');
        await c.members[victim]!.kill('SIGKILL');
        await sleep(200 + rand() * 800);
        await c.members[victim]!.restart();
      }
      await sleep(500);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    assert.ok(acked.size > 100, `enough writes were acknowledged (${acked.size}, ${failures} failed)`);
    for (const [i, client] of clients.entries()) {
      const all = await client.getAll().prefix('dur/').strings();
      const missing = [...acked].filter(([k, v]) => all[k] !== v);
      assert.deepEqual(missing.slice(0, 10), [], `member ${i + 1} lacks ${missing.length} of ${acked.size} acknowledged writes`);
    }
    for (const client of clients) client.close();
  });
});
