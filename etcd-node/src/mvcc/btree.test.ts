import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BTree, fromKey, toKey } from './btree.js';

/** Binary-string key of n (< 65536): its 2 big-endian bytes plus a scrambled third, so high bytes (>= 0x80) and 0x00 occur. */
const key = (n: number): string => toKey(Buffer.from([(n >> 8) & 0xff, n & 0xff, (n * 37) & 0xff]));

/** The model: entries sorted with Buffer.compare on the bytes, i.e. etcd's key order. */
function modelRange(m: Map<string, number>, start: string, end: string | undefined): Array<[string, number]> {
  const s = fromKey(start);
  const e = end === undefined ? undefined : fromKey(end);
  return [...m.entries()]
    .filter(([k]) => {
      const b = fromKey(k);
      return Buffer.compare(b, s) >= 0 && (e === undefined || Buffer.compare(b, e) < 0);
    })
    .sort(([a], [b]) => Buffer.compare(fromKey(a), fromKey(b)));
}

describe('BTree', () => {
  it('inserts, replaces, deletes and scans in order (large, with rebalancing)', () => {
    const t = new BTree<number>();
    const n = 20000;
    // insert in a scrambled order
    for (let i = 0; i < n; i++) t.set(key((i * 7919) % n), i);
    t.check();
    assert.equal(t.size, n);
    for (let i = 0; i < n; i += 97) assert.equal(t.get(key((i * 7919) % n)), i);
    t.set(key(5), -5);
    assert.equal(t.get(key(5)), -5);
    assert.equal(t.size, n);
    // delete most of them, in another order; the tree must stay valid and shrink
    for (let i = 0; i < n; i++) if (i % 10 !== 0) assert.equal(t.delete(key((i * 104729) % n)), true);
    t.check();
    assert.equal(t.size, n / 10);
    assert.equal(t.delete(key(n + 1)), false);
    const keys = t.entries().map(([k]) => k);
    for (let i = 1; i < keys.length; i++) assert.ok(Buffer.compare(fromKey(keys[i - 1]!), fromKey(keys[i]!)) < 0);
    // delete everything
    for (const k of keys) t.delete(k);
    t.check();
    assert.equal(t.size, 0);
    assert.deepEqual(t.entries(), []);
  });

  it('binary-string keys round trip and order like bytes', () => {
    const bufs = [Buffer.from([0xff]), Buffer.from([0x00]), Buffer.from([0x7f, 0x80]), Buffer.from([0x80]), Buffer.alloc(0), Buffer.from('abc')];
    for (const b of bufs) assert.deepEqual(fromKey(toKey(b)), b);
    const byString = bufs.map(toKey).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).map(fromKey);
    const byBytes = [...bufs].sort((x, y) => Buffer.compare(x, y));
    assert.deepEqual(byString, byBytes);
  });

  it('forRange honours [start, end) and early stop; collect honours exclusive start', () => {
    const t = new BTree<number>();
    const key = (n: number): string => n.toString().padStart(6, '0');
    for (let i = 0; i < 1000; i++) t.set(key(i * 2), i * 2);
    const got: number[] = [];
    t.forRange(key(11), key(21), (_k, v) => {
      got.push(v);
    });
    assert.deepEqual(got, [12, 14, 16, 18, 20]);
    const first3: number[] = [];
    t.forRange(key(0), undefined, (_k, v) => {
      first3.push(v);
      return first3.length < 3;
    });
    assert.deepEqual(first3, [0, 2, 4]);
    assert.deepEqual(
      t.collect(key(10), true, 2).map(([, v]) => v),
      [12, 14],
    );
    assert.deepEqual(
      t.collect(key(10), false, 2).map(([, v]) => v),
      [10, 12],
    );
    // end <= start gives nothing
    const none: number[] = [];
    t.forRange(key(20), key(10), (_k, v) => {
      none.push(v);
    });
    assert.deepEqual(none, []);
  });

  it('matches a Map model under random operations (property)', () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: fc.integer({ min: 0, max: 400 }), v: fc.integer() }),
      fc.record({ t: fc.constant('del' as const), k: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ t: fc.constant('range' as const), a: fc.integer({ min: 0, max: 410 }), b: fc.option(fc.integer({ min: 0, max: 410 })) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const t = new BTree<number>();
        const m = new Map<string, number>();
        for (const o of ops) {
          if (o.t === 'set') {
            t.set(key(o.k), o.v);
            m.set(key(o.k), o.v);
          } else if (o.t === 'del') {
            assert.equal(t.delete(key(o.k)), m.delete(key(o.k)));
          } else {
            const end = o.b === null ? undefined : key(o.b);
            const got: Array<[string, number]> = [];
            t.forRange(key(o.a), end, (k, v) => {
              got.push([k, v]);
            });
            assert.deepEqual(got, modelRange(m, key(o.a), end));
          }
        }
        t.check();
        assert.equal(t.size, m.size);
        assert.deepEqual(t.entries(), modelRange(m, '', undefined));
      }),
      { numRuns: 200 },
    );
  });
});
