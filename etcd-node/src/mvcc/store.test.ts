import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Event_EventType, type KeyValue } from '../gen/mvccpb/kv.js';
import { Backend } from '../storage/backend/backend.js';
import { bytesToRev, isTombstoneKey, revToBytes } from './revision.js';
import { CompactedError, FutureRevError, MvccStore, type StoreOptions } from './store.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-mvcc-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirs = 0;

const b = (s: string): Buffer => Buffer.from(s);
const ALL = Buffer.alloc(0); // range_end "\0": every key >= key

interface Env {
  file: string;
  be: Backend;
  s: MvccStore;
}

function openEnv(file = path.join(tmpRoot, `s${dirs++}`, 'member', 'snap', 'db'), opts?: StoreOptions): Env {
  const be = Backend.open(file);
  return { file, be, s: MvccStore.open(be, opts) };
}

async function closeEnv(e: Env): Promise<void> {
  await e.s.close();
  await e.be.close();
}

function put(e: Env, k: string, v: string, lease = 0n): number {
  return e.be.batch(() => {
    const t = e.s.write();
    t.put(b(k), b(v), lease);
    return t.end();
  });
}

function del(e: Env, k: string, end?: string): number {
  return e.be.batch(() => {
    const t = e.s.write();
    t.deleteRange(b(k), end === undefined ? undefined : b(end));
    return t.end();
  });
}

/** kvs as comparable plain tuples */
function flat(kvs: KeyValue[]): Array<[string, string, number, number, number]> {
  return kvs.map((kv) => [kv.key.toString(), kv.value.toString(), Number(kv.createRevision), Number(kv.modRevision), Number(kv.version)]);
}

function backendRevs(e: Env): string[] {
  return [...e.be.key.getKeys({})].map((k) => {
    const r = bytesToRev(k);
    return `${r.main}.${r.sub}${isTombstoneKey(k) ? 't' : ''}`;
  });
}

