// `etcd-node backup restore` as a user runs it, against a chain the real backup agent wrote from a real
// etcd-node under writes (volume store, encrypted): the state at the latest revision, at random
// revisions and at a time (given with an offset) equals the source's own `get --rev` at that revision —
// keys, values, create/mod revisions, versions, leases — in a 3-member cluster that serves writes after;
// the newest full at or before the target is the one used; and bad input (wrong key, a corrupted,
// truncated or missing delta, targets outside the chain, an existing data dir) fails with the object or
// revision named, no data dir, and the store unchanged.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyringFrom } from '../../etcd-node/src/backup/keys.js';
import { parseName } from '../../etcd-node/src/backup/names.js';
import { snapshotRevision } from '../../etcd-node/src/backup/snapshot-revision.js';
import { VolumeStore } from '../../etcd-node/src/backup/store/volume-store.js';
import { BackupAgent } from '../../operator/src/backup/agent.js';
import { EtcdSource } from '../../operator/src/backup/etcd-source.js';
import { parseSchedule } from '../../operator/src/backup/schedule.js';
import { createLogger } from '../../operator/src/runtime/log.js';
import { etcdctl } from '../support/etcdctl.js';
import { run, type RunResult } from '../support/etcd-tools.js';
import { until } from '../support/wait.js';
import { freePorts, repoRoot, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quiet = createLogger({ test: 'restore' });
const log = { ...quiet, info: () => undefined, debug: () => undefined, with: () => log };

interface Kv {
  key: string;
  value?: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease?: number;
}
interface GetJson {
  header: { revision: number };
  kvs?: Kv[];
}

async function getAll(endpoint: string, rev?: number): Promise<GetJson> {
  const r = await etcdctl(endpoint, ['get', '', '--prefix', '-w', 'json', ...(rev !== undefined ? [`--rev=${rev}`] : [])]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as GetJson;
}

function runRestore(args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin', 'etcd-node.js'), 'backup', 'restore', ...args]);
}

function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(p.slice(root.length)).update(readFileSync(p));
    }
  };
  walk(root);
  return h.digest('hex');
}

