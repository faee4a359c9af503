import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, truncate, unlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

import type { HardState } from '../../raft/types.js';
import { Wal, WalCorruptError, type WalIdentity } from './wal.js';
import {
  entries,
  entry,
  plain,
  readSegments,
  recordOffsets,
  removeDir,
  segmentFiles,
  tearLastWrite,
  tempDir,
} from './test-helpers.js';

const id: WalIdentity = { memberId: 0x8e9e05c52164694dn, clusterId: 0xcdf818194e3a8c32n };
/** small segments keep the files the tests read and rewrite small (the default is 64 MiB) */
const small = { segmentSizeBytes: 64 * 1024 };
const dirs: string[] = [];
async function fresh(): Promise<string> {
  const d = path.join(await tempDir(), 'member', 'wal');
  dirs.push(path.dirname(path.dirname(d)));
  return d;
}
after(async () => {
  for (const d of dirs) await removeDir(d);
});

function hs(term: number, commit: number, vote = 1n): HardState {
  return { term, vote, commit };
}

describe('Wal basics', () => {
  test('exists / create refuses an existing WAL / open refuses an empty dir', async () => {
    const dir = await fresh();
    assert.equal(Wal.exists(dir), false);
    const wal = await Wal.create(dir, id);
    assert.equal(Wal.exists(dir), true);
    assert.equal(wal.lastIndex, 0);
    await wal.close();
    await assert.rejects(Wal.create(dir, id), /already holds a WAL/);
    assert.deepEqual(await segmentFiles(dir), ['0000000000000000-0000000000000001.wal']);
    await assert.rejects(Wal.open(await fresh()), /no WAL segments|ENOENT/);
  });

  test('round trip over several syncs, then append after reopen', async () => {
    const dir = await fresh();
    const wal = await Wal.create(dir, id);
    wal.save(hs(1, 0), entries(1, 3, 1));
    await wal.sync();
    wal.save(undefined, entries(4, 6, 1));
    wal.save(hs(2, 5, 2n), entries(7, 7, 2));
    await wal.sync();
    assert.equal(wal.lastIndex, 7);
    await wal.close();

    const r = await Wal.open(dir);
    assert.deepEqual(r.identity, id);
    assert.deepEqual(r.hardState, hs(2, 5, 2n));
    assert.deepEqual(plain(r.entries), plain([...entries(1, 6, 1), ...entries(7, 7, 2)]));
    assert.equal(r.snapshot, undefined);
    assert.equal(r.wal.lastIndex, 7);
    r.wal.save(hs(2, 7, 2n), entries(8, 9, 2));
    await r.wal.sync();
    await r.wal.close();

    const r2 = await Wal.open(dir);
    assert.deepEqual(r2.hardState, hs(2, 7, 2n));
    assert.deepEqual(plain(r2.entries), plain([...entries(1, 6, 1), ...entries(7, 9, 2)]));
    await r2.wal.close();
  });

  test('close syncs what was saved; save validates its entries', async () => {
    const dir = await fresh();
    const wal = await Wal.create(dir, id);
    wal.save(hs(1, 0), entries(1, 2, 1));
    assert.throws(() => wal.save(undefined, entries(4, 5, 1)), /last index is 2/);
    assert.throws(() => wal.save(undefined, [entry(3, 1), entry(5, 1)]), /not consecutive/);
    await wal.close();
    assert.throws(() => wal.save(undefined, entries(3, 3, 1)), /closed/);
    await assert.rejects(wal.sync(), /closed/);
    const r = await Wal.open(dir);
    assert.deepEqual(plain(r.entries), plain(entries(1, 2, 1)));
    await r.wal.close();
  });

  test('raft log truncation on replay: 1..10 then 6..8 in a new term gives 1..8', async () => {
    const dir = await fresh();
    const wal = await Wal.create(dir, id);
    wal.save(hs(1, 3), entries(1, 10, 1));
    await wal.sync();
    wal.save(hs(2, 3), entries(6, 8, 2));
    await wal.sync();
    assert.equal(wal.lastIndex, 8);
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(plain(r.entries), plain([...entries(1, 5, 1), ...entries(6, 8, 2)]));
    assert.equal(r.wal.lastIndex, 8);
    // the log continues from 9
    r.wal.save(undefined, entries(9, 9, 2));
    await r.wal.sync();
    await r.wal.close();
    const r2 = await Wal.open(dir);
    assert.deepEqual(plain(r2.entries), plain([...entries(1, 5, 1), ...entries(6, 9, 2)]));
    await r2.wal.close();
  });
});

