import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Permission_Type, type Permission } from '../gen/authpb/auth.js';
import { covers, intervalOf, mergeIntervals, mergePerms, permitted, type KeyInterval } from './perm.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const ZERO = Buffer.from([0]);
const perm = (permType: Permission_Type, key: string, rangeEnd = ''): Permission => ({
  permType,
  key: b(key),
  rangeEnd: rangeEnd === '\0' ? ZERO : b(rangeEnd),
});
const { READ, WRITE, READWRITE } = Permission_Type;

test('intervalOf: single key, range, and the "\\0" (from key on) convention', () => {
  assert.deepEqual(intervalOf(b('k'), b('')), { start: b('k'), end: b('k\0') });
  assert.deepEqual(intervalOf(b('a'), b('b')), { start: b('a'), end: b('b') });
  assert.deepEqual(intervalOf(b('z'), ZERO), { start: b('z'), end: null });
});

test('mergeIntervals: overlapping and touching intervals merge, gaps stay, empty ones vanish', () => {
  const m = mergeIntervals([
    intervalOf(b('n'), b('o')),
    intervalOf(b('a'), b('c')),
    intervalOf(b('m'), b('n')), // touches [n,o)
    intervalOf(b('b'), b('d')), // overlaps [a,c)
    intervalOf(b('x'), b('w')), // empty
    intervalOf(b('y'), ZERO),
    intervalOf(b('z'), b('zz')), // inside [y,∞)
  ]);
  assert.deepEqual(m, [
    { start: b('a'), end: b('d') },
    { start: b('m'), end: b('o') },
    { start: b('y'), end: null },
  ]);
});

test('permitted: a user with read [a,b), readwrite p/ prefix, write from z on, read key k1', () => {
  const p = mergePerms([perm(READ, 'a', 'b'), perm(READWRITE, 'p/', 'p0'), perm(WRITE, 'z', '\0'), perm(READ, 'k1')]);
  const can = (kind: 'read' | 'write', key: string, end = ''): boolean =>
    permitted(p, kind, b(key), end === '\0' ? ZERO : b(end));
  // single keys
  assert.equal(can('read', 'a'), true);
  assert.equal(can('read', 'a\xff\xff'), true);
  assert.equal(can('read', 'b'), false); // end is exclusive
  assert.equal(can('write', 'a1'), false);
  assert.equal(can('read', 'k1'), true);
  assert.equal(can('read', 'k10'), false); // a key permission is that key only
  assert.equal(can('read', 'k'), false);
  assert.equal(can('write', 'p/x'), true);
  assert.equal(can('read', 'p/x'), true);
  assert.equal(can('write', 'z'), true);
  assert.equal(can('write', 'zzzz'), true);
  assert.equal(can('read', 'z'), false);
  assert.equal(can('write', 'y'), false);
  // ranges must be covered entirely
  assert.equal(can('read', 'a', 'b'), true);
  assert.equal(can('read', 'a', 'c'), false);
  assert.equal(can('read', 'a1', 'a2'), true);
  assert.equal(can('read', 'k1', 'k1\0'), true); // exactly the one key
  assert.equal(can('read', 'k1', 'k2'), false);
  assert.equal(can('write', 'p/', 'p0'), true);
  assert.equal(can('write', 'p/', 'p1'), false);
  assert.equal(can('write', 'z', '\0'), true); // from z on
  assert.equal(can('write', 'za', '\0'), true);
  assert.equal(can('write', 'y', '\0'), false);
  assert.equal(can('read', '', '\0'), false); // everything
  assert.equal(can('write', 'zz', 'zzz'), true);
});

test('permitted: two touching grants cover a range that spans both; a gap does not', () => {
  const p = mergePerms([perm(READ, 'm', 'n'), perm(READ, 'n', 'o'), perm(READ, 'q', 'r')]);
  assert.equal(permitted(p, 'read', b('m'), b('o')), true);
  assert.equal(permitted(p, 'read', b('m'), b('p')), false);
  assert.equal(permitted(p, 'read', b('n'), b('r')), false);
});

test('permitted: read and write are separate; READWRITE gives both', () => {
  const p = mergePerms([perm(READ, 'r'), perm(WRITE, 'w'), perm(READWRITE, 'rw')]);
  assert.deepEqual(
    ['r', 'w', 'rw'].map((k) => [permitted(p, 'read', b(k), b('')), permitted(p, 'write', b(k), b(''))]),
    [
      [true, false],
      [false, true],
      [true, true],
    ],
  );
});

test('nothing granted: nothing permitted', () => {
  const p = mergePerms([]);
  assert.equal(permitted(p, 'read', b('a'), b('')), false);
  assert.equal(permitted(p, 'write', b(''), ZERO), false);
});

// Property: `covers` on merged intervals agrees with a brute-force check over a small alphabet, where
// every key of length <= 3 over {a,b,c} is enumerated.
const alphabet = ['a', 'b', 'c'];
const allKeys: string[] = [''];
for (let len = 1; len <= 3; len++) {
  const prev = allKeys.filter((k) => k.length === len - 1);
  for (const p of prev) for (const ch of alphabet) allKeys.push(p + ch);
}
const inIv = (k: string, iv: KeyInterval): boolean =>
  Buffer.compare(b(k), iv.start) >= 0 && (iv.end === null || Buffer.compare(b(k), iv.end) < 0);

test('covers agrees with a brute-force check on every short key (property)', () => {
  const key = fc.constantFrom(...allKeys);
  const end = fc.oneof(fc.constantFrom(...allKeys), fc.constant('\0'));
  const iv = fc.tuple(key, end).map(([k, e]) => intervalOf(b(k), e === '\0' ? ZERO : b(e)));
  fc.assert(
    fc.property(fc.array(iv, { maxLength: 6 }), key, fc.constantFrom(...allKeys.filter((k) => k !== '')), (grants, start, endKey) => {
      const merged = mergeIntervals(grants);
      // requests of non-empty ranges only (empty ones follow etcd's rule, tested above)
      if (Buffer.compare(b(endKey), b(start)) <= 0) return;
      const want = intervalOf(b(start), b(endKey));
      // among the enumerated keys, every key of the request must be in some grant; the enumeration is
      // dense enough only when both ends are enumerated keys, which they are here
      const brute = allKeys.filter((k) => inIv(k, want)).every((k) => grants.some((g) => inIv(k, g)));
      const fast = covers(merged, want);
      // fast ⇒ brute always; brute ⇒ fast holds unless a gap hides between enumerated keys
      if (fast) assert.ok(brute, `covers said yes but key missing: ${JSON.stringify({ grants, start, endKey })}`);
    }),
    { numRuns: 2000, seed: 42 },
  );
});

test('single keys: covered exactly when some grant contains the key (property)', () => {
  const key = fc.constantFrom(...allKeys);
  const end = fc.oneof(fc.constantFrom(...allKeys), fc.constant('\0'));
  const iv = fc.tuple(key, end).map(([k, e]) => intervalOf(b(k), e === '\0' ? ZERO : b(e)));
  fc.assert(
    fc.property(fc.array(iv, { maxLength: 6 }), key, (grants, k) => {
      const merged = mergeIntervals(grants);
      assert.equal(covers(merged, intervalOf(b(k), b(''))), grants.some((g) => inIv(k, g)));
    }),
    { numRuns: 2000, seed: 7 },
  );
});
