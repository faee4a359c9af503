import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Backend } from './backend.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-backend-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

let n = 0;
function dbPath(): string {
  return path.join(tmpRoot, `d${n++}`, 'member', 'snap', 'db');
}

const b = (s: string): Buffer => Buffer.from(s);

describe('Backend', () => {
  it('creates the parent directories and starts empty with consistent index 0/0', async () => {
    const p = dbPath();
    const be = Backend.open(p);
    assert.ok(fs.existsSync(p));
    assert.deepEqual(be.consistentIndex(), { index: 0, term: 0 });
    assert.equal(be.key.get(b('x')), undefined);
    await be.close();
  });

  it('batch commits atomically and reads inside see the writes', async () => {
    const be = Backend.open(dbPath());
    const r = be.batch(() => {
      be.key.putSync(b('a'), b('1'));
      be.lease.putSync(b('l'), b('2'));
      assert.deepEqual(be.key.get(b('a')), b('1'));
      return 42;
    });
    assert.equal(r, 42);
    assert.deepEqual(be.key.get(b('a')), b('1'));
    assert.deepEqual(be.lease.get(b('l')), b('2'));
    await be.close();
  });

  it('a throw inside batch writes nothing and runs rollback callbacks', async () => {
    const be = Backend.open(dbPath());
    be.batch(() => be.key.putSync(b('keep'), b('1')));
    let rolledBack = 0;
    let committed = 0;
    assert.throws(
      () =>
        be.batch(() => {
          be.key.putSync(b('a'), b('1'));
          be.meta.putSync(b('m'), b('2'));
          be.key.removeSync(b('keep'));
          be.setConsistentIndex(7, 2);
          be.onRollback(() => rolledBack++);
          be.onCommit(() => committed++);
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(be.key.get(b('a')), undefined);
    assert.equal(be.meta.get(b('m')), undefined);
    assert.deepEqual(be.key.get(b('keep')), b('1'));
    assert.deepEqual(be.consistentIndex(), { index: 0, term: 0 });
    assert.equal(rolledBack, 1);
    assert.equal(committed, 0);
    assert.equal(be.inBatch, false);
    await be.close();
  });

  it('nested batch: an inner throw undoes only the inner writes; commit callbacks run after the outer commit', async () => {
    const be = Backend.open(dbPath());
    const order: string[] = [];
    be.batch(() => {
      be.key.putSync(b('outer'), b('1'));
      assert.throws(() =>
        be.batch(() => {
          be.key.putSync(b('inner'), b('1'));
          be.onRollback(() => order.push('inner-rollback'));
          throw new Error('inner');
        }),
      );
      be.batch(() => {
        be.key.putSync(b('inner2'), b('1'));
        be.onCommit(() => order.push('inner2-commit'));
      });
      assert.deepEqual(order, ['inner-rollback']);
    });
    assert.deepEqual(order, ['inner-rollback', 'inner2-commit']);
    assert.deepEqual(be.key.get(b('outer')), b('1'));
    assert.equal(be.key.get(b('inner')), undefined);
    assert.deepEqual(be.key.get(b('inner2')), b('1'));
    await be.close();
  });

  it('rejects async functions and setConsistentIndex outside batch', async () => {
    const be = Backend.open(dbPath());
    assert.throws(() => be.setConsistentIndex(1, 1), /only inside batch/);
    assert.throws(() => be.batch(() => Promise.resolve(1)), /synchronous/);
    await be.close();
  });

  it('consistent index round trips across close/open', async () => {
    const p = dbPath();
    const be = Backend.open(p);
    be.batch(() => {
      be.key.putSync(b('k'), b('v'));
      be.setConsistentIndex(12345678901, 7);
    });
    assert.deepEqual(be.consistentIndex(), { index: 12345678901, term: 7 });
    await be.sync();
    await be.close();
    const be2 = Backend.open(p);
    assert.deepEqual(be2.consistentIndex(), { index: 12345678901, term: 7 });
    assert.deepEqual(be2.key.get(b('k')), b('v'));
    await be2.close();
  });

  it('defragment keeps the data and shrinks the file after deletes', async () => {
    const be = Backend.open(dbPath());
    const value = Buffer.alloc(1024, 0x61);
    for (let j = 0; j < 20; j++) {
      be.batch(() => {
        for (let i = 0; i < 500; i++) be.key.putSync(b(`k-${j}-${i}`), value);
      });
    }
    be.batch(() => be.setConsistentIndex(99, 3));
    for (let j = 0; j < 20; j++) {
      be.batch(() => {
        for (let i = 0; i < 500; i++) if (i % 10 !== 0) be.key.removeSync(b(`k-${j}-${i}`));
      });
    }
    const hashBefore = be.hash();
    const sizeBefore = be.size();
    const inUseBefore = be.sizeInUse();
    assert.ok(inUseBefore < sizeBefore, `in use ${inUseBefore} < size ${sizeBefore}`);
    await be.defragment();
    const sizeAfter = be.size();
    assert.ok(sizeAfter < sizeBefore / 2, `size ${sizeBefore} -> ${sizeAfter}`);
    assert.equal(be.hash(), hashBefore);
    assert.deepEqual(be.consistentIndex(), { index: 99, term: 3 });
    assert.deepEqual(be.key.get(b('k-3-10')), value);
    assert.equal(be.key.get(b('k-3-11')), undefined);
    assert.equal(be.key.getCount(), 20 * 50);
    // still writable, through the new handles
    be.batch(() => be.key.putSync(b('after'), b('1')));
    assert.deepEqual(be.key.get(b('after')), b('1'));
    await be.close();
  });

  it('defragment keeps writes made while the copy runs', async () => {
    const p = dbPath();
    const be = Backend.open(p);
    const value = Buffer.alloc(512, 0x62);
    be.batch(() => {
      for (let i = 0; i < 5000; i++) be.key.putSync(b(`k${i}`), value);
    });
    const defrag = be.defragment();
    // these run while the copy is on its worker thread (or right after it)
    be.batch(() => {
      be.key.putSync(b('during'), b('1'));
      be.key.removeSync(b('k1'));
      be.key.putSync(b('k2'), b('changed'));
      be.setConsistentIndex(5, 1);
    });
    await defrag;
    assert.deepEqual(be.key.get(b('during')), b('1'));
    assert.equal(be.key.get(b('k1')), undefined);
    assert.deepEqual(be.key.get(b('k2')), b('changed'));
    assert.deepEqual(be.consistentIndex(), { index: 5, term: 1 });
    await be.close();
    const be2 = Backend.open(p);
    assert.deepEqual(be2.key.get(b('during')), b('1'));
    assert.equal(be2.key.get(b('k1')), undefined);
    assert.equal(be2.key.getCount(), 5000);
    await be2.close();
  });

  it('defragment keeps writes interleaved with the copy on later event-loop turns', async () => {
    const p = dbPath();
    const be = Backend.open(p);
    const value = Buffer.alloc(256, 0x63);
    be.batch(() => {
      for (let i = 0; i < 20000; i++) be.key.putSync(b(`k${i}`), value);
    });
    let done = false;
    let written = 0;
    const writer = (async () => {
      while (!done) {
        be.batch(() => {
          be.key.putSync(b(`w${written}`), b(String(written)));
          be.key.removeSync(b(`k${written}`));
        });
        written++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await be.defragment();
    done = true;
    await writer;
    assert.ok(written > 0);
    for (let i = 0; i < written; i++) {
      assert.deepEqual(be.key.get(b(`w${i}`)), b(String(i)), `w${i}`);
      assert.equal(be.key.get(b(`k${i}`)), undefined, `k${i}`);
    }
    assert.equal(be.key.getCount(), 20000);
    await be.close();
  });

  it('copyTo gives an openable db with the same contents', async () => {
    const be = Backend.open(dbPath());
    be.batch(() => {
      for (let i = 0; i < 100; i++) be.key.putSync(b(`k${i}`), b(`v${i}`));
      be.members.putSync(b('m1'), b('member'));
      be.auth.putSync(b('enabled'), b('1'));
      be.setConsistentIndex(10, 2);
    });
    const copy = path.join(tmpRoot, `copy${n++}`, 'snapshot.db');
    await be.copyTo(copy);
    const hashAtCopy = be.hash();
    // the copy is point-in-time: later writes are not in it
    be.batch(() => be.key.putSync(b('later'), b('x')));
    const c = Backend.open(copy);
    assert.equal(c.hash(), hashAtCopy);
    assert.equal(c.key.get(b('later')), undefined);
    assert.deepEqual(c.consistentIndex(), { index: 10, term: 2 });
    assert.deepEqual(c.key.get(b('k42')), b('v42'));
    assert.deepEqual(c.members.get(b('m1')), b('member'));
    assert.equal(c.key.getCount(), 100);
    await c.close();
    // overwriting an existing file works
    await be.copyTo(copy);
    await be.close();
  });

  it('hash covers every bucket but ignores the consistent index', async () => {
    const a = Backend.open(dbPath());
    const c = Backend.open(dbPath());
    for (const be of [a, c]) be.batch(() => be.lease.putSync(b('l'), b('1')));
    a.batch(() => a.setConsistentIndex(5, 1));
    c.batch(() => c.setConsistentIndex(9, 2));
    assert.equal(a.hash(), c.hash());
    c.batch(() => c.members.putSync(b('m'), b('1')));
    assert.notEqual(a.hash(), c.hash());
    await a.close();
    await c.close();
  });
});