describe('snapshots and segments', () => {
  const conf = { voters: [1n, 2n, 3n], learners: [9n] };

  test('entries at or below the newest marker are not returned', async () => {
    const dir = await fresh();
    const wal = await Wal.create(dir, id);
    wal.save(hs(1, 10), entries(1, 10, 1));
    await wal.sync();
    await wal.saveSnapshot({ index: 5, term: 1, confState: conf });
    wal.save(hs(1, 12), entries(11, 12, 1));
    await wal.saveSnapshot({ index: 8, term: 1, confState: conf });
    await wal.close();
    const r = await Wal.open(dir);
    assert.deepEqual(r.snapshot, { index: 8, term: 1, confState: conf });
    // 9 and 10 were written before the marker and are kept: a member snapshots its own log
    assert.deepEqual(plain(r.entries), plain(entries(9, 12, 1)));
    assert.equal(r.wal.lastIndex, 12);
    await r.wal.close();
  });

  test('a snapshot received from the leader: marker first, then the entries after it', async () => {
    const dir = await fresh();
    const wal = await Wal.create(dir, id);
    wal.save(hs(1, 3), entries(1, 5, 1));
    await wal.sync();
    await wal.saveSnapshot({ index: 100, term: 4, confState: conf });
    assert.equal(wal.lastIndex, 100);
    assert.throws(() => wal.save(undefined, entries(100, 101, 4)), /covered by the snapshot/);
    wal.save(hs(4, 100), entries(101, 102, 4));
    await wal.sync();
    await wal.close();
    const r = await Wal.open(dir);
    assert.equal(r.snapshot?.index, 100);
    assert.deepEqual(plain(r.entries), plain(entries(101, 102, 4)));
    assert.equal(r.wal.lastIndex, 102);
    await r.wal.close();

    const dir2 = await fresh();
    const w2 = await Wal.create(dir2, id);
    await w2.saveSnapshot({ index: 50, term: 3, confState: conf });
    await w2.close();
    const r2 = await Wal.open(dir2);
    assert.deepEqual(r2.entries, []);
    assert.equal(r2.wal.lastIndex, 50);
    await r2.wal.close();
  });

  test('segment cut with a small segment size: many segments, replay returns all', async () => {
    const dir = await fresh();
    const seg = { segmentSizeBytes: 1024 };
    const wal = await Wal.create(dir, id, seg);
    for (let i = 1; i <= 400; i += 4) {
      wal.save(hs(1, i - 1), entries(i, i + 3, 1));
      await wal.sync();
    }
    await wal.close();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 10, `expected many segments, got ${files.length}`);
    files.forEach((f, i) => assert.ok(f.startsWith(i.toString(16).padStart(16, '0') + '-'), f));
    const r = await Wal.open(dir, seg);
    assert.deepEqual(plain(r.entries), plain(entries(1, 400, 1)));
    assert.deepEqual(r.hardState, hs(1, 396));
    r.wal.save(hs(1, 400), entries(401, 500, 1)); // one batch larger than a segment
    await r.wal.sync();
    await r.wal.close();
    const r2 = await Wal.open(dir, seg);
    assert.deepEqual(plain(r2.entries), plain(entries(1, 500, 1)));
    assert.deepEqual(r2.hardState, hs(1, 400));
    await r2.wal.close();
  });

  test('releaseTo deletes old segments; open still works; HardState and marker survive', async () => {
    const dir = await fresh();
    const seg = { segmentSizeBytes: 1024 };
    const wal = await Wal.create(dir, id, seg);
    wal.save(hs(1, 0, 3n), []);
    for (let i = 1; i <= 200; i += 2) {
      wal.save(undefined, entries(i, i + 1, 1));
      await wal.sync();
    }
    const before = (await segmentFiles(dir)).length;
    // no marker yet: releasing would leave a hole, so nothing goes
    await wal.releaseTo(150);
    assert.equal((await segmentFiles(dir)).length, before);
    await wal.saveSnapshot({ index: 150, term: 1, confState: conf });
    await wal.releaseTo(1_000_000); // capped at the marker
    const after = await segmentFiles(dir);
    assert.ok(after.length < before / 2, `${before} → ${after.length}`);
    await wal.close();
    let r = await Wal.open(dir, seg);
    assert.deepEqual(r.snapshot, { index: 150, term: 1, confState: conf });
    assert.deepEqual(r.hardState, hs(1, 0, 3n));
    assert.ok(r.entries.length >= 50);
    assert.deepEqual(plain(r.entries), plain(entries(151, 200, 1)));
    // release everything the marker covers, several times over, with more cuts in between
    for (let i = 201; i <= 400; i += 2) {
      r.wal.save(undefined, entries(i, i + 1, 1));
      await r.wal.sync();
    }
    await r.wal.saveSnapshot({ index: 390, term: 1, confState: conf });
    await r.wal.releaseTo(391);
    const left = await segmentFiles(dir);
    assert.ok(left.length <= 2, left.join());
    await r.wal.close();
    r = await Wal.open(dir, seg);
    assert.equal(r.snapshot?.index, 390);
    assert.deepEqual(r.hardState, hs(1, 0, 3n));
    assert.deepEqual(plain(r.entries), plain(entries(391, 400, 1)));
    await r.wal.close();
  });
});