describe('MvccStore', () => {
  it('starts at revision 1; put/put/delete/put give etcd revisions and versions', async () => {
    const e = openEnv();
    assert.equal(e.s.currentRevision, 1);
    assert.equal(e.s.compactRevision, 0);
    assert.equal(put(e, 'foo', 'a'), 2);
    assert.equal(put(e, 'foo', 'b'), 3);
    assert.deepEqual(flat(e.s.range(b('foo'), undefined).kvs), [['foo', 'b', 2, 3, 2]]);
    assert.equal(del(e, 'foo'), 4);
    assert.deepEqual(e.s.range(b('foo'), undefined), { kvs: [], count: 0, rev: 4 });
    assert.equal(put(e, 'foo', 'c', 7n), 5);
    const r = e.s.range(b('foo'), undefined);
    assert.deepEqual(flat(r.kvs), [['foo', 'c', 5, 5, 1]]);
    assert.equal(r.kvs[0]!.lease, 7n);
    // history
    assert.deepEqual(flat(e.s.range(b('foo'), undefined, { rev: 2 }).kvs), [['foo', 'a', 2, 2, 1]]);
    assert.deepEqual(flat(e.s.range(b('foo'), undefined, { rev: 3 }).kvs), [['foo', 'b', 2, 3, 2]]);
    assert.deepEqual(e.s.range(b('foo'), undefined, { rev: 4 }).kvs, []);
    assert.deepEqual(e.s.range(b('foo'), undefined, { rev: 1 }).kvs, []);
    // the result's rev is the current revision (etcd's header revision), even for an old read
    assert.equal(e.s.range(b('foo'), undefined, { rev: 2 }).rev, 5);
    // a delete of nothing changes nothing
    assert.equal(del(e, 'nope'), 5);
    // backend layout: 17-byte revision keys, 18-byte tombstone
    assert.deepEqual(backendRevs(e), ['2.0', '3.0', '4.0t', '5.0']);
    const tomb = e.be.key.get(revToBytes(4, 0, true));
    assert.deepEqual(tomb, Buffer.from([0x0a, 0x03, 0x66, 0x6f, 0x6f])); // KeyValue{key: "foo"}
    await closeEnv(e);
  });

  it('ranges: single key, [a, c), from key with empty end, limit with count, countOnly, at current and old revisions', async () => {
    const e = openEnv();
    for (const k of ['a', 'b', 'c', 'd']) put(e, k, `${k}1`); // revs 2..5
    const rev5 = e.s.currentRevision;
    put(e, 'b', 'b2'); // 6
    del(e, 'c'); // 7
    put(e, 'e', 'e1'); // 8
    const keys = (kvs: KeyValue[]): string[] => kvs.map((kv) => `${kv.key.toString()}=${kv.value.toString()}`);

    assert.deepEqual(keys(e.s.range(b('b'), undefined).kvs), ['b=b2']);
    assert.deepEqual(keys(e.s.range(b('a'), b('c')).kvs), ['a=a1', 'b=b2']);
    assert.deepEqual(keys(e.s.range(b('b'), ALL).kvs), ['b=b2', 'd=d1', 'e=e1']);
    assert.deepEqual(keys(e.s.range(ALL, ALL).kvs), ['a=a1', 'b=b2', 'd=d1', 'e=e1']);
    assert.deepEqual(e.s.range(b('c'), b('a')).kvs, []); // end <= key: nothing
    const lim = e.s.range(b('a'), ALL, { limit: 2 });
    assert.deepEqual(keys(lim.kvs), ['a=a1', 'b=b2']);
    assert.equal(lim.count, 4);
    const cnt = e.s.range(b('a'), ALL, { countOnly: true });
    assert.deepEqual(cnt, { kvs: [], count: 4, rev: 8 });

    // the same at revision 5
    assert.deepEqual(keys(e.s.range(b('b'), undefined, { rev: rev5 }).kvs), ['b=b1']);
    assert.deepEqual(keys(e.s.range(b('a'), b('c'), { rev: rev5 }).kvs), ['a=a1', 'b=b1']);
    assert.deepEqual(keys(e.s.range(b('b'), ALL, { rev: rev5 }).kvs), ['b=b1', 'c=c1', 'd=d1']);
    const limOld = e.s.range(b('a'), ALL, { rev: rev5, limit: 3 });
    assert.deepEqual(keys(limOld.kvs), ['a=a1', 'b=b1', 'c=c1']);
    assert.equal(limOld.count, 4);
    assert.equal(e.s.range(b('a'), ALL, { rev: 3, countOnly: true }).count, 2);
    assert.equal(e.s.range(b('a'), ALL, { rev: 0 }).count, 4); // rev <= 0: current
    await closeEnv(e);
  });

  it('throws CompactedError and FutureRevError with etcd messages', async () => {
    const e = openEnv();
    for (let i = 0; i < 5; i++) put(e, 'k', String(i)); // revs 2..6
    assert.throws(() => e.s.range(b('k'), undefined, { rev: 7 }), FutureRevError);
    assert.throws(() => e.s.range(b('k'), undefined, { rev: 7 }), { message: 'mvcc: required revision is a future revision', code: 'FUTURE_REV' });
    assert.throws(() => e.s.compact(7), FutureRevError);
    await e.s.compact(4);
    assert.equal(e.s.compactRevision, 4);
    assert.throws(() => e.s.range(b('k'), undefined, { rev: 3 }), CompactedError);
    assert.throws(() => e.s.range(b('k'), undefined, { rev: 3 }), { message: 'mvcc: required revision has been compacted', code: 'COMPACTED' });
    assert.deepEqual(flat(e.s.range(b('k'), undefined, { rev: 4 }).kvs), [['k', '2', 2, 4, 3]]); // at the compact rev: fine
    assert.throws(() => e.s.compact(4), CompactedError);
    assert.throws(() => e.s.compact(3), CompactedError);
    assert.throws(() => e.s.hashKV(3), CompactedError);
    assert.throws(() => e.s.hashKV(9), FutureRevError);
    await closeEnv(e);
  });

  it('changes in one txn share the main revision with increasing sub; txn reads see own writes', async () => {
    const e = openEnv();
    put(e, 'x', 'old'); // 2
    const seen: Array<{ rev: number; types: Event_EventType[] }> = [];
    e.s.onCommit((rev, events) => seen.push({ rev, types: events.map((ev) => ev.type) }));
    const endRev = e.be.batch(() => {
      const t = e.s.write();
      assert.equal(t.rev, 2);
      assert.deepEqual(t.range(b('a'), undefined).kvs, []);
      assert.equal(t.put(b('a'), b('1'), 0n), undefined);
      assert.deepEqual(flat(t.range(b('a'), undefined).kvs), [['a', '1', 3, 3, 1]]);
      assert.equal(t.range(b('a'), undefined).rev, 3);
      const prev = t.put(b('x'), b('new'), 0n);
      assert.deepEqual(flat(prev ? [prev] : []), [['x', 'old', 2, 2, 1]]);
      assert.deepEqual(flat(t.range(b('x'), undefined).kvs), [['x', 'new', 2, 3, 2]]);
      const d = t.deleteRange(b('a'), b('b'));
      assert.equal(d.deleted, 1);
      assert.deepEqual(flat(d.prevKvs), [['a', '1', 3, 3, 1]]);
      assert.deepEqual(t.range(b('a'), undefined).kvs, []);
      // the txn may read an older revision, as etcd allows
      assert.deepEqual(flat(t.range(b('x'), undefined, { rev: 2 }).kvs), [['x', 'old', 2, 2, 1]]);
      // outside readers do not see the txn before it ends
      assert.equal(e.s.currentRevision, 2);
      assert.deepEqual(flat(e.s.range(b('x'), undefined).kvs), [['x', 'old', 2, 2, 1]]);
      assert.equal(seen.length, 0);
      return t.end();
    });
    assert.equal(endRev, 3);
    assert.deepEqual(backendRevs(e), ['2.0', '3.0', '3.1', '3.2t']);
    assert.deepEqual(seen, [{ rev: 3, types: [Event_EventType.PUT, Event_EventType.PUT, Event_EventType.DELETE] }]);
    // a txn with no changes does not move the revision
    assert.equal(
      e.be.batch(() => {
        const t = e.s.write();
        t.range(b('x'), undefined);
        return t.end();
      }),
      3,
    );
    await closeEnv(e);
  });

  it('a batch that throws rolls back the index and the revision with the backend', async () => {
    const e = openEnv();
    put(e, 'a', '1'); // 2
    assert.throws(() =>
      e.be.batch(() => {
        const t = e.s.write();
        t.put(b('a'), b('2'), 0n);
        t.put(b('new'), b('1'), 0n);
        t.deleteRange(b('a'), undefined);
        t.end();
        const t2 = e.s.write();
        t2.put(b('z'), b('1'), 0n);
        t2.end();
        throw new Error('apply failed');
      }),
    );
    assert.equal(e.s.currentRevision, 2);
    assert.deepEqual(flat(e.s.range(ALL, ALL).kvs), [['a', '1', 2, 2, 1]]);
    assert.equal(e.s.indexedKeys, 1);
    assert.equal(put(e, 'a', '3'), 3);
    assert.deepEqual(flat(e.s.range(ALL, ALL).kvs), [['a', '3', 2, 3, 2]]);
    assert.deepEqual(backendRevs(e), ['2.0', '3.0']);
    await closeEnv(e);
  });

  it('compaction keeps exactly what etcd keeps and reads at/above the compact revision are unchanged', async () => {
    const e = openEnv();
    put(e, 'a', 'a1'); // 2
    put(e, 'a', 'a2'); // 3
    put(e, 'b', 'b1'); // 4
    del(e, 'b'); // 5
    put(e, 'c', 'c1'); // 6
    del(e, 'c'); // 7 (tombstone exactly at the compact revision)
    put(e, 'a', 'a3'); // 8
    put(e, 'd', 'd1'); // 9
    del(e, 'd'); // 10
    put(e, 'd', 'd2'); // 11
    const before = new Map<number, string>();
    for (let rev = 7; rev <= 11; rev++) before.set(rev, JSON.stringify(flat(e.s.range(ALL, ALL, { rev }).kvs)));
    await e.s.compact(7);
    // kept: a@3 (latest <= 7), c's tombstone @7 (etcd keeps a tombstone at exactly the compact
    // revision so a watch from it sees the delete); dropped: a@2, b@4, b@5t, c@6
    assert.deepEqual(backendRevs(e), ['3.0', '7.0t', '8.0', '9.0', '10.0t', '11.0']);
    for (let rev = 7; rev <= 11; rev++) assert.equal(JSON.stringify(flat(e.s.range(ALL, ALL, { rev }).kvs)), before.get(rev), `rev ${rev}`);
    const indexKeys = (): string[] => e.s.idx.keys();
    assert.deepEqual(indexKeys(), ['a', 'c', 'd']);
    // compacting past the tombstone drops it and the key leaves the index
    await e.s.compact(10);
    assert.deepEqual(backendRevs(e), ['8.0', '10.0t', '11.0']);
    assert.deepEqual(indexKeys(), ['a', 'd']);
    for (let rev = 10; rev <= 11; rev++) assert.equal(JSON.stringify(flat(e.s.range(ALL, ALL, { rev }).kvs)), before.get(rev), `rev ${rev}`);
    await e.s.compact(11);
    assert.deepEqual(backendRevs(e), ['8.0', '11.0']);
    assert.equal(e.be.meta.get(b('finishedCompactRev'))?.length, 17);
    assert.equal(bytesToRev(e.be.meta.get(b('scheduledCompactRev'))!).main, 11);
    await closeEnv(e);
  });

  it('restart rebuilds the same index: identical ranges, revisions and compact revision', async () => {
    const e = openEnv();
    for (let i = 0; i < 50; i++) put(e, `k${i % 7}`, `v${i}`);
    del(e, 'k3');
    del(e, 'k5', 'k7');
    await e.s.compact(30);
    put(e, 'k3', 'again');
    const snap = (s: MvccStore): string => {
      const out: unknown[] = [s.currentRevision, s.compactRevision];
      for (let rev = 30; rev <= s.currentRevision; rev++) out.push(flat(s.range(ALL, ALL, { rev }).kvs), s.range(b('k'), b('l'), { rev, limit: 2 }).count);
      return JSON.stringify(out);
    };
    const want = snap(e.s);
    const wantHash = e.s.hashKV(0);
    await closeEnv(e);
    const e2 = openEnv(e.file);
    assert.equal(snap(e2.s), want);
    assert.deepEqual(e2.s.hashKV(0), wantHash);
    // writes continue from the restored state
    put(e2, 'k0', 'next');
    assert.deepEqual(flat(e2.s.range(b('k0'), undefined).kvs)[0]!.slice(2), [2, e2.s.currentRevision, 9]);
    await closeEnv(e2);
  });

  it('restores leases of live keys for the lessor', async () => {
    const e = openEnv();
    put(e, 'a', '1', 5n);
    put(e, 'b', '1', 6n);
    put(e, 'b', '2'); // lease dropped
    put(e, 'c', '1', 7n);
    del(e, 'c');
    await closeEnv(e);
    const e2 = openEnv(e.file);
    assert.deepEqual(
      e2.s.takeRestoredLeases().map((x) => [x.key.toString(), x.lease]),
      [['a', 5n]],
    );
    assert.deepEqual(e2.s.takeRestoredLeases(), []);
    await closeEnv(e2);
  });

  it('opens at compaction marks above the newest key revision (a restore with --bump-revision --mark-compacted)', async () => {
    const e = openEnv();
    put(e, 'a', '1');
    put(e, 'a', '2');
    put(e, 'b', '1');
    const before = JSON.stringify(flat(e.s.range(ALL, ALL).kvs));
    await closeEnv(e);
    // what `etcd-node snapshot restore --bump-revision 100 --mark-compacted` writes: both marks at 4 + 100
    const be = Backend.open(e.file);
    be.batch(() => {
      be.meta.putSync(b('scheduledCompactRev'), revToBytes(104, 0));
      be.meta.putSync(b('finishedCompactRev'), revToBytes(104, 0));
    });
    await be.close();
    const e2 = openEnv(e.file);
    assert.equal(e2.s.currentRevision, 104);
    assert.equal(e2.s.compactRevision, 104);
    assert.equal(JSON.stringify(flat(e2.s.range(ALL, ALL).kvs)), before, 'the data, with its own revisions');
    assert.equal(JSON.stringify(flat(e2.s.range(ALL, ALL, { rev: 104 }).kvs)), before);
    for (const rev of [3, 4, 103]) assert.throws(() => e2.s.range(ALL, ALL, { rev }), CompactedError, `rev ${rev}`);
    assert.equal(put(e2, 'c', '1'), 105, 'the next write is the bumped revision + 1');
    await closeEnv(e2);
  });

  it('an unfinished compaction resumes on open', async () => {
    const e = openEnv(undefined, { compactionBatchLimit: 3 });
    for (let i = 0; i < 200; i++) put(e, `key${i % 40}`, `v${i}`);
    const want = JSON.stringify(flat(e.s.range(ALL, ALL).kvs));
    const compacted = e.s.compact(150);
    // stop after the first small batch: the finished mark is not written
    await new Promise((r) => setImmediate(r));
    await e.s.close();
    await compacted;
    assert.ok(e.be.meta.get(b('finishedCompactRev')) === undefined, 'compaction should still be unfinished');
    const left = backendRevs(e).length;
    assert.ok(left > 40 + 50, `some history still there (${left})`);
    await e.be.close();

    const e2 = openEnv(e.file, { compactionBatchLimit: 3 });
    assert.equal(e2.s.compactRevision, 150);
    assert.throws(() => e2.s.range(ALL, ALL, { rev: 149 }), CompactedError);
    await e2.s.compactionsDone();
    assert.equal(bytesToRev(e2.be.meta.get(b('finishedCompactRev'))!).main, 150);
    // 40 keys: each keeps its latest revision <= 150, plus the 51 revisions after 150 (151..201)
    assert.equal(backendRevs(e2).length, 40 + 51);
    assert.equal(JSON.stringify(flat(e2.s.range(ALL, ALL).kvs)), want);
    await closeEnv(e2);
  });

  it('hashKV: equal for equal histories, different when a value differs, unchanged by physical compaction', async () => {
    const history = (e: Env, last: string): void => {
      for (let i = 0; i < 30; i++) put(e, `k${i % 5}`, `v${i}`);
      del(e, 'k1');
      del(e, 'k2', 'k4');
      put(e, 'k9', last);
    };
    const x = openEnv();
    const y = openEnv();
    const z = openEnv();
    history(x, 'same');
    history(y, 'same');
    history(z, 'different');
    assert.deepEqual(x.s.hashKV(0), y.s.hashKV(0));
    assert.equal(x.s.hashKV(0).compactRevision, -1);
    assert.notEqual(x.s.hashKV(0).hash, z.s.hashKV(0).hash);
    assert.equal(x.s.hashKV(20).hash, z.s.hashKV(20).hash); // before the difference

    // x compacts physically, y only schedules (its compaction has not run yet): same hashes
    const cur = x.s.currentRevision;
    const px = x.s.compact(25);
    await px;
    const py = y.s.compact(25);
    // the compacted revision itself is refused, as etcd 3.4 does (rev <= compact revision)
    assert.throws(() => x.s.hashKV(25), CompactedError);
    assert.throws(() => y.s.hashKV(25), CompactedError);
    for (let rev = 26; rev <= cur; rev++) assert.deepEqual(x.s.hashKV(rev), y.s.hashKV(rev), `rev ${rev}`);
    await py;
    for (let rev = 26; rev <= cur; rev++) assert.deepEqual(x.s.hashKV(rev), y.s.hashKV(rev), `rev ${rev}`);
    // and compacting at the tombstone revision of k2..k3 (rev 33) as well
    const tombRev = cur - 1;
    const h = x.s.hashKV(cur);
    assert.equal(h.compactRevision, 25);
    const hy = y.s.compact(tombRev);
    const scheduledOnly = y.s.hashKV(cur);
    await hy;
    assert.deepEqual(y.s.hashKV(cur), scheduledOnly);
    for (const e of [x, y, z]) await closeEnv(e);
  });

  it('hashKV matches etcd byte for byte (golden values from etcd hash_test.go)', async () => {
    const cycle = 71;
    const pickKey = (i: number): string => {
      if (i % (cycle * 2) === 30) return 'zenek';
      if (i % cycle === 30) return 'xavery';
      return ['alice', 'bob', 'celine', 'dominik', 'eve', 'frederica', 'gorge'][i % 7]!;
    };
    const run = async (atLast: boolean): Promise<Array<[number, number, number]>> => {
      const e = openEnv();
      const putKVs = (rev: number, count: number): void => {
        for (let i = rev; i <= rev + count; i++) put(e, pickKey(i), String(i));
      };
      const got: Array<[number, number, number]> = [];
      const hashThenCompact = (rev: number): void => {
        const at = rev === 0 ? e.s.currentRevision : rev;
        const h = e.s.hashKV(at);
        got.push([h.hash, h.compactRevision, h.hashRevision]);
        void e.s.compact(at); // not awaited: the next hash may see it scheduled or done
      };
      const total = 1210;
      let rev = 0;
      for (; rev < total; rev += cycle) {
        putKVs(rev, cycle);
        hashThenCompact(atLast ? 0 : rev + Math.floor(cycle / 2));
        await new Promise((r) => setImmediate(r));
      }
      putKVs(rev, total);
      hashThenCompact(atLast ? 0 : rev + Math.floor(total / 2));
      await closeEnv(e);
      return got;
    };
    assert.deepEqual(await run(false), [
      [4082599214, -1, 35], [2279933401, 35, 106], [3284231217, 106, 177], [126286495, 177, 248],
      [900108730, 248, 319], [2475485232, 319, 390], [1226296507, 390, 461], [2503661030, 461, 532],
      [4155130747, 532, 603], [106915399, 603, 674], [406914006, 674, 745], [1882211381, 745, 816],
      [806177088, 816, 887], [664311366, 887, 958], [1496914449, 958, 1029], [2434525091, 1029, 1100],
      [3988652253, 1100, 1171], [1122462288, 1171, 1242], [724436716, 1242, 1883],
    ]);
    assert.deepEqual(await run(true), [
      [1913897190, -1, 73], [224860069, 73, 145], [1565167519, 145, 217], [1566261620, 217, 289],
      [2037173024, 289, 361], [691659396, 361, 433], [2713730748, 433, 505], [3919322507, 505, 577],
      [769967540, 577, 649], [2909194793, 649, 721], [1576921157, 721, 793], [4067701532, 793, 865],
      [2226384237, 865, 937], [2923408134, 937, 1009], [2680329256, 1009, 1081], [1546717673, 1081, 1153],
      [2713657846, 1153, 1225], [1046575299, 1225, 1297], [2017735779, 1297, 2508],
    ]);
  });

  it('rangeEvents returns history in revision order from the backend', async () => {
    const e = openEnv();
    put(e, 'a', '1'); // 2
    e.be.batch(() => {
      const t = e.s.write();
      t.put(b('b'), b('1'), 0n);
      t.deleteRange(b('a'), undefined);
      t.end();
    }); // 3
    put(e, 'a', '2'); // 4
    const evs = e.s.rangeEvents(3);
    assert.deepEqual(
      evs.map((ev) => [ev.type, ev.kv?.key.toString(), Number(ev.kv?.modRevision)]),
      [
        [Event_EventType.PUT, 'b', 3],
        [Event_EventType.DELETE, 'a', 3],
        [Event_EventType.PUT, 'a', 4],
      ],
    );
    assert.equal(e.s.rangeEvents(2, 3, 2).length, 2);
    await e.s.compact(3);
    assert.throws(() => e.s.rangeEvents(2), CompactedError);
    assert.equal(e.s.rangeEvents(3).length, 3); // the tombstone at the compact revision is still there
    await closeEnv(e);
  });

  it('write() outside a batch and two open txns are refused', async () => {
    const e = openEnv();
    assert.throws(() => e.s.write(), /inside backend.batch/);
    e.be.batch(() => {
      const t = e.s.write();
      assert.throws(() => e.s.write(), /another write txn/);
      t.end();
      assert.throws(() => t.put(b('a'), b('1'), 0n), /already ended/);
    });
    await closeEnv(e);
  });

  it('smoke: 100k puts and reads (time printed, not asserted)', async () => {
    const e = openEnv();
    const n = 100_000;
    const t0 = performance.now();
    for (let start = 0; start < n; start += 1000) {
      e.be.batch(() => {
        for (let i = start; i < start + 1000; i++) {
          const t = e.s.write();
          // scattered keys, so inserts land all over the index
          t.put(b(`key/${((i * 2654435761) % 4294967296).toString(16).padStart(8, '0')}`), b(`value-${i}`), 0n);
          t.end();
        }
      });
    }
    const t1 = performance.now();
    const all = e.s.range(b('key/'), b('key0'), { countOnly: true });
    assert.equal(all.count, n);
    let found = 0;
    for (let i = 0; i < n; i += 100) {
      found += e.s.range(b(`key/${((i * 2654435761) % 4294967296).toString(16).padStart(8, '0')}`), undefined).kvs.length;
    }
    assert.equal(found, n / 100);
    const t2 = performance.now();
    await closeEnv(e);
    const t3 = performance.now();
    const e2 = openEnv(e.file);
    const t4 = performance.now();
    assert.equal(e2.s.currentRevision, n + 1);
    console.log(
      `mvcc smoke: ${n} puts ${(t1 - t0).toFixed(0)} ms (${((n / (t1 - t0)) * 1000).toFixed(0)}/s), count+1000 gets ${(t2 - t1).toFixed(0)} ms, reopen ${(t4 - t3).toFixed(0)} ms`,
    );
    await closeEnv(e2);
  });
});
