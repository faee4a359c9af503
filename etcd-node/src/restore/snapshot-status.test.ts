// The output rules of `snapshot status` that a real file rarely exercises (the compat test compares
// whole outputs with etcdutl's on real snapshots): size rounding, a short hash in the table, an empty
// version; and the --bump-revision / --mark-compacted rule.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestoreError } from './errors.js';
import { checkBumpFlags } from './restore-snapshot.js';
import { hasTrailer } from './snapshot-file.js';
import { formatStatus, humanBytes } from './snapshot-status.js';

describe('snapshot status output', () => {
  it('sizes as etcdutl prints them (SI, one decimal below 10)', () => {
    const cases: Array<[number, string]> = [
      [0, '0 B'],
      [9, '9 B'],
      [10, '10 B'],
      [999, '999 B'],
      [1000, '1.0 kB'],
      [20480, '20 kB'],
      [368640, '369 kB'],
      [2_100_000, '2.1 MB'],
      [9_960_000, '10 MB'],
      [16_801_792, '17 MB'],
      [2_147_483_648, '2.1 GB'],
    ];
    for (const [n, want] of cases) assert.equal(humanBytes(n), want, String(n));
  });

  it('every format, with a hash shorter than 8 hex digits and no version', () => {
    const s = { hash: 0xabc, revision: 12, totalKey: 3, totalSize: 20480, version: '' };
    assert.equal(formatStatus(s, 'simple'), 'abc, 12, 3, 20 kB, \n');
    assert.equal(formatStatus(s, 'json'), '{"hash":2748,"revision":12,"totalKey":3,"totalSize":20480,"version":""}\n');
    assert.equal(formatStatus(s, 'fields'), '"Hash" : 2748\n"Revision" : 12\n"Keys" : 3\n"Size" : 20480\n"Version" : \n');
    assert.equal(
      formatStatus(s, 'table'),
      [
        '+------+----------+------------+------------+---------+',
        '| HASH | REVISION | TOTAL KEYS | TOTAL SIZE | VERSION |',
        '+------+----------+------------+------------+---------+',
        '|  abc |       12 |          3 |      20 kB |         |',
        '+------+----------+------------+------------+---------+',
        '',
      ].join('\n'),
    );
  });
});

describe('snapshot restore rules', () => {
  it('a trailer is recognised by the size alone', () => {
    assert.equal(hasTrailer(20480 + 32), true);
    assert.equal(hasTrailer(20480), false);
    assert.equal(hasTrailer(20480 + 33), false);
  });

  it('--mark-compacted exactly when --bump-revision > 0', () => {
    checkBumpFlags(0, false);
    checkBumpFlags(5, true);
    const bad = (bump: number, mark: boolean): void =>
      assert.throws(() => checkBumpFlags(bump, mark), (err: unknown) => err instanceof RestoreError && err.code === 'BadFlag');
    bad(5, false);
    bad(0, true);
    bad(-1, true);
  });
});