describe('torn writes and corruption', () => {
  /** A WAL with entries 1..n, one sync each; returns the dir and the segment contents before entry n. */
  async function build(n: number, opts = small) {
    const dir = await fresh();
    const wal = await Wal.create(dir, id, opts);
    for (let i = 1; i < n; i++) {
      wal.save(hs(1, i - 1), [entry(i, 1)]);
      await wal.sync();
    }
    const before = await readSegments(dir);
    wal.save(hs(1, n - 1), [entry(n, 1, `last entry ${'x'.repeat(100)}`)]);
    await wal.sync();
    await wal.close();
    return { dir, before, after: await readSegments(dir) };
  }

  for (const truncateFile of [false, true]) {
    test(`torn final write (${truncateFile ? 'file cut short' : 'tail zeroed'}) is truncated away`, async () => {
      // the last write is entry 10 (136 bytes on disk) then a HardState record (24 bytes)
      for (const keep of [0, 0.01, 0.2, 0.5, 0.8, 0.97]) {
        const { dir, before, after } = await build(10);
        await tearLastWrite(dir, before, after, keep, truncateFile);
        const r = await Wal.open(dir, small);
        const last = keep > 0.9 ? 10 : 9; // at 0.97 only the HardState record is torn
        assert.deepEqual(plain(r.entries.slice(0, 9)), plain(entries(1, 9, 1)), `keep ${keep}`);
        assert.equal(r.entries.length, last, `keep ${keep}`);
        assert.deepEqual(r.hardState, hs(1, 8));
        assert.equal(r.wal.lastIndex, last);
        r.wal.save(hs(2, 9), entries(last + 1, 12, 2));
        await r.wal.sync();
        await r.wal.close();
        const r2 = await Wal.open(dir, small);
        assert.deepEqual(plain(r2.entries.slice(0, 9)), plain(entries(1, 9, 1)));
        assert.deepEqual(plain(r2.entries.slice(last)), plain(entries(last + 1, 12, 2)));
        assert.deepEqual(r2.hardState, hs(2, 9));
        await r2.wal.close();
      }
    });
  }

  test('a file cut inside a record header is a torn write', async () => {
    const { dir, after } = await build(5);
    const [name, buf] = [...after][0]!;
    const offs = recordOffsets(buf);
    for (const cut of [1, 4, 5, 11]) {
      const last = offs[offs.length - 2]!; // the entry record before the last hardstate
      await writeFile(path.join(dir, name), buf);
      await truncate(path.join(dir, name), last + cut);
      const r = await Wal.open(dir);
      assert.deepEqual(plain(r.entries), plain(entries(1, 4, 1)), `cut ${cut}`);
      await r.wal.close();
    }
  });

  async function expectCorrupt(dir: string, file: string, offset: number, re?: RegExp): Promise<void> {
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError, String(err));
      assert.equal(err.code, 'WAL_CORRUPT');
      assert.equal(err.file, file);
      assert.equal(err.offset, offset);
      assert.ok(err.message.includes(file) && err.message.includes(`offset ${offset}`), err.message);
      if (re) assert.match(err.message, re);
      return true;
    });
  }

  test('a flipped byte in a record followed by good records is corruption', async () => {
    const { dir, after } = await build(10);
    const [name, buf] = [...after][0]!;
    const file = path.join(dir, name);
    const offs = recordOffsets(buf);
    const victim = offs[5]!;
    const cases: [number, RegExp][] = [
      [victim + 14, /crc mismatch/], // payload
      [victim + 8, /crc mismatch/], // crc
      [victim + 4, /unknown record type|crc mismatch/], // type
      [victim + 6, /reserved/], // reserved
      [victim + 0, /crc mismatch|record length|padding/], // length, low byte
      [victim + 3, /record length/], // length, high byte: swallows the records after it
    ];
    for (const [at, re] of cases) {
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 0x40;
      await writeFile(file, bad);
      await expectCorrupt(dir, file, victim, re);
    }
    // a flipped bit in the complete final record is corruption too, not a torn write
    const lastRec = offs[offs.length - 1]!;
    for (const at of [lastRec + 12, lastRec + 17]) {
      const bad = Buffer.from(buf);
      bad[at] = bad[at]! ^ 1;
      await writeFile(file, bad);
      await expectCorrupt(dir, file, lastRec, /crc mismatch/);
    }
    // non-zero bytes after the end of the records
    const junk = Buffer.from(buf);
    junk[junk.length - 100] = 1;
    await writeFile(file, junk);
    await assert.rejects(Wal.open(dir), WalCorruptError);
    // a bad segment header
    const hdr = Buffer.from(buf);
    hdr[0] = 0;
    await writeFile(file, hdr);
    await expectCorrupt(dir, file, 0, /magic/);
  });

  test('a bad record in a non-final segment is corruption, even at its tail', async () => {
    const { dir, after } = await build(60, { segmentSizeBytes: 512 });
    const names = [...after.keys()];
    assert.ok(names.length >= 3, names.join());
    const name = names[1]!;
    const buf = after.get(name)!;
    const file = path.join(dir, name);
    const offs = recordOffsets(buf);
    for (const victim of [offs[2]!, offs[offs.length - 1]!]) {
      const bad = Buffer.from(buf);
      bad[victim + 13] = bad[victim + 13]! ^ 0xff;
      await writeFile(file, bad);
      await expectCorrupt(dir, file, victim, /crc mismatch/);
    }
    // the tail of a non-final segment zeroed: looks like a torn write, but only the last segment may have one
    const lastOff = offs[offs.length - 1]!;
    const zeroed = Buffer.from(buf);
    zeroed.fill(0, lastOff + 14);
    await writeFile(file, zeroed);
    await expectCorrupt(dir, file, lastOff);
    await writeFile(file, Buffer.alloc(0));
    await expectCorrupt(dir, file, 0, /shorter than the segment header/);
    // a missing segment in the middle
    await unlink(file);
    await expectCorrupt(dir, path.join(dir, names[2]!), 0, /segment 1 is missing/);
  });

  test('a torn final write after a cut: the new segment is whole or absent', async () => {
    const seg = { segmentSizeBytes: 512 };
    const dir = await fresh();
    const wal = await Wal.create(dir, id, seg);
    let i = 1;
    while ((await segmentFiles(dir)).length < 2) {
      wal.save(hs(1, i - 1), [entry(i, 1)]);
      await wal.sync();
      i++;
    }
    await wal.close();
    const files = await segmentFiles(dir);
    await writeFile(path.join(dir, files[1]! + '.tmp'), Buffer.from('half-made segment'));
    const r = await Wal.open(dir, seg);
    assert.deepEqual(plain(r.entries), plain(entries(1, i - 1, 1)));
    await r.wal.close();
    assert.deepEqual(await segmentFiles(dir), files);
    assert.ok(!existsSync(path.join(dir, files[1]! + '.tmp')));
  });
});

