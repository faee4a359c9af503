// etcd-node's Maintenance.Snapshot is etcd's snapshot: a history written into etcd-node, saved with
// `etcdctl snapshot save`, is taken by etcd's own offline tools (Debian's etcdctl 3.4 and etcdutl 3.5
// and 3.6: `snapshot status`, `snapshot restore`), and a real etcd 3.5 / 3.6 started on the restored
// data dir serves exactly etcd-node's keys, revisions, leases, users and roles. A snapshot taken while
// a writer runs is one revision of etcd-node's history. And a real etcd 3.6's snapshot of the same
// history, read with our bbolt reader, has the same buckets and value formats.
//
//   npm run build && node --import tsx --test test/compat/snapshot.test.ts
// Needs Debian's etcd/etcdctl and the releases scripts/build-tools.sh builds into .tools/.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { KVClient, MaintenanceClient, PutRequest, TxnRequest, type SnapshotResponse } from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import { BboltReader } from '../../etcd-node/src/storage/bbolt/reader.js';
import { etcdctl } from '../support/etcdctl.js';
import { etcdRelease, missingEtcdReleases, run } from '../support/etcd-tools.js';
import { compareSnapshots, readBuckets } from '../support/snapshot-compare.js';
import { freePorts, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const missing = missingEtcdReleases();
const skip = skipUnless('etcd', 'etcdctl').skip ?? (missing !== undefined && !inCI ? missing : undefined);

/** a client-chosen lease id, so etcd-node's and etcd's key and lease buckets can be compared byte for byte */
const LEASE_ID = 0x1234abcdn;

async function ctl(s: RunningServer, args: string[], stdin?: string): Promise<string> {
  const r = await etcdctl(s.endpoint, args, stdin === undefined ? {} : { stdin });
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} on ${s.binary}: ${r.stderr}`);
  return r.stdout;
}

/** The same history on any server: every kind of write, a lease, a compaction, users and a role. */
async function writeHistory(s: RunningServer): Promise<void> {
  for (const [k, v] of [['a', '1'], ['a', '2'], ['b', 'x'], ['c/1', 'one'], ['c/2', 'two'], ['c/2', 'three'], ['p/empty', '']] as const) {
    await ctl(s, ['put', k, v]);
  }
  await ctl(s, ['del', 'b']);
  await ctl(s, ['txn'], 'val("a") = "2"\n\nput t/1 yes\ndel c/1\n\nput t/1 no\n\n');
  const grant = await fetch(`${s.clientUrl}/v3/lease/grant`, { method: 'POST', body: JSON.stringify({ TTL: '600', ID: LEASE_ID.toString() }) });
  assert.equal(grant.status, 200, await grant.text());
  await ctl(s, ['put', 'l/1', 'leased', `--lease=${LEASE_ID.toString(16)}`]);
  await ctl(s, ['put', 'l/2', 'leased too', `--lease=${LEASE_ID.toString(16)}`]);
  await ctl(s, ['compaction', '4']);
  await ctl(s, ['put', 'a', '3']); // version 3 of a, created before the compaction
  await ctl(s, ['user', 'add', 'root:rootpw']);
  await ctl(s, ['role', 'add', 'app']);
  await ctl(s, ['role', 'grant-permission', 'app', 'readwrite', '--prefix', 'c/']);
  await ctl(s, ['role', 'grant-permission', 'app', 'read', 'a']);
  await ctl(s, ['user', 'add', 'alice:alicepw']);
  await ctl(s, ['user', 'grant-role', 'alice', 'app']);
  await ctl(s, ['user', 'add', 'cn-only', '--no-password']);
}

interface Kvs {
  header: { revision: string | number };
  kvs?: unknown[];
}

async function getAll(s: RunningServer, rev?: number): Promise<Kvs> {
  return JSON.parse(await ctl(s, ['get', '', '--prefix', '-w', 'json', ...(rev === undefined ? [] : [`--rev=${rev}`])])) as Kvs;
}

/** A real etcd of `line` started on a data dir restored by that line's etcdutl from `snap`. */
async function restoreAndStart(work: string, line: '3.5' | '3.6', snap: string, tag: string): Promise<RunningServer> {
  const rel = etcdRelease(line);
  const [clientPort, peerPort] = await freePorts(2);
  const peer = `http://127.0.0.1:${peerPort}`;
  const dataDir = join(work, `restored-${line}-${tag}`);
  const r = await run(rel.path('etcdutl'), ['snapshot', 'restore', snap, '--data-dir', dataDir, '--name', 'n1', '--initial-cluster', `n1=${peer}`, '--initial-advertise-peer-urls', peer]);
  assert.equal(r.code, 0, `etcdutl ${rel.version} snapshot restore: ${r.stderr}`);
  return startServer({
    kind: 'etcd',
    etcdBinary: rel.path('etcd'),
    dataDir,
    member: { host: '127.0.0.1', clientPort: clientPort!, peerPort: peerPort!, initialCluster: `n1=${peer}` },
  });
}

