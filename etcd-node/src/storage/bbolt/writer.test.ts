// The writer, read back by the reader: random databases (property tests) come back entry for entry,
// pass the consistency check (every page used once, keys in order, leaves at one depth), and keep
// bbolt's shapes (inline small buckets, overflow runs, multi-level branches).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { checkBbolt } from './check.js';
import { BboltError } from './errors.js';
import { PageFlag } from './format.js';
import { BboltReader } from './reader.js';
import { tempDir } from './test-helpers.js';
import { BboltWriter, writeBboltFile, type Entry } from './writer.js';

const dir = tempDir();
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const scratch = (): string => path.join(dir, `db-${seq++}`);

interface Db {
  pageSize: number;
  buckets: Array<{ name: Buffer; entries: Array<[Buffer, Buffer]> }>;
}

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));

/** Values: mostly small, some empty, some larger than a page (overflow runs). */
const valueArb = fc.oneof(
  { weight: 6, arbitrary: bytes(0, 60) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 1, arbitrary: fc.integer({ min: 900, max: 20_000 }).map((n) => Buffer.alloc(n, n & 0xff)) },
);

/** A bucket: unique keys (sorted here: the writer takes them in order), values as above. */
const entriesArb = fc
  .uniqueArray(fc.tuple(bytes(1, 40), valueArb), { maxLength: 400, selector: ([k]) => k.toString('hex') })
  .map((es) => es.sort((a, b) => Buffer.compare(a[0], b[0])));

const dbArb: fc.Arbitrary<Db> = fc.record({
  pageSize: fc.constantFrom(1024, 4096),
  buckets: fc.uniqueArray(fc.record({ name: bytes(1, 12), entries: fc.oneof(entriesArb, fc.constant([] as Array<[Buffer, Buffer]>)) }), {
    minLength: 0,
    maxLength: 5,
    selector: (b) => b.name.toString('hex'),
  }),
});

function verify(file: string, db: Db): void {
  const r = BboltReader.open(file);
  try {
    assert.equal(r.pageSize, db.pageSize);
    assert.equal(r.fileSize, r.meta.pgid * db.pageSize);
    const check = checkBbolt(r);
    assert.deepEqual(check.problems, []);
    assert.equal(check.freePages, 0);
    const names = db.buckets.map((b) => b.name).sort((a, b) => Buffer.compare(a, b));
    assert.deepEqual(r.bucketNames(), names);
    for (const b of db.buckets) {
      const rb = r.bucket(b.name);
      assert.ok(rb, `bucket ${b.name.toString('hex')}`);
      assert.deepEqual([...rb.entries()], b.entries);
      assert.deepEqual(rb.lastKey(), b.entries.at(-1)?.[0]);
      assert.deepEqual(rb.firstKey(), b.entries[0]?.[0]);
      for (const [k, v] of b.entries) assert.deepEqual(rb.get(k), v);
      assert.equal(rb.get(Buffer.alloc(41, 0xff)), undefined, 'a key longer than any written');
      // a range from the middle: exactly the entries in [start, end)
      if (b.entries.length >= 3) {
        const start = b.entries[1]![0];
        const end = b.entries[b.entries.length - 1]![0];
        assert.deepEqual([...rb.entries({ start, end })], b.entries.slice(1, -1));
      }
      const size = 16 + b.entries.reduce((n, [k, v]) => n + 16 + k.length + v.length, 0);
      if (size <= db.pageSize / 4) assert.equal(rb.header.root, 0, 'a bucket of at most a quarter page is inline');
      else assert.notEqual(rb.header.root, 0);
    }
  } finally {
    r.close();
  }
}

