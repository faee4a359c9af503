// A real etcd moves into etcd-node: snapshots saved from Debian's etcd 3.4 and from etcd 3.5 and 3.6
// (.tools/), each after a written history (puts, overwrites, deletes, a lease with keys, a txn, users;
// a compaction in the 3.6 one), are read by `etcd-node snapshot status` exactly as etcdutl 3.6 reads
// them, and `etcd-node snapshot restore` makes 3 data dirs from each that start as one 3-member
// etcd-node cluster serving the source's keys, values, create/mod revisions, versions and leases, and
// taking writes at the next revision — or, with --bump-revision N --mark-compacted, at the revision
// N + 1 after the source's, with the old revisions reported compacted. The 3.6 line goes back out
// again: the restored cluster's snapshot is read by etcdutl 3.6 and restored into a real etcd 3.6, and so
// is the bumped cluster's, which a real etcd also starts at the bumped revision.
// Bad input: a file that is not a snapshot, a truncated one, a changed byte under the trailer, a
// member's db without trailer, an existing data dir: exit 1, a message saying what is wrong, nothing
// created.
//
//   npm run build && node scripts/test.mjs test/compat/snapshot-restore.test.ts
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdctl } from '../support/etcdctl.js';
import { etcdRelease, missingEtcdReleases, run, type RunResult } from '../support/etcd-tools.js';
import { freePorts, repoRoot, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const missing = missingEtcdReleases();
const skip = skipUnless('etcd', 'etcdctl').skip ?? (missing !== undefined && !inCI ? missing : undefined);

type Line = '3.4' | '3.5' | '3.6';
const LINES: readonly Line[] = ['3.4', '3.5', '3.6'];
/** the line restored with --bump-revision (one is enough; every cluster costs 3 processes) */
const BUMPED: Line = '3.5';
const BUMP = 1000;

function etcdNode(args: string[]): Promise<RunResult> {
  return run(process.execPath, [join(repoRoot, 'bin', 'etcd-node.js'), ...args]);
}

async function ctl(s: RunningServer, args: string[], stdin?: string): Promise<string> {
  const r = await etcdctl(s.endpoint, args, stdin === undefined ? {} : { stdin });
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} on ${s.binary} ${s.endpoint}: ${r.stderr}`);
  return r.stdout;
}

interface Kvs {
  header: { revision: string | number };
  kvs?: Array<{ key: string; lease?: string | number }>;
}

async function getAll(s: RunningServer, extra: string[] = []): Promise<Kvs> {
  return JSON.parse(await ctl(s, ['get', '', '--prefix', '-w', 'json', ...extra])) as Kvs;
}

/** The history every source gets; returns the lease's id (hex). */
async function writeHistory(s: RunningServer, compact: boolean): Promise<string> {
  for (const [k, v] of [['a', '1'], ['a', '2'], ['b', 'x'], ['c/1', 'one'], ['c/2', 'two'], ['c/2', 'three'], ['p/empty', '']] as const) {
    await ctl(s, ['put', k, v]);
  }
  await ctl(s, ['del', 'b']);
  await ctl(s, ['txn'], 'val("a") = "2"\n\nput t/1 yes\ndel c/1\n\nput t/1 no\n\n');
  const lease = /lease ([0-9a-f]+) granted/.exec(await ctl(s, ['lease', 'grant', '600']))?.[1];
  assert.ok(lease, 'lease grant');
  await ctl(s, ['put', 'l/1', 'leased', `--lease=${lease}`]);
  await ctl(s, ['put', 'l/2', 'leased too', `--lease=${lease}`]);
  if (compact) await ctl(s, ['compaction', '5']);
  await ctl(s, ['put', 'a', '3']);
  await ctl(s, ['user', 'add', 'alice:alicepw']);
  await ctl(s, ['role', 'add', 'app']);
  await ctl(s, ['user', 'grant-role', 'alice', 'app']);
  return lease;
}

function leaseInfo(out: string): { id: number; grantedTTL: number; keys: string[] } {
  const j = JSON.parse(out) as { id: number; grantedTTL: number; keys?: string[] };
  return { id: j.id, grantedTTL: j.grantedTTL, keys: [...(j.keys ?? [])].sort() };
}

/** A real etcd 3.6 on a data dir etcdutl 3.6 restored from `snap` (the way back out of etcd-node). */
async function intoRealEtcd(work: string, snap: string, tag: string): Promise<RunningServer> {
  const [cp, pp] = await freePorts(2);
  const p = `http://127.0.0.1:${pp!}`;
  const outDir = join(work, `etcd-3.6-${tag}`);
  const r = await run(etcdRelease('3.6').path('etcdutl'), ['snapshot', 'restore', snap, '--data-dir', outDir, '--name', 'e1', '--initial-cluster', `e1=${p}`, '--initial-advertise-peer-urls', p]);
  assert.equal(r.code, 0, r.stderr);
  return startServer({ kind: 'etcd', etcdBinary: etcdRelease('3.6').path('etcd'), name: 'e1', dataDir: outDir, member: { host: '127.0.0.1', clientPort: cp!, peerPort: pp!, initialCluster: `e1=${p}` } });
}