describe('snapshots of etcd-node are etcd snapshots', { ...(skip !== undefined ? { skip } : {}) }, () => {
  let work = '';
  let scratch = '';
  let node: RunningServer | undefined;
  let snap = '';
  let snapRevision = 0;
  const started: RunningServer[] = [];
  const running = (): RunningServer => {
    assert.ok(node, 'etcd-node did not start');
    return node;
  };

  before(async () => {
    if (missing !== undefined) throw new Error(missing.replace(/^skipped: /, '')); // CI=true: a missing tool fails
    work = mkdtempSync(join(tmpdir(), 'etcd-ts-snapshot-'));
    scratch = join(work, 'node-tmp');
    mkdirSync(scratch);
    // the server's TMPDIR: its snapshot scratch files can be seen (and must be gone afterwards)
    node = await startServer({ kind: 'node', env: { TMPDIR: scratch } });
    await writeHistory(node);
    snap = join(work, 'node.db');
    await ctl(node, ['snapshot', 'save', snap]);
    snapRevision = Number((await getAll(node)).header.revision);
  });

  after(async () => {
    for (const s of [...started, ...(node ? [node] : [])]) await s.stop();
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  test('the stream: remaining_bytes counts down to 0, the file ends in the sha256 of the rest, as etcdctl saved it', async () => {
    const client = new MaintenanceClient(running().endpoint, credentials.createInsecure());
    const msgs: SnapshotResponse[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.snapshot({});
      call.on('data', (m: SnapshotResponse) => msgs.push(m));
      call.on('error', reject);
      call.on('end', resolve);
    });
    client.close();
    const bytes = Buffer.concat(msgs.map((m) => m.blob));
    let sent = 0;
    for (const m of msgs) {
      sent += m.blob.length;
      assert.equal(m.remainingBytes, BigInt(bytes.length - sent));
    }
    assert.equal(bytes.length % 512, 32, "etcd's rule for a file with a sha256 trailer");
    assert.deepEqual(bytes.subarray(-32), createHash('sha256').update(bytes.subarray(0, -32)).digest());
    assert.deepEqual(bytes, readFileSync(snap), 'no write since: the same bytes etcdctl saved');
    assert.deepEqual(readdirSync(scratch), [], 'scratch files removed');
  });

  test('snapshot status: Debian etcdctl 3.4, etcdutl 3.5 and 3.6 read the revision, keys and hash', async () => {
    const db = BboltReader.open(snap);
    const entries = db.bucketNames().reduce((n, b) => n + db.bucket(b)!.count(), 0);
    db.close();
    const live = Number((JSON.parse(await ctl(running(), ['get', '', '--prefix', '--keys-only', '-w', 'json'])) as { count: string | number }).count);
    const tools: Array<[string, string[]]> = [
      ['etcdctl 3.4', ['/usr/bin/etcdctl', 'snapshot', 'status', snap, '-w', 'json']],
      ['etcdutl 3.5', [etcdRelease('3.5').path('etcdutl'), 'snapshot', 'status', snap, '-w', 'json']],
      ['etcdutl 3.6', [etcdRelease('3.6').path('etcdutl'), 'snapshot', 'status', snap, '-w', 'json']],
    ];
    const hashes = new Set<number>();
    for (const [what, [file, ...args]] of tools) {
      const r = await run(file!, args);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      const st = JSON.parse(r.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number; version?: string };
      assert.equal(st.revision, snapRevision, what);
      assert.equal(st.totalSize, readFileSync(snap).length - 32, what);
      // 3.4 and 3.5 count the entries of every bucket, 3.6 the live keys
      assert.equal(st.totalKey, what === 'etcdutl 3.6' ? live : entries, `${what} totalKey`);
      if (what === 'etcdutl 3.6') assert.equal(st.version, '3.6.0');
      hashes.add(st.hash);
    }
    assert.equal(hashes.size, 1, 'every tool computes the same hash');
  });

  for (const line of ['3.5', '3.6'] as const) {
    test(`etcdutl ${line} snapshot restore: a real etcd ${line} serves etcd-node's keys, leases, users and roles`, async () => {
      const etcd = await restoreAndStart(work, line, snap, 'history');
      started.push(etcd);
      const n = running();
      const [fromNode, fromEtcd] = [await getAll(n), await getAll(etcd)];
      assert.ok((fromNode.kvs ?? []).length >= 6);
      assert.deepEqual(fromEtcd.kvs, fromNode.kvs, 'keys, values, create/mod revisions, versions, leases');
      assert.equal(Number(fromEtcd.header.revision), Number(fromNode.header.revision));
      assert.equal(await ctl(etcd, ['lease', 'list']), await ctl(n, ['lease', 'list']));
      const ttl = (s: string): unknown => {
        const j = JSON.parse(s) as { id: number; 'granted-ttl': number; keys?: string[] };
        // etcd lists a lease's keys in its map's order, which varies from call to call: compare them as sets
        assert.ok(j['granted-ttl'] > 0, s);
        return { id: j.id, grantedTTL: j['granted-ttl'], keys: [...(j.keys ?? [])].sort() };
      };
      const args = ['lease', 'timetolive', LEASE_ID.toString(16), '--keys', '-w', 'json'];
      assert.deepEqual(ttl(await ctl(etcd, args)), ttl(await ctl(n, args)));
      for (const args of [['role', 'get', 'app'], ['role', 'list'], ['user', 'list'], ['user', 'get', 'alice'], ['user', 'get', 'cn-only']]) {
        assert.equal(await ctl(etcd, args), await ctl(n, args), args.join(' '));
      }
      // the compaction came along: below it, etcd refuses as etcd-node does
      const below = await etcdctl(etcd.endpoint, ['get', 'a', '--rev=3']);
      assert.match(below.stderr, /required revision has been compacted/);
      // and the restored etcd takes writes on top
      await ctl(etcd, ['put', 'after-restore', 'ok']);
      await etcd.stop();
    });
  }

  test('a snapshot taken while a writer runs is one revision of the history', async () => {
    const n = running();
    const kv = new KVClient(n.endpoint, credentials.createInsecure());
    const call = <T>(fn: (cb: (err: ServiceError | null, res: T) => void) => void): Promise<T> =>
      new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
    // some bulk first, so the copy and conversion take a while
    const blob = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 1500; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => call((cb) => kv.put(PutRequest.fromPartial({ key: Buffer.from(`bulk/${i + j}`), value: blob }), cb))));
    }
    let stop = false;
    let written = 0;
    const writer = (async () => {
      // each revision writes w/<i> and w/last = i together
      for (let i = 0; !stop; i++) {
        const put = (k: string, v: string): { requestPut: PutRequest } => ({ requestPut: PutRequest.fromPartial({ key: Buffer.from(k), value: Buffer.from(v) }) });
        await call((cb) => kv.txn(TxnRequest.fromPartial({ success: [put(`w/${i}`, String(i)), put('w/last', String(i))] }), cb));
        written = i + 1;
      }
    })();
    while (written < 20) await new Promise((r) => setTimeout(r, 10));
    const snap2 = join(work, 'during-writes.db');
    await ctl(n, ['snapshot', 'save', snap2]);
    const at = written;
    while (written < at + 20) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await writer;
    kv.close();

    const etcd = await restoreAndStart(work, '3.6', snap2, 'writes');
    started.push(etcd);
    const restored = await getAll(etcd);
    const rev = Number(restored.header.revision);
    // exactly etcd-node's whole key space at that revision
    assert.deepEqual(restored.kvs, (await getAll(n, rev)).kvs);
    const w = JSON.parse(await ctl(etcd, ['get', 'w/', '--prefix', '--keys-only', '-w', 'json'])) as { count: string | number };
    const last = Number(await ctl(etcd, ['get', 'w/last', '--print-value-only']));
    assert.ok(last >= 19 && last < written - 1, `the snapshot is from the middle of the writes (w/last = ${last} of ${written})`);
    assert.equal(Number(w.count), last + 2, 'w/0 … w/last and w/last itself, nothing after');
    const st = JSON.parse((await run(etcdRelease('3.6').path('etcdutl'), ['snapshot', 'status', snap2, '-w', 'json'])).stdout) as { revision: number };
    assert.equal(st.revision, rev);
    await etcd.stop();
  });

  test('a cancelled snapshot stops and leaves no scratch files; the next one works', async () => {
    const n = running();
    for (const when of ['at once', 'after the first chunk'] as const) {
      const client = new MaintenanceClient(n.endpoint, credentials.createInsecure());
      await new Promise<void>((resolve) => {
        const c = client.snapshot({});
        c.on('error', () => resolve());
        c.on('end', () => resolve());
        if (when === 'at once') setTimeout(() => c.cancel(), 5);
        else c.once('data', () => c.cancel());
      });
      client.close();
      const deadline = Date.now() + 10_000;
      while (readdirSync(scratch).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(readdirSync(scratch), [], `cancelled ${when}: scratch files removed`);
    }
    const again = join(work, 'after-cancel.db');
    await ctl(n, ['snapshot', 'save', again]);
    const r = await run(etcdRelease('3.6').path('etcdutl'), ['snapshot', 'status', again, '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
  });

  test("a real etcd 3.6's snapshot of the same history has the same buckets and value formats", async () => {
    const etcd = await startServer({ kind: 'etcd', etcdBinary: etcdRelease('3.6').path('etcd') });
    started.push(etcd);
    await writeHistory(etcd);
    const theirs = join(work, 'etcd-3.6.db');
    await ctl(etcd, ['snapshot', 'save', theirs]);
    const problems = compareSnapshots(readBuckets(theirs), readBuckets(snap));
    assert.deepEqual(problems, []);
    await etcd.stop();
  });
});
