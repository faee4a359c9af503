// The reader against snapshots real etcd servers wrote (testdata/), and against damaged files: each
// refusal is a BboltError with the right code and a message naming the file and the page.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { checkBbolt } from './check.js';
import { BboltError } from './errors.js';
import { FREELIST_COUNT_ESCAPE, PAGE_HEADER_SIZE, PageFlag, fnv1a64, metaProblem, readMeta, writeMetaPage } from './format.js';
import { BboltReader } from './reader.js';
import { fixtureBytes, fixtureFile, tempDir, type Fixture } from './test-helpers.js';
import { BboltWriter } from './writer.js';

const dir = tempDir();
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const ETCD_BUCKETS = ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'key', 'lease', 'members', 'members_removed', 'meta'];

function rev(main: number, sub = 0, tombstone = false): Buffer {
  const b = Buffer.alloc(tombstone ? 18 : 17);
  b.writeBigUInt64BE(BigInt(main), 0);
  b[8] = 0x5f;
  b.writeBigUInt64BE(BigInt(sub), 9);
  if (tombstone) b[17] = 0x74;
  return b;
}

function expectError(fn: () => unknown, code: string, ...parts: Array<string | RegExp>): BboltError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof BboltError, `expected a BboltError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const p of parts) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} lacks ${p}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

describe('format', () => {
  test('FNV-1a 64 matches its published test vectors', () => {
    assert.equal(fnv1a64(Buffer.alloc(0)), 0xcbf29ce484222325n);
    assert.equal(fnv1a64(Buffer.from('a')), 0xaf63dc4c8601ec8cn);
    assert.equal(fnv1a64(Buffer.from('foobar')), 0x85944171f73967e8n);
  });

  test('a meta page written is a meta page read, and any flipped byte is caught', () => {
    const buf = Buffer.alloc(4096);
    writeMetaPage(buf, 0, 0, { pageSize: 4096, flags: 0, root: { root: 3, sequence: 7n }, freelist: 2, pgid: 4, txid: 9n });
    assert.equal(metaProblem(buf, PAGE_HEADER_SIZE), undefined);
    const m = readMeta(buf, PAGE_HEADER_SIZE);
    assert.deepEqual({ ...m, checksum: 0n }, { magic: 0xed0cdaed, version: 2, pageSize: 4096, flags: 0, root: { root: 3, sequence: 7n }, freelist: 2, pgid: 4, txid: 9n, checksum: 0n });
    for (let i = PAGE_HEADER_SIZE; i < PAGE_HEADER_SIZE + 64; i++) {
      const c = Buffer.from(buf);
      c[i] = c[i]! ^ 0x40;
      assert.notEqual(metaProblem(c, PAGE_HEADER_SIZE), undefined, `flip at byte ${i} went unnoticed`);
    }
  });
});

describe('reading real etcd snapshots', () => {
  for (const name of ['etcd-3.4', 'etcd-3.5', 'etcd-3.6-cluster'] as const) {
    test(`${name}: every bucket, inline ones included, and the history written`, () => {
      const db = BboltReader.open(fixtureFile(dir, name));
      try {
        assert.equal(db.pageSize, 4096);
        assert.equal(db.meta.freelist, undefined, 'etcd syncs no freelist (NoFreelistSync)');
        assert.equal(db.fileSize, db.meta.pgid * 4096 + 32, 'the snapshot is the database plus the sha256 trailer');
        assert.deepEqual(db.bucketNames().map(String), ETCD_BUCKETS);
        for (const b of ETCD_BUCKETS) assert.equal(db.bucket(b)?.header.root, 0, `${b} is inline`);
        const key = db.bucket('key')!;
        assert.deepEqual([...key.entries()].map(([k]) => k), [rev(3), rev(4), rev(5, 0, true), rev(6)]);
        assert.deepEqual(key.lastKey(), rev(6));
        assert.deepEqual(key.firstKey(), rev(3));
        assert.equal(key.count(), 4);
        // a = 2 at revision 3 (created at 2, version 2): mvccpb.KeyValue bytes
        assert.deepEqual(key.get(rev(3)), Buffer.from('0a01611002180320022a0132', 'hex'));
        assert.equal(key.get(rev(2)), undefined);
        assert.deepEqual([...key.entries({ start: rev(4), end: rev(6) })].map(([k]) => k), [rev(4), rev(5, 0, true)]);
        const meta = db.bucket('meta')!;
        assert.deepEqual(meta.get('finishedCompactRev'), rev(3));
        assert.deepEqual(meta.get('scheduledCompactRev'), rev(3));
        assert.equal(db.bucket('lease')!.count(), 1);
        assert.equal(db.bucket('nosuch'), undefined);
        assert.deepEqual(checkBbolt(db).problems, []);
      } finally {
        db.close();
      }
    });
  }

  test('etcd-3.6-cluster: members, removed members, confState, storage version, auth', () => {
    const db = BboltReader.open(fixtureFile(dir, 'etcd-3.6-cluster'));
    try {
      // ids are u64s beyond 2^53: compared as text, not through JSON.parse
      const members = [...db.bucket('members')!.entries()].map(([k, v]) => [k.toString(), v.toString()]);
      assert.equal(members.length, 3);
      assert.deepEqual(members[1], ['a25712cd76bff331', '{"id":11697839230788039473,"peerURLs":["http://127.0.0.4:24801"],"isLearner":true}']);
      assert.deepEqual([...db.bucket('members_removed')!.entries()].map(([k, v]) => [k.toString(), v.toString()]), [['4017c45cf97ba5ed', 'removed']]);
      const meta = db.bucket('meta')!;
      assert.equal(meta.get('storageVersion')?.toString(), '3.6.0');
      assert.match(meta.get('confState')!.toString(), /^\{"voters":\[\d+,\d+\],"learners":\[\d+\],"auto_leave":false\}$/);
      assert.equal(db.bucket('cluster')!.get('clusterVersion')?.toString(), '3.6.0');
      assert.deepEqual(db.bucket('auth')!.get('authEnabled'), Buffer.from([1]));
      assert.deepEqual([...db.bucket('authUsers')!.entries()].map(([k]) => k.toString()), ['nop', 'root', 'u1']);
    } finally {
      db.close();
    }
  });

  test('etcd-3.6-nospace: a key bucket on its own pages, values on overflow pages, the alarm', () => {
    const db = BboltReader.open(fixtureFile(dir, 'etcd-3.6-nospace'));
    try {
      const key = db.bucket('key')!;
      assert.notEqual(key.header.root, 0);
      const values = [...key.entries()];
      assert.ok(values.length >= 5);
      for (const [, v] of values) assert.ok(v.length > 20000);
      assert.equal(db.bucket('alarm')!.count(), 1);
      const [[alarmKey, alarmValue]] = [...db.bucket('alarm')!.entries()] as [[Buffer, Buffer]];
      assert.equal(alarmValue.length, 0);
      assert.equal(alarmKey.at(-1), 1, 'AlarmMember with alarm NOSPACE (1) last');
      assert.deepEqual(checkBbolt(db).problems, []);
    } finally {
      db.close();
    }
  });
});

describe('refusing what is not a whole bbolt database', () => {
  const base = (n: Fixture = 'etcd-3.5'): Buffer => fixtureBytes(n);
  const write = (name: string, bytes: Buffer): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  test('not bbolt: text, zeros, an empty file', () => {
    for (const [name, bytes] of [
      ['text', Buffer.from('hello world\n'.repeat(1000))],
      ['zeros', Buffer.alloc(65536)],
      ['empty', Buffer.alloc(0)],
    ] as const) {
      const f = write(name, bytes);
      expectError(() => BboltReader.open(f), 'NOT_BBOLT', f, 'not a bbolt database');
    }
  });

  test('truncated: the file ends before the pages the meta counts', () => {
    const b = base();
    const f = write('truncated', b.subarray(0, 3 * 4096 + 100));
    expectError(() => BboltReader.open(f), 'TRUNCATED', f, 'truncated', 'page 3 (offset 12288)');
  });

  test('one bad meta page: the other one is used; both bad: BAD_CHECKSUM naming both', () => {
    const b = base();
    const m0 = readMeta(b, PAGE_HEADER_SIZE);
    const m1 = readMeta(b, 4096 + PAGE_HEADER_SIZE);
    assert.ok(m0.txid > m1.txid);
    const one = Buffer.from(b);
    one[PAGE_HEADER_SIZE + 48] = one[PAGE_HEADER_SIZE + 48]! ^ 1; // meta 0's txid: its checksum no longer matches
    const f1 = write('bad-meta0', one);
    const db = BboltReader.open(f1);
    assert.equal(db.metaPage, 1);
    assert.equal(db.meta.txid, m1.txid);
    db.close();
    const both = Buffer.from(one);
    both[4096 + PAGE_HEADER_SIZE + 48] = both[4096 + PAGE_HEADER_SIZE + 48]! ^ 1;
    const f2 = write('bad-metas', both);
    expectError(() => BboltReader.open(f2), 'BAD_CHECKSUM', f2, 'meta page 0 (offset 0): bad checksum', 'meta page 1');
  });

  test('the newer meta wins when both are valid', () => {
    const db = BboltReader.open(write('fine', base()));
    assert.equal(db.metaPage, 0);
    db.close();
  });

  test('a page that records another id, bad flags, an element past its page: CORRUPT naming the page', () => {
    const w = BboltWriter.create(path.join(dir, 'big.db'));
    w.beginBucket('b');
    for (let i = 0; i < 2000; i++) w.put(Buffer.from(`k${String(i).padStart(5, '0')}`), Buffer.from('v'.repeat(20)));
    w.endBucket();
    w.finish();
    const good = fs.readFileSync(path.join(dir, 'big.db'));
    const db0 = BboltReader.open(path.join(dir, 'big.db'));
    const root = db0.bucket('b')!.header.root;
    db0.close();
    assert.ok(root > 2);
    const off = root * 4096;

    const wrongId = Buffer.from(good);
    wrongId.writeBigUInt64LE(BigInt(root + 1), off);
    const f1 = write('wrong-id', wrongId);
    const db1 = BboltReader.open(f1);
    expectError(() => db1.bucket('b')!.get(Buffer.from('k00001')), 'CORRUPT', f1, `page ${root} (offset ${off})`, `records itself as page ${root + 1}`);
    db1.close();

    const badFlags = Buffer.from(good);
    badFlags.writeUInt16LE(PageFlag.freelist, off + 8);
    const f2 = write('bad-flags', badFlags);
    const db2 = BboltReader.open(f2);
    expectError(() => [...db2.bucket('b')!.entries()], 'CORRUPT', `page ${root} (offset ${off})`, 'flags freelist');
    db2.close();

    // the first leaf: its first element's key claims to be larger than the page
    const db3a = BboltReader.open(path.join(dir, 'big.db'));
    const leaf = db3a.child(db3a.node(root), 0);
    db3a.close();
    const longKey = Buffer.from(good);
    longKey.writeUInt32LE(100_000, leaf * 4096 + PAGE_HEADER_SIZE + 8);
    const f3 = write('long-key', longKey);
    const db3 = BboltReader.open(f3);
    expectError(() => [...db3.bucket('b')!.entries()], 'CORRUPT', `page ${leaf} (offset ${leaf * 4096})`, 'too short for element 0');
    db3.close();

    const beyond = Buffer.from(good);
    beyond.writeBigUInt64LE(10_000n, off + PAGE_HEADER_SIZE + 8);
    const f4 = write('beyond', beyond);
    const db4 = BboltReader.open(f4);
    expectError(() => db4.bucket('b')!.firstKey(), 'CORRUPT', `page ${root}`, 'points to page 10000');
    db4.close();
  });

  test('a freelist with more than 0xFFFF ids uses the count escape', () => {
    // build a valid file, then add 70,000 free pages at its end, listed on an overflowing freelist page
    const f = path.join(dir, 'escape.db');
    const w = BboltWriter.create(f);
    w.writeBucket('b', [[Buffer.from('k'), Buffer.from('v')]]);
    w.finish();
    const db0 = BboltReader.open(f);
    const { pgid, root, freelist } = db0.meta;
    db0.close();
    const free = 70_000;
    const flPages = Math.ceil((PAGE_HEADER_SIZE + 8 + (free + 1) * 8) / 4096);
    const flPgid = pgid;
    const total = pgid + flPages + free;
    const bytes = Buffer.alloc(total * 4096);
    fs.readFileSync(f).copy(bytes);
    const o = flPgid * 4096;
    bytes.writeBigUInt64LE(BigInt(flPgid), o);
    bytes.writeUInt16LE(PageFlag.freelist, o + 8);
    bytes.writeUInt16LE(FREELIST_COUNT_ESCAPE, o + 10);
    bytes.writeUInt32LE(flPages - 1, o + 12);
    bytes.writeBigUInt64LE(BigInt(free), o + PAGE_HEADER_SIZE);
    for (let i = 0; i < free; i++) bytes.writeBigUInt64LE(BigInt(flPgid + flPages + i), o + PAGE_HEADER_SIZE + 8 + i * 8);
    // the old freelist page becomes a free page too
    bytes.writeBigUInt64LE(BigInt(free + 1), o + PAGE_HEADER_SIZE);
    bytes.writeBigUInt64LE(BigInt(freelist!), o + PAGE_HEADER_SIZE + 8 + free * 8);
    for (const [page, txid] of [[0, 5n], [1, 4n]] as const) {
      writeMetaPage(bytes, page * 4096, page, { pageSize: 4096, flags: 0, root, freelist: flPgid, pgid: total, txid });
    }
    fs.writeFileSync(f, bytes);
    const db = BboltReader.open(f);
    const ids = db.freePages()!;
    assert.equal(ids.length, free + 1);
    assert.equal(ids[0], flPgid + flPages);
    assert.deepEqual(checkBbolt(db).problems, []);
    assert.deepEqual(db.bucket('b')!.get('k'), Buffer.from('v'));
    db.close();
  });
});
