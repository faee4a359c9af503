import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeChain, retentionVictims } from './chain.js';
import { clusterRoot, deltaName, fullName, parseName, type ObjectRef } from './names.js';

const loc = { prefix: 'backups/', namespace: 'db', cluster: 'main' };
const id = '0123456789abcdef';
const full = (rev: number, time = rev * 1000): ObjectRef => parseName(fullName(loc, id, rev, time, 'gzip', true))!;
const delta = (from: number, to: number, time = to * 1000): ObjectRef => parseName(deltaName(loc, id, from, to, time, 'gzip', true))!;

describe('backup object names', () => {
  it('sort as revisions do and parse back', () => {
    assert.equal(clusterRoot(loc), 'backups/db/main/');
    assert.equal(clusterRoot({ prefix: '', namespace: 'db', cluster: 'main' }), 'db/main/');
    const n = fullName(loc, id, 42, 1_700_000_000_123, 'gzip', true);
    assert.equal(n, 'backups/db/main/0123456789abcdef/full/00000000000000000042-1700000000123.snap.gz.enc');
    assert.deepEqual(parseName(n), { kind: 'full', name: n, clusterId: id, revision: 42, time: 1_700_000_000_123, compressed: true, encrypted: true, size: 0 });
    const d = deltaName(loc, id, 9, 100, 5, 'none', false);
    assert.equal(d, 'backups/db/main/0123456789abcdef/delta/00000000000000000009-00000000000000000100-0000000000005.events');
    assert.equal(parseName(d)?.kind, 'delta');
    const names = [deltaName(loc, id, 10, 11, 1, 'none', false), deltaName(loc, id, 9, 9, 1, 'none', false), deltaName(loc, id, 100, 200, 1, 'none', false)];
    assert.deepEqual([...names].sort(), [names[1], names[0], names[2]]);
    assert.equal(parseName('backups/db/main/0123456789abcdef/full/.tmp-123'), undefined);
    assert.equal(parseName('backups/db/main/0123456789abcdef/delta/00000000000000000009-00000000000000000008-0000000000005.events'), undefined);
  });
});

describe('the chain a listing shows', () => {
  it('reaches from each full through contiguous deltas', () => {
    const v = analyzeChain([full(10), delta(11, 20), delta(21, 30), full(25), delta(31, 31)]);
    assert.deepEqual(v.reachable, [{ from: 10, to: 31 }]);
    assert.deepEqual(v.gaps, []);
    assert.deepEqual(v.latest, { revision: 31, time: 31_000 });
    assert.equal(v.tailEnd, 31);
  });

  it('names the hole a compaction made, and the full after it', () => {
    const v = analyzeChain([full(10), delta(11, 20), full(50), delta(51, 60)]);
    assert.deepEqual(v.reachable, [{ from: 10, to: 20 }, { from: 50, to: 60 }]);
    assert.deepEqual(v.gaps, [{ from: 21, to: 49 }]);
    assert.equal(v.latest?.revision, 60);
  });

  it('a full alone reaches its revision; deltas no full reaches are orphans; overlaps are found', () => {
    assert.deepEqual(analyzeChain([full(7)]).reachable, [{ from: 7, to: 7 }]);
    const v = analyzeChain([full(10), delta(30, 40)]);
    assert.deepEqual(v.reachable, [{ from: 10, to: 10 }]);
    assert.deepEqual(v.orphans.map((o) => o.name), [delta(30, 40).name]);
    const o = analyzeChain([full(1), delta(2, 10), delta(8, 12)]);
    assert.equal(o.overlaps.length, 1);
    assert.deepEqual(o.reachable, [{ from: 1, to: 12 }]);
    assert.equal(analyzeChain([]).latest, undefined);
  });

  it('retention keeps the newest fulls and every delta a kept full needs', () => {
    const objs = [full(10), delta(11, 20), full(21), delta(21, 30), delta(31, 40), full(35), delta(41, 50), full(50)];
    const victims = retentionVictims(analyzeChain(objs), { fullSnapshots: 2 }, 0).map((o) => o.name).sort();
    // kept: fulls 50 and 35; delta 31-40 straddles 35 and stays; everything ending at or before 35 goes
    assert.deepEqual(victims, [full(10).name, full(21).name, delta(11, 20).name, delta(21, 30).name].sort());
    assert.deepEqual(retentionVictims(analyzeChain(objs), { fullSnapshots: 10 }, 0), []);
    // by age: fulls older than maxAge go, but never the newest
    const byAge = retentionVictims(analyzeChain(objs), { maxAgeMs: 20_000 }, 60_000).map((o) => o.name);
    assert.ok(byAge.includes(full(35).name) && !byAge.includes(full(50).name));
    assert.deepEqual(retentionVictims(analyzeChain([full(5), delta(6, 9)]), { maxAgeMs: 1 }, 1e12), []);
  });
});