interface Source {
  line: Line;
  snap: string;
  /** the source's member/snap/db, copied after it stopped (no trailer) */
  memberDb: string;
  kvs: Kvs;
  revision: number;
  lease: string;
  leaseInfo: ReturnType<typeof leaseInfo>;
}

describe('etcd-node snapshot status / restore: real etcd 3.4, 3.5 and 3.6 snapshots into etcd-node', { ...(skip !== undefined ? { skip } : {}) }, () => {
  let work = '';
  const sources = new Map<Line, Source>();
  const running: RunningServer[] = [];

  before(async () => {
    if (missing !== undefined) throw new Error(missing.replace(/^skipped: /, '')); // CI=true: a missing tool fails
    work = mkdtempSync(join(tmpdir(), 'etcd-ts-snapshot-restore-'));
    for (const line of LINES) {
      const dataDir = join(work, `source-${line}`);
      const etcd = await startServer({ kind: 'etcd', dataDir, ...(line === '3.4' ? {} : { etcdBinary: etcdRelease(line).path('etcd') }) });
      running.push(etcd);
      const lease = await writeHistory(etcd, line === '3.6');
      const snap = join(work, `etcd-${line}.db`);
      await ctl(etcd, ['snapshot', 'save', snap]);
      const kvs = await getAll(etcd);
      assert.equal(kvs.kvs?.length, 6, `etcd ${line}: a, c/2, l/1, l/2, p/empty, t/1`);
      assert.ok(kvs.kvs.some((kv) => kv.lease !== undefined), 'keys with a lease');
      const info = leaseInfo(await ctl(etcd, ['lease', 'timetolive', lease, '--keys', '-w', 'json']));
      await etcd.stop();
      running.splice(running.indexOf(etcd), 1);
      const memberDb = join(work, `member-${line}.db`);
      copyFileSync(join(dataDir, 'member', 'snap', 'db'), memberDb);
      sources.set(line, { line, snap, memberDb, kvs, revision: Number(kvs.header.revision), lease, leaseInfo: info });
    }
  });

  after(async () => {
    for (const s of running) await s.stop();
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  const source = (line: Line): Source => {
    const s = sources.get(line);
    assert.ok(s, `no snapshot of etcd ${line}`);
    return s;
  };

  test('snapshot status: byte for byte what etcdutl 3.6 prints, in every format, for every source and for a member db', async () => {
    const etcdutl = etcdRelease('3.6').path('etcdutl');
    for (const line of LINES) {
      for (const file of [source(line).snap, source(line).memberDb]) {
        for (const w of [[], ['-w', 'simple'], ['-w', 'table'], ['-w', 'json'], ['--write-out=fields']]) {
          const [ours, theirs] = [await etcdNode(['snapshot', 'status', file, ...w]), await run(etcdutl, ['snapshot', 'status', file, ...w])];
          assert.equal(theirs.code, 0, theirs.stderr);
          assert.equal(ours.code, 0, ours.stderr);
          assert.equal(ours.stdout, theirs.stdout, `etcd ${line} ${file} ${w.join(' ')}`);
        }
      }
      const st = JSON.parse((await etcdNode(['snapshot', 'status', source(line).snap, '-w', 'json'])).stdout) as { revision: number; totalKey: number; totalSize: number; version: string };
      // the fields mean what they say: the source's revision and live keys, the database without trailer
      assert.equal(st.revision, source(line).revision, `etcd ${line} revision`);
      assert.equal(st.totalKey, source(line).kvs.kvs?.length, `etcd ${line} live keys`);
      assert.equal(st.totalSize, readFileSync(source(line).snap).length - 32);
      assert.equal(st.version, line === '3.6' ? '3.6.0' : '');
    }
    const bad = await etcdNode(['snapshot', 'status', source('3.6').snap, '-w', 'protobuf']);
    assert.equal(bad.code, 2, 'an output format etcdutl does not offer for status is a bad flag');
    assert.match(bad.stderr, /unsupported output format "protobuf"/);
  });

  for (const line of LINES) {
    const bump = line === BUMPED ? BUMP : 0;
    test(`etcd ${line} → etcd-node snapshot restore${bump > 0 ? ` --bump-revision ${bump} --mark-compacted` : ''} ×3 → one 3-member etcd-node cluster with the same data`, async () => {
      const src = source(line);
      const ports = await freePorts(6);
      const names = ['r1', 'r2', 'r3'];
      const peer = (i: number): string => `http://127.0.0.1:${ports[3 + i]!}`;
      const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
      const dirs = names.map((n) => join(work, `restored-${line}-${n}`));
      for (const [i, name] of names.entries()) {
        const r = await etcdNode([
          'snapshot', 'restore', src.snap,
          '--data-dir', dirs[i]!,
          '--name', name,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', `restored-from-${line}`,
          '--initial-advertise-peer-urls', peer(i),
          ...(bump > 0 ? ['--bump-revision', String(bump), '--mark-compacted'] : []),
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`revision ${src.revision}\\b`));
        // etcd's bcrypt hash came along, and the user is told it will not verify
        assert.match(r.stderr, /warning: 1 user\(s\) have etcd \(bcrypt\) passwords etcd-node cannot verify: alice/);
      }
      const members = await Promise.all(
        names.map((name, i) =>
          startServer({ kind: 'node', name, dataDir: dirs[i]!, member: { host: '127.0.0.1', clientPort: ports[i]!, peerPort: ports[3 + i]!, initialCluster } }),
        ),
      );
      running.push(...members);
      try {
        const want = src.revision + bump;
        for (const m of members) {
          const got = await getAll(m);
          assert.deepEqual(got.kvs, src.kvs.kvs, `${m.name}: keys, values, create/mod revisions, versions, lease ids`);
          assert.equal(Number(got.header.revision), want, `${m.name}: current revision`);
          assert.deepEqual(leaseInfo(await ctl(m, ['lease', 'timetolive', src.lease, '--keys', '-w', 'json'])), src.leaseInfo, `${m.name}: the lease and its keys`);
        }
        const list = JSON.parse(await ctl(members[0]!, ['member', 'list', '-w', 'json'])) as { members: Array<{ name: string; peerURLs: string[] }> };
        assert.deepEqual(list.members.map((m) => `${m.name}=${m.peerURLs.join(',')}`).sort(), initialCluster.split(',').sort(), 'the members are the new ones, none of the source');
        // a snapshot before any write: its revision is the bumped one only through the compaction mark
        const bumpedSnap = join(work, `etcd-node-bumped-${line}.db`);
        if (bump > 0) await ctl(members[0]!, ['snapshot', 'save', bumpedSnap]);
        // the next write is the next revision, and every member serves it
        const put = JSON.parse(await ctl(members[0]!, ['put', 'after-restore', 'ok', '-w', 'json'])) as Kvs;
        assert.equal(Number(put.header.revision), want + 1);
        for (const m of members) assert.equal(await ctl(m, ['get', 'after-restore', '--print-value-only']), 'ok\n');
        if (bump > 0) {
          // what a client of the old cluster remembers is compacted, not reused
          for (const rev of [src.revision, want - 1]) {
            const r = await etcdctl(members[1]!.endpoint, ['get', 'a', `--rev=${rev}`]);
            assert.notEqual(r.code, 0);
            assert.match(r.stderr, /required revision has been compacted/, `get --rev=${rev}`);
          }
          const w = await etcdctl(members[2]!.endpoint, ['watch', 'a', `--rev=${src.revision}`], { timeoutMs: 10_000 });
          assert.match(w.stdout + w.stderr, /required revision has been compacted/, 'a watch resumed from an old revision');
          assert.deepEqual((await getAll(members[1]!, [`--rev=${want}`])).kvs, src.kvs.kvs, 'the bumped revision itself reads the data');
          // and a real etcd restored from the bumped cluster's snapshot starts where it did
          const etcd = await intoRealEtcd(work, bumpedSnap, 'bumped');
          running.push(etcd);
          const there = await getAll(etcd);
          assert.deepEqual(there.kvs, src.kvs.kvs);
          assert.equal(Number(there.header.revision), want, 'etcd takes the compaction mark as its current revision too');
          assert.match((await etcdctl(etcd.endpoint, ['get', 'a', `--rev=${src.revision}`])).stderr, /required revision has been compacted/);
          await etcd.stop();
          running.splice(running.indexOf(etcd), 1);
        }
        if (line === '3.6') {
          // and back out: the restored cluster's snapshot → etcdutl 3.6 → a real etcd 3.6 with the same data
          const back = join(work, 'etcd-node-from-3.6.db');
          await ctl(members[0]!, ['snapshot', 'save', back]);
          const etcdutl = etcdRelease('3.6').path('etcdutl');
          const [ours, theirs] = [await etcdNode(['snapshot', 'status', back, '-w', 'json']), await run(etcdutl, ['snapshot', 'status', back, '-w', 'json'])];
          assert.equal(ours.stdout, theirs.stdout, "status of etcd-node's own snapshot");
          // etcd-node's own snapshot restores into etcd-node as well
          const [np, npp] = await freePorts(2);
          const nodePeer = `http://127.0.0.1:${npp!}`;
          const nodeDir = join(work, 'etcd-node-again');
          const nr = await etcdNode(['snapshot', 'restore', back, '--data-dir', nodeDir, '--name', 'n1', '--initial-cluster', `n1=${nodePeer}`, '--initial-advertise-peer-urls', nodePeer]);
          assert.equal(nr.code, 0, nr.stderr);
          const node = await startServer({ kind: 'node', name: 'n1', dataDir: nodeDir, member: { host: '127.0.0.1', clientPort: np!, peerPort: npp!, initialCluster: `n1=${nodePeer}` } });
          running.push(node);
          const fromNode = await getAll(node);
          assert.deepEqual(fromNode.kvs, (await getAll(members[0]!)).kvs, "etcd-node's snapshot into etcd-node");
          assert.equal(Number(fromNode.header.revision), want + 1);
          await node.stop();
          running.splice(running.indexOf(node), 1);
          const etcd = await intoRealEtcd(work, back, 'again');
          running.push(etcd);
          const again = await getAll(etcd);
          assert.deepEqual(again.kvs, (await getAll(members[0]!)).kvs);
          assert.equal(Number(again.header.revision), want + 1);
          assert.deepEqual(leaseInfo(await ctl(etcd, ['lease', 'timetolive', src.lease, '--keys', '-w', 'json'])), src.leaseInfo);
          await etcd.stop();
          running.splice(running.indexOf(etcd), 1);
        }
      } finally {
        for (const m of members) {
          await m.stop();
          running.splice(running.indexOf(m), 1);
        }
      }
    });
  }

  test("a member's db without trailer: refused, then restored with --skip-hash-check", async () => {
    const src = source('3.6');
    const [cp, pp] = await freePorts(2);
    const p = `http://127.0.0.1:${pp!}`;
    const dir = join(work, 'from-member-db');
    const args = ['snapshot', 'restore', src.memberDb, '--data-dir', dir, '--name', 'm1', '--initial-cluster', `m1=${p}`, '--initial-advertise-peer-urls', p];
    const refused = await etcdNode(args);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^etcd-node snapshot restore: .*member-3\.6\.db: no SHA-256 trailer .*pass --skip-hash-check/);
    assert.ok(!readdirSync(work).includes('from-member-db'));
    const r = await etcdNode([...args, '--skip-hash-check']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no SHA-256 trailer/);
    const m = await startServer({ kind: 'node', name: 'm1', dataDir: dir, member: { host: '127.0.0.1', clientPort: cp!, peerPort: pp!, initialCluster: `m1=${p}` } });
    running.push(m);
    assert.deepEqual((await getAll(m)).kvs, src.kvs.kvs);
    await m.stop();
    running.splice(running.indexOf(m), 1);
  });

  test('bad input: exit 1, a message saying what is wrong and naming the file, nothing created', async () => {
    const src = source('3.6');
    const bad = join(work, 'bad');
    mkdirSync(bad);
    const snap = readFileSync(src.snap);
    const files = {
      text: join(bad, 'notes.txt'),
      truncated: join(bad, 'truncated.db'),
      flipped: join(bad, 'flipped.db'),
    };
    writeFileSync(files.text, 'this is not a snapshot\n'.repeat(100));
    writeFileSync(files.truncated, snap.subarray(0, 3 * 4096));
    // one byte of a value changed: still a well-formed bbolt file, but not the one the trailer vouches for
    const at = snap.indexOf(Buffer.from('leased too'));
    assert.ok(at > 0);
    const flipped = Buffer.from(snap);
    flipped[at] = flipped[at]! ^ 0x20;
    writeFileSync(files.flipped, flipped);
    const existing = join(bad, 'existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'keep-me'), 'precious');
    const target = join(bad, 'out');
    const restore = (file: string, ...extra: string[]): Promise<RunResult> => etcdNode(['snapshot', 'restore', file, '--data-dir', target, ...extra]);
    const before = readdirSync(bad).sort();
    const cases: Array<[string, Promise<RunResult>, RegExp]> = [
      ['not a snapshot', restore(files.text), /notes\.txt: not an etcd snapshot \(.*not a bbolt database/],
      ['not a snapshot, --skip-hash-check', restore(files.text, '--skip-hash-check'), /notes\.txt: not an etcd snapshot/],
      ['truncated', restore(files.truncated), /truncated\.db: not an etcd snapshot \(.*is truncated/],
      ['a changed byte', restore(files.flipped), /flipped\.db: the snapshot's SHA-256 trailer .* does not match its database .*--skip-hash-check/],
      ['missing file', restore(join(bad, 'nope.db')), /nope\.db: no such file/],
      ['existing data dir', etcdNode(['snapshot', 'restore', src.snap, '--data-dir', existing]), /data-dir ".*existing" exists/],
    ];
    for (const [what, p, message] of cases) {
      const r = await p;
      assert.equal(r.code, 1, `${what}: exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, /^etcd-node snapshot restore: /, what);
      assert.match(r.stderr, message, what);
      assert.equal(r.stdout, '', what);
      assert.deepEqual(readdirSync(bad).sort(), before, `${what}: nothing created`);
    }
    assert.deepEqual(readdirSync(existing), ['keep-me']);
    assert.equal(readFileSync(join(existing, 'keep-me'), 'utf8'), 'precious');
    for (const [what, file] of [['truncated', files.truncated]] as const) {
      const r = await etcdNode(['snapshot', 'status', file]);
      assert.equal(r.code, 1, what);
      assert.match(r.stderr, /^etcd-node snapshot status: .*truncated\.db: not an etcd snapshot/);
    }

    // bad flags: exit 2
    for (const [args, message] of [
      [['--bump-revision', '10'], /--mark-compacted is required with --bump-revision/],
      [['--mark-compacted'], /--mark-compacted is only allowed with --bump-revision/],
      [['--name', 'x'], /--initial-cluster has no entry for --name=x/],
      [['--no-such-flag'], /unknown flag: --no-such-flag/],
    ] as const) {
      const r = await restore(src.snap, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.deepEqual(readdirSync(bad).sort(), before);
    }

    // the changed byte with --skip-hash-check: restored as it is, as etcdutl would
    const r = await restore(files.flipped, '--skip-hash-check');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /SHA-256 not checked/);
    assert.ok(readdirSync(target).includes('member'));
  });
});