describe('bbolt writer → reader', () => {
  test('random databases round-trip (property)', () => {
    fc.assert(
      fc.property(dbArb, (db) => {
        const file = scratch();
        writeBboltFile(file, db.buckets, { pageSize: db.pageSize, sync: false });
        verify(file, db);
        fs.rmSync(file);
      }),
      { numRuns: 150 },
    );
  });

  test('100,000 keys: several branch levels, lookups at every depth', () => {
    const n = 100_000;
    const key = (i: number): Buffer => {
      const k = Buffer.alloc(17);
      k.writeBigUInt64BE(BigInt(i + 2), 0);
      k[8] = 0x5f;
      return k;
    };
    const value = (i: number): Buffer => Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`);
    function* entries(): Generator<Entry> {
      for (let i = 0; i < n; i++) yield [key(i), value(i)];
    }
    const file = scratch();
    const res = writeBboltFile(file, [{ name: 'key', entries: entries() }], { pageSize: 1024, sync: false });
    const r = BboltReader.open(file);
    try {
      assert.equal(res.pages, r.meta.pgid);
      assert.deepEqual(checkBbolt(r).problems, []);
      const b = r.bucket('key')!;
      // depth: branch levels above the leaves
      let depth = 0;
      for (let node = r.node(b.header.root); (node.flags & PageFlag.branch) !== 0; node = r.node(r.child(node, 0))) depth++;
      assert.ok(depth >= 3, `depth ${depth}`);
      assert.equal(b.count(), n);
      let i = 0;
      for (const [k, v] of b.entries()) {
        if (!k.equals(key(i)) || !v.equals(value(i))) assert.fail(`entry ${i}`);
        i++;
      }
      for (const j of [0, 1, 999, 50_000, 77_777, n - 1]) assert.deepEqual(b.get(key(j)), value(j));
      assert.deepEqual(b.lastKey(), key(n - 1));
      assert.deepEqual([...b.entries({ start: key(41_000), end: key(41_003) })].map(([k]) => k), [key(41_000), key(41_001), key(41_002)]);
    } finally {
      r.close();
    }
  });

  test('a value of several MiB takes one overflow run', () => {
    const file = scratch();
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 7);
    writeBboltFile(file, [{ name: 'b', entries: [[Buffer.from('a'), Buffer.from('1')], [Buffer.from('big'), big], [Buffer.from('c'), Buffer.alloc(0)]] }], { sync: false });
    const r = BboltReader.open(file);
    assert.deepEqual(checkBbolt(r).problems, []);
    assert.deepEqual(r.bucket('b')!.get('big'), big);
    assert.deepEqual(r.bucket('b')!.get('c'), Buffer.alloc(0));
    r.close();
  });

  test('bad input is refused with INVALID_ARGUMENT, and writeBboltFile leaves no file behind', () => {
    const cases: Array<[string, () => void]> = [
      ['keys out of order', () => writeBboltFile(scratch(), [{ name: 'b', entries: [[Buffer.from('b'), Buffer.alloc(0)], [Buffer.from('a'), Buffer.alloc(0)]] }])],
      ['a key twice', () => writeBboltFile(scratch(), [{ name: 'b', entries: [[Buffer.from('a'), Buffer.alloc(0)], [Buffer.from('a'), Buffer.alloc(0)]] }])],
      ['an empty key', () => writeBboltFile(scratch(), [{ name: 'b', entries: [[Buffer.alloc(0), Buffer.alloc(0)]] }])],
      ['a key larger than 32 KiB', () => writeBboltFile(scratch(), [{ name: 'b', entries: [[Buffer.alloc(32769, 1), Buffer.alloc(0)]] }])],
      ['a bucket twice', () => writeBboltFile(scratch(), [{ name: 'b', entries: [] }, { name: 'b', entries: [] }])],
      ['a page size that is no power of two', () => writeBboltFile(scratch(), [], { pageSize: 3000 })],
    ];
    for (const [what, fn] of cases) {
      const before = fs.readdirSync(dir).length;
      assert.throws(fn, (err: unknown) => err instanceof BboltError && err.code === 'INVALID_ARGUMENT', what);
      assert.equal(fs.readdirSync(dir).length, before, `${what}: the file is removed`);
    }
    const w = BboltWriter.create(scratch());
    assert.throws(() => w.put(Buffer.from('a'), Buffer.alloc(0)), /no bucket begun/);
    w.beginBucket('x');
    assert.throws(() => w.finish(), /not ended/);
    w.abort();
    assert.throws(() => w.beginBucket('y'), (err: unknown) => err instanceof BboltError && err.code === 'CLOSED');
  });

  test('an empty database: just the root', () => {
    const file = scratch();
    writeBboltFile(file, [], { sync: false });
    const r = BboltReader.open(file);
    assert.deepEqual(r.bucketNames(), []);
    assert.deepEqual(checkBbolt(r).problems, []);
    assert.equal(r.meta.pgid, 4, 'metas, root leaf, freelist');
    r.close();
  });
});