describe('etcd-node backup restore', skipUnless('etcdctl'), () => {
  let server: RunningServer;
  let dir: string;
  let storeRoot: string;
  let keyFile: string;
  let head = 0;
  let fullRevisions: number[] = [];
  /** a time between two writes (with a +01:00 offset) and the last revision before it */
  let quietTime = '';
  let revisionBeforeQuiet = 0;
  let leaseLong = '';
  let leaseShort = '';
  const key = randomBytes(32);
  const loc = { prefix: '', namespace: 'ns', cluster: 'src' };
  const started: RunningServer[] = [];

  const chainFlags = (root = storeRoot, kf = keyFile): string[] => ['--store', root, '--key-file', kf, '--namespace', loc.namespace, '--cluster', loc.cluster, '--scratch-dir', dir];

  before(async () => {
    server = await startServer({ kind: 'node' });
    dir = mkdtempSync(join(tmpdir(), 'etcd-ts-restore-'));
    storeRoot = join(dir, 'store');
    mkdirSync(storeRoot);
    keyFile = join(dir, 'key');
    writeFileSync(keyFile, key.toString('base64'));
    const put = (k: string, v: string, ...extra: string[]): Promise<unknown> => etcdctl(server.endpoint, ['put', k, v, ...extra]);
    leaseLong = (await etcdctl(server.endpoint, ['lease', 'grant', '3000'])).stdout.split(' ')[1]!;
    for (let i = 0; i < 15; i++) await put(`a/${i % 5}`, `before-${i}`);
    await put('lease/long', 'x', `--lease=${leaseLong}`);
    const source = new EtcdSource([server.endpoint]);
    const agent = new BackupAgent({
      source,
      store: new VolumeStore({ root: storeRoot }),
      location: loc,
      keys: keyringFrom({ key }, 'test'),
      compression: 'gzip',
      schedule: parseSchedule('@yearly'),
      deltaPeriodMs: 250,
      deltaMaxBytes: 1024 * 1024,
      retention: { fullSnapshots: 48 },
      scratchDir: dir,
      snapshotRevision,
      log,
    });
    agent.start();
    try {
      await until('the first full', () => agent.report().lastFullSnapshot);
      const revOf = async (): Promise<number> => (await getAll(server.endpoint)).header.revision;
      // a lease granted after the full: only a delta records it
      leaseShort = (await etcdctl(server.endpoint, ['lease', 'grant', '2000'])).stdout.split(' ')[1]!;
      await put('lease/short', 'y', `--lease=${leaseShort}`);
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 12; i++) {
          const k = `b/${(i * 7 + round) % 9}`;
          if (i % 5 === 4) await etcdctl(server.endpoint, ['del', k]);
          else await put(k, `r${round}-${i}`);
        }
        // a txn: several keys in one revision
        const txn = await etcdctl(server.endpoint, ['txn'], { stdin: `\nput t/${round}/x x${round}\nput t/${round}/y y${round}\ndel a/${round}\n\n\n` });
        assert.equal(txn.code, 0, txn.stderr);
        if (round === 1) {
          const h = await revOf();
          await until('the tail at the quiet point', () => (agent.report().latestRecoverable?.revision === h ? true : undefined));
          await sleep(300);
          revisionBeforeQuiet = h;
          const t = new Date(Date.now() + 3600_000);
          quietTime = `${t.toISOString().slice(0, 19)}.${String(t.getUTCMilliseconds()).padStart(3, '0')}+01:00`;
          await sleep(300);
        }
        if (round === 2) {
          const h = await revOf();
          await until('the tail before the second full', () => (agent.report().latestRecoverable?.revision === h ? true : undefined));
          await agent.requestFull('test');
        }
      }
      head = await revOf();
      await until('the tail at the head', () => (agent.report().latestRecoverable?.revision === head ? true : undefined));
    } finally {
      await agent.stop();
      source.close();
    }
    fullRevisions = readdirSync(join(storeRoot, loc.namespace, loc.cluster), { recursive: true })
      .map((n) => parseName(String(n)))
      .flatMap((r) => (r?.kind === 'full' ? [r.revision] : []))
      .sort((a, b) => a - b);
  });

  after(async () => {
    for (const s of started) await s.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** restores into a fresh one-member cluster and returns its state at its head */
  async function restoreOne(target: string[]): Promise<{ summary: { revision: number; full: string; deltas: string[] }; state: GetJson; member: RunningServer }> {
    const [clientPort, peerPort] = await freePorts(2);
    const peer = `http://127.0.0.1:${peerPort}`;
    const dataDir = join(dir, `one-${clientPort}`);
    const r = await runRestore([...chainFlags(), ...target, '--data-dir', dataDir, '--name', 'r1', '--initial-cluster', `r1=${peer}`, '--initial-advertise-peer-urls', peer, '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const member = await startServer({ kind: 'node', name: 'r1', dataDir, member: { host: '127.0.0.1', clientPort: clientPort!, peerPort: peerPort!, initialCluster: `r1=${peer}` } });
    started.push(member);
    const state = await getAll(member.endpoint);
    return { summary: JSON.parse(r.stdout) as { revision: number; full: string; deltas: string[] }, state, member };
  }

  it('--dry-run prints the plan (the newest full at or before the target, then the deltas) and writes nothing', async () => {
    assert.equal(fullRevisions.length, 2, 'the agent took a full at start and one on request');
    const target = fullRevisions[1]! + 3;
    const r = await runRestore([...chainFlags(), '--to-revision', String(target), '--data-dir', join(dir, 'dry'), '--dry-run', '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { revision: number; full: string; deltas: string[]; time: string };
    assert.equal(plan.revision, target);
    assert.equal((parseName(plan.full) as { revision: number }).revision, fullRevisions[1]);
    assert.ok(plan.deltas.length >= 1);
    assert.ok(!existsSync(join(dir, 'dry')));
    const before = await runRestore([...chainFlags(), '--to-revision', String(fullRevisions[1]! - 1), '--dry-run', '-w', 'json']);
    assert.equal((parseName((JSON.parse(before.stdout) as { full: string }).full) as { revision: number }).revision, fullRevisions[0], 'a target before the second full starts from the first');
  });

  it('--plan-file: the plan, or the error\'s code and message, as JSON in a file (a resolve pod\'s termination message)', async () => {
    const file = join(dir, 'plan.json');
    const target = fullRevisions[1]! + 3;
    const r = await runRestore([...chainFlags(), '--to-revision', String(target), '--dry-run', '-w', 'json', '--plan-file', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), JSON.parse(r.stdout), 'the file holds what -w json prints');
    const far = await runRestore([...chainFlags(), '--to-revision', '999999999', '--dry-run', '--plan-file', file]);
    assert.equal(far.code, 1);
    const e = (JSON.parse(readFileSync(file, 'utf8')) as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'Unreachable');
    assert.match(e.message, /999999999/);
    assert.ok(far.stderr.includes(e.message), 'the same message on stderr');
    const noObject = await runRestore(['--store', storeRoot, '--key-file', keyFile, '--object', 'no/such/object', '--dry-run', '--plan-file', file]);
    assert.equal(noObject.code, 1, noObject.stderr);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { error: { code: string } }).error.code, 'NotFound', 'a dry run of a missing object says so');
    const without = await runRestore([...chainFlags(), '--plan-file', file]);
    assert.equal(without.code, 2);
    assert.match(without.stderr, /--plan-file is for --dry-run/);
  });

  it('latest → a 3-member cluster equal to the source at its head (keys, values, revisions, versions, leases) that serves writes', async () => {
    const ports = await freePorts(6);
    const hosts = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];
    const initialCluster = hosts.map((h, i) => `m${i + 1}=http://${h}:${ports[3 + i]}`).join(',');
    for (let i = 0; i < 3; i++) {
      const r = await runRestore([
        ...chainFlags(),
        '--data-dir', join(dir, `m${i + 1}`),
        '--name', `m${i + 1}`,
        '--initial-cluster', initialCluster,
        '--initial-advertise-peer-urls', `http://${hosts[i]}:${ports[3 + i]}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`restored revision ${head} `));
    }
    const members = await Promise.all(
      hosts.map((host, i) => startServer({ kind: 'node', name: `m${i + 1}`, dataDir: join(dir, `m${i + 1}`), member: { host, clientPort: ports[i]!, peerPort: ports[3 + i]!, initialCluster } })),
    );
    started.push(...members);
    const want = await getAll(server.endpoint, head);
    for (const m of members) {
      const got = await getAll(m.endpoint);
      assert.equal(got.header.revision, head);
      assert.deepEqual(got.kvs, want.kvs, `member ${m.endpoint}`);
    }
    // the lease granted before the full (in its lease bucket) and the one granted after (in a delta)
    for (const [id, key] of [[leaseLong, 'lease/long'], [leaseShort, 'lease/short']] as const) {
      const ttl = await etcdctl(members[0]!.endpoint, ['lease', 'timetolive', id, '--keys']);
      assert.equal(ttl.code, 0, ttl.stderr);
      assert.match(ttl.stdout, new RegExp(`lease ${id} granted with TTL\\(\\d+s\\), remaining\\(\\d+s\\), attached keys\\(\\[${key}\\]\\)`));
    }
    const list = await etcdctl(members[1]!.endpoint, ['member', 'list']);
    assert.equal(list.stdout.trim().split('\n').length, 3);
    await etcdctl(members[2]!.endpoint, ['put', 'after/restore', 'yes']);
    const after = await getAll(members[0]!.endpoint);
    assert.equal(after.header.revision, head + 1);
  });

  it('three random revisions and a time with an offset: each equals the source at that revision', async () => {
    const oldest = fullRevisions[0]!;
    const picks = new Set<number>();
    while (picks.size < 3) picks.add(oldest + 1 + Math.floor(Math.random() * (head - oldest - 1)));
    for (const rev of picks) {
      const { summary, state } = await restoreOne(['--to-revision', String(rev)]);
      assert.equal(summary.revision, rev);
      assert.equal(state.header.revision, rev);
      assert.deepEqual(state.kvs, (await getAll(server.endpoint, rev)).kvs, `revision ${rev}`);
    }
    const { summary, state } = await restoreOne(['--to-time', quietTime]);
    assert.equal(summary.revision, revisionBeforeQuiet, `${quietTime} resolves to the last revision before it`);
    assert.deepEqual(state.kvs, (await getAll(server.endpoint, revisionBeforeQuiet)).kvs);
  });

  it('--bump-revision with --mark-compacted: the same keys, revisions going on from target + N, the old ones compacted', async () => {
    const rev = revisionBeforeQuiet;
    const { summary, state, member } = await restoreOne(['--to-revision', String(rev), '--bump-revision', '1000', '--mark-compacted']);
    assert.equal(summary.revision, rev);
    assert.equal(state.header.revision, rev + 1000);
    assert.deepEqual(state.kvs, (await getAll(server.endpoint, rev)).kvs);
    const old = await etcdctl(member.endpoint, ['get', '', '--prefix', `--rev=${rev}`]);
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /required revision has been compacted/);
    await etcdctl(member.endpoint, ['put', 'after/bump', 'yes']);
    assert.equal((await getAll(member.endpoint)).header.revision, rev + 1001);
    const noMark = await runRestore([...chainFlags(), '--bump-revision', '5', '--data-dir', join(dir, 'no-mark')]);
    assert.equal(noMark.code, 2);
    assert.match(noMark.stderr, /--mark-compacted is required with --bump-revision/);
  });

  it('as a pod\'s init container: a key folder (a mounted Secret); --skip-existing and --initial-cluster-state existing write nothing', async () => {
    // a mounted key Secret: "key" plus an older "key.<name>" and the kubelet's own entries beside them
    const keys = join(dir, 'key-secret');
    mkdirSync(keys);
    writeFileSync(join(keys, 'key'), key.toString('base64'));
    writeFileSync(join(keys, 'key.old'), randomBytes(32).toString('base64'));
    mkdirSync(join(keys, '..2026_12_03_12_00_00.000'));
    const dataDir = join(dir, 'init-member');
    const r1 = await runRestore([...chainFlags(storeRoot, keys), '--data-dir', dataDir, '--initial-cluster-state', 'new', '--skip-existing']);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, new RegExp(`restored revision ${head} `));
    const wal = readdirSync(join(dataDir, 'member', 'wal'));
    // the pod starts again: the member's data is there and stays as it is
    const r2 = await runRestore([...chainFlags(storeRoot, keys), '--data-dir', dataDir, '--skip-existing']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /holds a member already: nothing to restore \(--skip-existing\)/);
    assert.deepEqual(readdirSync(join(dataDir, 'member', 'wal')), wal);
    // without --skip-existing the same data dir is refused, as before
    assert.equal((await runRestore([...chainFlags(storeRoot, keys), '--data-dir', dataDir])).code, 1);
    // a member that joins a running cluster (a scale-up) gets no restored data
    const joining = join(dir, 'joining-member');
    const r3 = await runRestore([...chainFlags(storeRoot, keys), '--data-dir', joining, '--name', 'm4', '--initial-cluster-state', 'existing']);
    assert.equal(r3.code, 0, r3.stderr);
    assert.match(r3.stdout, /m4 joins an existing cluster \(--initial-cluster-state existing\): nothing to restore/);
    assert.ok(!existsSync(joining));
    const bad = await runRestore([...chainFlags(storeRoot, keys), '--data-dir', joining, '--initial-cluster-state', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--initial-cluster-state: new or existing, got "maybe"/);
    const empty = join(dir, 'empty-secret');
    mkdirSync(empty);
    const none = await runRestore([...chainFlags(storeRoot, empty), '--data-dir', joining]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--key-file: the folder .*empty-secret holds no "key" or "key.<name>" file/);
  });

  describe('bad input: an error naming what is wrong, no data dir, the store unchanged', () => {
    const chainDir = (root: string): string => join(root, loc.namespace, loc.cluster);
    const deltas = (root: string): string[] =>
      readdirSync(chainDir(root), { recursive: true })
        .map(String)
        .filter((n) => parseName(n)?.kind === 'delta')
        .sort();
    const copyStore = (name: string): string => {
      const root = join(dir, name);
      cpSync(storeRoot, root, { recursive: true });
      return root;
    };
    async function refused(args: string[], root: string, pattern: RegExp, code = 1): Promise<void> {
      const before = treeHash(root);
      const dataDir = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
      const r = await runRestore([...args, '--data-dir', dataDir]);
      assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.ok(!existsSync(dataDir), 'no data dir');
      assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.restoring-')), [], 'no half-made data dir');
      assert.equal(treeHash(root), before, 'the store is unchanged');
    }

    it('a wrong decryption key', async () => {
      const other = join(dir, 'other-key');
      writeFileSync(other, randomBytes(32).toString('hex'));
      await refused(chainFlags(storeRoot, other), storeRoot, /full\/\d{20}-\d{13}\.snap\.gz\.enc.*(key|decrypt)/i);
    });

    it('a corrupted delta, and a truncated one', async () => {
      // deltas after the newest full: the ones a restore to the latest state reads
      const after = (root: string): string[] => deltas(root).filter((n) => (parseName(n) as { from: number }).from > fullRevisions[1]!);
      const root = copyStore('corrupt');
      const victim = join(chainDir(root), after(root)[0]!);
      const b = readFileSync(victim);
      b.writeUInt8(b.readUInt8(b.length - 5) ^ 0xff, b.length - 5);
      writeFileSync(victim, b);
      await refused(chainFlags(root), root, new RegExp(after(root)[0]!.split('/').pop()!.replace(/\./g, '\\.')));
      const root2 = copyStore('truncated');
      const victim2 = join(chainDir(root2), after(root2).at(-1)!);
      truncateSync(victim2, Math.floor(statSync(victim2).size / 2));
      await refused(chainFlags(root2), root2, new RegExp(after(root2).at(-1)!.split('/').pop()!.replace(/\./g, '\\.')));
    });

    it('a missing delta is a hole: a target after it is refused, naming the revisions', async () => {
      const root = copyStore('hole');
      const all = deltas(root);
      // a delta between the first and the second full
      const victim = all.find((n) => {
        const d = parseName(n) as { from: number; to: number };
        return d.from > fullRevisions[0]! + 1 && d.to < fullRevisions[1]!;
      });
      assert.ok(victim, 'a delta between the fulls');
      const d = parseName(victim) as { from: number; to: number };
      rmSync(join(chainDir(root), victim));
      await refused([...chainFlags(root), '--to-revision', String(d.to)], root, new RegExp(`revision ${d.to} lies in a hole of the chain \\(revisions ${d.from}–`));
      // after the second full the chain goes on: that still restores
      const ok = await runRestore([...chainFlags(root), '--to-revision', String(fullRevisions[1]! + 1), '--dry-run']);
      assert.equal(ok.code, 0, ok.stderr);
    });

    it('targets outside the chain', async () => {
      await refused([...chainFlags(), '--to-revision', String(head + 5)], storeRoot, new RegExp(`revision ${head + 5} is after the newest revision the chain holds \\(${head}\\)`));
      await refused([...chainFlags(), '--to-revision', '1'], storeRoot, new RegExp(`revision 1 is before the oldest full snapshot \\(revision ${fullRevisions[0]}`));
      await refused([...chainFlags(), '--to-time', '2001-01-01T00:00:00-08:00'], storeRoot, /2001-01-01T08:00:00\.000Z is before the oldest full snapshot/);
      await refused([...chainFlags(), '--to-time', '2999-01-01T00:00:00+02:00'], storeRoot, /is after the newest revision the chain holds/);
      await refused([...chainFlags(), '--to-time', '2026-12-02T16:30:00'], storeRoot, /--to-time: an RFC 3339 time/, 2);
    });

    it('an existing data dir is never written to', async () => {
      const existing = join(dir, 'existing');
      mkdirSync(existing);
      writeFileSync(join(existing, 'keep'), 'mine');
      const r = await runRestore([...chainFlags(), '--data-dir', existing]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /data-dir ".*existing" exists/);
      assert.deepEqual(readdirSync(existing), ['keep']);
    });
  });
});