describe('group commit', () => {
  test('1000 saves with concurrent syncs: all durable, few fdatasyncs', async () => {
    const dir = await fresh();
    let fsyncs = 0;
    const opts = {
      segmentSizeBytes: 4 * 1024 * 1024,
      onFsync: (s: number) => {
        assert.ok(s >= 0);
        fsyncs++;
      },
    };
    const wal = await Wal.create(dir, id, opts);
    fsyncs = 0;
    const syncs: Promise<void>[] = [];
    for (let i = 1; i <= 1000; i++) {
      wal.save(hs(1, i - 1), [entry(i, 1)]);
      syncs.push(wal.sync());
    }
    await Promise.all(syncs);
    assert.ok(fsyncs <= 5, `${fsyncs} fsyncs for 1000 saves`);
    const afterFirst = fsyncs;
    // 1000 more saves, then 50 concurrent syncs, while the earlier ones interleave with new saves
    for (let i = 1001; i <= 2000; i++) wal.save(hs(1, i - 1), [entry(i, 1)]);
    const more: Promise<void>[] = [];
    for (let k = 0; k < 50; k++) more.push(wal.sync());
    await Promise.all(more);
    assert.ok(fsyncs - afterFirst <= 2, `${fsyncs - afterFirst} fsyncs for 50 concurrent syncs`);
    // a sync with nothing new to write does not fsync
    const idle = fsyncs;
    await wal.sync();
    assert.equal(fsyncs, idle);
    await wal.close();
    const r = await Wal.open(dir, opts);
    assert.equal(r.entries.length, 2000);
    assert.deepEqual(plain(r.entries), plain(entries(1, 2000, 1)));
    assert.deepEqual(r.hardState, hs(1, 1999));
    await r.wal.close();
  });

  test('a sync called while one is in flight covers saves made before it', async () => {
    const dir = await fresh();
    const wal = await Wal.create(dir, id, small);
    wal.save(undefined, [entry(1, 1)]);
    const first = wal.sync();
    wal.save(undefined, [entry(2, 1)]);
    const second = wal.sync();
    await second;
    // crash now (copy the files as they are) and check entry 2 is there
    const copy = await fresh();
    const snap = await readSegments(dir);
    await mkdir(copy, { recursive: true });
    for (const [n, b] of snap) await writeFile(path.join(copy, n), b);
    const r = await Wal.open(copy, small);
    assert.deepEqual(plain(r.entries), plain(entries(1, 2, 1)));
    await r.wal.close();
    await first;
    await wal.close();
  });
});

