// Membership changes on a running 3-member cluster, driven by etcdctl: a new member joins as a learner
// (`member add --learner`, started with --initial-cluster-state=existing), `member promote` is refused
// until it has caught up and then succeeds, `member remove` makes it stop itself, and every member ends
// with the same hashkv. etcd's errors for bad changes on the way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCluster, type LocalCluster } from '../support/cluster.js';
import { etcdctl } from '../support/etcdctl.js';
import { freePorts, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function ok(endpoint: string, args: string[]): Promise<string> {
  const r = await etcdctl(endpoint, args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Transient answers while leadership moves (a loaded machine may hold an election at any time). */
const TRANSIENT = /leader changed|no leader|request timed out/;

async function fails(endpoint: string, args: string[], message: string): Promise<void> {
  let r = await etcdctl(endpoint, args);
  for (let i = 0; i < 10 && r.code !== 0 && TRANSIENT.test(r.stderr); i++) {
    await sleep(300);
    r = await etcdctl(endpoint, args);
  }
  assert.notEqual(r.code, 0, `etcdctl ${args.join(' ')} should fail, printed: ${r.stdout}`);
  assert.ok(r.stderr.includes(message), `etcdctl ${args.join(' ')}: expected "${message}" in:\n${r.stderr}`);
}

async function hashes(endpoints: string[]): Promise<Set<string>> {
  let seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const hs = await Promise.all(endpoints.map(async (e) => (await ok(e, ['endpoint', 'hashkv', '-w', 'json'])).replace(/.*"hash":(\d+).*\n?/s, '$1')));
    seen = new Set(hs);
    if (seen.size === 1) break;
    await sleep(200);
  }
  return seen;
}

describe('membership: learner → promote → remove on a running cluster', skipUnless('etcdctl'), () => {
  let c: LocalCluster;
  let joined: RunningServer | undefined;
  before(async () => {
    c = await startCluster(3);
  });
  after(async () => {
    await joined?.stop();
    await c?.stop();
  });

  it('refuses bad changes with etcd errors', async () => {
    const [m1] = c.members;
    const list = await ok(m1!.endpoint, ['member', 'list']);
    const voterId = list.split(',')[0]!.trim();
    const takenUrl = /, (http:\/\/127\.0\.0\.1:\d+), /.exec(list)![1]!;
    await fails(m1!.endpoint, ['member', 'add', 'dup', `--peer-urls=${takenUrl}`], 'Peer URLs already exists');
    await fails(m1!.endpoint, ['member', 'remove', '1234abcd'], 'member not found');
    await fails(m1!.endpoint, ['member', 'promote', voterId], 'can only promote a learner member');
    await fails(m1!.endpoint, ['member', 'promote', '1234abcd'], 'member not found');
    // MemberUpdate: to another member's URL is refused; to its own URLs it is accepted
    const otherUrl = list
      .trim()
      .split('\n')
      .map((l) => l.split(', '))
      .find((f) => f[0] !== voterId)![3]!;
    await fails(m1!.endpoint, ['member', 'update', voterId, `--peer-urls=${otherUrl}`], 'Peer URLs already exists');
    await fails(m1!.endpoint, ['member', 'update', '1234abcd', '--peer-urls=http://127.0.0.1:1'], 'member not found');
    const ownUrl = new RegExp(`^${voterId}, started, \\w+, (http://[^,]+), `, 'm').exec(list)![1]!;
    assert.match(await ok(m1!.endpoint, ['member', 'update', voterId, `--peer-urls=${ownUrl}`]), /updated/);
  });

  it('a learner joins, is promoted once caught up, and a removed member stops itself', async () => {
    const [m1] = c.members;
    const [clientPort, peerPort] = await freePorts(2);
    const host = '127.0.0.20';
    const peerUrl = `http://${host}:${peerPort}`;
    const added = await ok(m1!.endpoint, ['member', 'add', 'm4', '--learner', `--peer-urls=${peerUrl}`]);
    // etcdctl pads the id to 16 places with spaces (%16x): an id with a leading zero nibble has two
    const id = /Member +([0-9a-f]+) added/.exec(added)?.[1];
    assert.ok(id, `member add printed the new id:\n${added}`);
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(added)?.[1] ?? '';
    assert.ok(initialCluster?.includes(`m4=${peerUrl}`), `member add printed the initial cluster:\n${added}`);
    assert.match(await ok(m1!.endpoint, ['member', 'list']), new RegExp(`${id}, unstarted, , ${peerUrl}, , true`));
    // not started yet, so not caught up; and only one learner at a time (--max-learners 1)
    // asked of every member: the leader judges itself, a follower asks the leader
    for (const m of c.members) {
      try {
        await fails(m.endpoint, ['member', 'promote', id], 'can only promote a learner member which is in sync with leader');
      } catch (err) {
        const logs = c.members.map((x) => `--- ${x.name}\n${x.logs().split('\n').filter((l) => /leader|peer|request/.test(l)).slice(-15).join('\n')}`);
        throw new Error(`${String(err)}\n${logs.join('\n')}`, { cause: err });
      }
    }
    await fails(m1!.endpoint, ['member', 'add', 'm5', '--learner', `--peer-urls=http://127.0.0.21:${peerPort}`], 'too many learner members in cluster');

    joined = await startServer({
      kind: 'node',
      name: 'm4',
      member: { host, clientPort: clientPort!, peerPort: peerPort!, initialCluster },
      extraArgs: ['--initial-cluster-state=existing'],
      readyProbe: 'status',
    });
    const status = await ok(joined.endpoint, ['endpoint', 'status']);
    assert.match(status, /, false, true, /, `the new member reports itself a learner:\n${status}`);
    await fails(joined.endpoint, ['put', 'x', 'y'], 'rpc not supported for learner');

    let promoted = '';
    for (let i = 0; i < 50 && !promoted; i++) {
      const r = await etcdctl(m1!.endpoint, ['member', 'promote', id]);
      if (r.code === 0) promoted = r.stdout;
      else await sleep(200);
    }
    assert.match(promoted, /promoted/, 'promote succeeds once the learner caught up');
    const list = await ok(c.endpoints, ['member', 'list']);
    assert.match(list, new RegExp(`${id}, started, m4, ${peerUrl}, http://${host}:${clientPort}, false`));
    await ok(joined.endpoint, ['put', 'from-m4', 'yes']);
    const all = [...c.members.map((m) => m.endpoint), joined.endpoint];
    assert.equal((await hashes(all)).size, 1, 'hashkv equal on all four members');

    await ok(m1!.endpoint, ['member', 'remove', id]);
    for (let i = 0; i < 100 && joined.running(); i++) await sleep(100);
    assert.equal(joined.running(), false, 'the removed member stopped itself');
    assert.match(joined.logs(), /permanently removed from the cluster/);
    assert.equal((await ok(c.endpoints, ['member', 'list'])).trim().split('\n').length, 3);
    await ok(c.endpoints, ['put', 'after-remove', 'yes']);
    assert.equal((await hashes(c.members.map((m) => m.endpoint))).size, 1, 'hashkv equal on the remaining three');
  });

  it('a member that already ran cannot join again with an empty data dir', async () => {
    const list = await ok(c.members[0]!.endpoint, ['member', 'list']);
    // m2's advertised peer URL (its proxy), as a pod that lost its volume would present it
    const m2Url = /, m2, (http:\/\/127\.0\.0\.1:\d+), /.exec(list)![1]!;
    const [clientPort, peerPort] = await freePorts(2);
    const initialCluster = list
      .trim()
      .split('\n')
      .map((l) => l.split(', '))
      .map((f) => `${f[2]}=${f[3]}`)
      .join(',');
    const err = await startServer({
      kind: 'node',
      name: 'm2',
      member: { host: '127.0.0.21', clientPort: clientPort!, peerPort: peerPort!, initialCluster, advertisePeerUrl: m2Url },
      extraArgs: ['--initial-cluster-state=existing'],
      readyTimeoutMs: 10_000,
    }).then(
      async (s) => {
        await s.stop();
        return 'started';
      },
      (e: unknown) => String(e),
    );
    assert.match(err, /has already been bootstrapped/);
  });

  it('move-leader hands leadership to another voter', async () => {
    const leader = await c.leader();
    const target = c.members[(leader + 1) % 3]!;
    const targetId = (await ok(target.endpoint, ['endpoint', 'status'])).split(', ')[1]!;
    await ok(c.members[leader]!.endpoint, ['move-leader', targetId]);
    assert.equal(await c.leader(), (leader + 1) % 3);
  });
});
