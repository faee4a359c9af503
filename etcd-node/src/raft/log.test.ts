// Unit tests of the pieces under the state machine: storage, the log, the inflight window, Progress.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Inflights } from './inflights.js';
import { RaftLog } from './log.js';
import { Progress, ProgressState } from './progress.js';
import { CompactedError, MemoryStorage, SnapshotOutOfDateError, UnavailableError } from './storage.js';
import { EntryType, type Entry } from './types.js';

const ents = (from: number, terms: readonly number[]): Entry[] =>
  terms.map((t, i) => ({ term: t, index: from + i, type: EntryType.Normal, data: new Uint8Array([from + i]) }));
const cs = { voters: [1n], learners: [] };

describe('MemoryStorage', () => {
  test('append replaces from the first new index; term, entries and bounds', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 2]));
    s.append(ents(3, [3]));
    assert.equal(s.lastIndex(), 3);
    assert.deepEqual(
      s.entries(1, 4, Infinity).map((e) => e.term),
      [1, 1, 3],
    );
    assert.equal(s.term(0), 0);
    assert.throws(() => s.term(4), UnavailableError);
    assert.throws(() => s.append(ents(6, [3])), /gap/);
    // The size limit returns at least one entry.
    assert.equal(s.entries(1, 4, 0).length, 1);
  });

  test('snapshot, compaction and applySnapshot', () => {
    const s = new MemoryStorage();
    s.append(ents(1, [1, 1, 2, 2, 2]));
    assert.throws(() => s.compact(3), /past the snapshot/);
    s.createSnapshot(4, cs, new Uint8Array([9]));
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 2);
    assert.throws(() => s.term(2), CompactedError);
    assert.throws(() => s.entries(3, 5, Infinity), CompactedError);
    assert.throws(() => s.createSnapshot(4, cs, new Uint8Array()), SnapshotOutOfDateError);
    s.applySnapshot({ meta: { index: 10, term: 5, confState: cs }, data: new Uint8Array() });
    assert.equal(s.firstIndex(), 11);
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(10), 5);
    assert.throws(() => s.applySnapshot({ meta: { index: 9, term: 5, confState: cs }, data: new Uint8Array() }), SnapshotOutOfDateError);
  });
});

describe('RaftLog', () => {
  function log(storedTerms: readonly number[], unstableTerms: readonly number[] = []): RaftLog {
    const s = new MemoryStorage();
    s.append(ents(1, storedTerms));
    const l = new RaftLog(s, 0);
    l.append(ents(storedTerms.length + 1, unstableTerms));
    return l;
  }

  test('maybeAppend: matches, appends, truncates a conflict, refuses a gap', () => {
    const l = log([1, 1, 2], [2, 2]);
    assert.equal(l.maybeAppend(5, 2, 0, ents(6, [3])), 6);
    assert.deepEqual(
      l.allEntries().map((e) => e.term),
      [1, 1, 2, 2, 2, 3],
    );
    // A conflict at 4 replaces 4… (stable and unstable alike).
    assert.equal(l.maybeAppend(3, 2, 0, ents(4, [4, 4])), 5);
    assert.deepEqual(
      l.allEntries().map((e) => e.term),
      [1, 1, 2, 4, 4],
    );
    assert.equal(l.maybeAppend(7, 4, 0, ents(8, [4])), undefined, 'no entry 7: refused');
    assert.equal(l.maybeAppend(2, 9, 0, []), undefined, 'entry 2 has another term: refused');
    // Commit follows the leader, but never past the last new entry.
    assert.equal(l.maybeAppend(3, 2, 100, []), 3);
    assert.equal(l.committed, 3);
    assert.throws(() => l.maybeAppend(1, 1, 3, ents(2, [9])), /conflicts with a committed entry/);
  });

  test('findConflictByTerm skips a whole term', () => {
    const l = log([1, 1, 2, 2, 2, 5, 5]);
    assert.deepEqual(l.findConflictByTerm(7, 3), { index: 5, term: 2 });
    assert.deepEqual(l.findConflictByTerm(7, 5), { index: 7, term: 5 });
    assert.deepEqual(l.findConflictByTerm(7, 0), { index: 0, term: 0 });
  });

  test('slice spans storage and unstable, honouring the size limit', () => {
    const l = log([1, 1], [1, 2]);
    assert.deepEqual(
      l.slice(1, 5, Infinity).map((e) => e.index),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      l.slice(2, 5, 40).map((e) => e.index),
      [2, 3],
    );
    assert.equal(l.slice(3, 5, 0).length, 1);
  });

  test('stableTo ignores entries replaced since the Ready was handed out', () => {
    const l = log([1], [1, 1]);
    l.append(ents(3, [2]));
    l.stableTo(3, 1);
    assert.equal(l.unstable.offset, 2, 'entry 3 is now of term 2: not stable');
    l.stableTo(3, 2);
    assert.equal(l.unstable.offset, 4);
  });

  test('isUpToDate compares last term, then last index', () => {
    const l = log([1, 2, 2]);
    assert.ok(l.isUpToDate(1, 3));
    assert.ok(l.isUpToDate(3, 2));
    assert.ok(!l.isUpToDate(2, 2));
    assert.ok(!l.isUpToDate(9, 1));
  });

  test('restore: the log becomes the snapshot; entries after it follow', () => {
    const l = log([1, 1, 1]);
    l.restore({ meta: { index: 10, term: 3, confState: cs }, data: new Uint8Array() });
    assert.equal(l.committed, 10);
    assert.equal(l.firstIndex(), 11);
    assert.equal(l.lastIndex(), 10);
    assert.equal(l.term(10), 3);
    assert.equal(l.nextCommittedEntries().length, 0, 'nothing to apply before the snapshot');
    l.append(ents(11, [3]));
    assert.equal(l.lastIndex(), 11);
  });
});

describe('flow control', () => {
  test('Inflights: a bounded window freed by acknowledgements', () => {
    const w = new Inflights(3);
    w.add(5);
    w.add(7);
    w.add(9);
    assert.ok(w.full());
    assert.throws(() => w.add(10), /full/);
    w.freeLE(7);
    assert.deepEqual(w.indexes(), [9]);
    w.add(12);
    w.add(13);
    assert.deepEqual(w.indexes(), [9, 12, 13]);
    w.freeFirst();
    assert.deepEqual(w.indexes(), [12, 13]);
    assert.throws(() => w.add(11), /not above/);
  });

  test('Progress: probe → replicate → probe → snapshot → probe', () => {
    const pr = new Progress(11, 2, false);
    assert.equal(pr.state, ProgressState.Probe);
    pr.sentEntries(1, 11);
    assert.ok(pr.isPaused(), 'one probe at a time');
    assert.ok(!pr.maybeDecrTo(5, 5), 'a stale rejection is ignored');
    assert.ok(pr.maybeDecrTo(10, 6));
    assert.equal(pr.next, 7);
    assert.ok(!pr.isPaused());
    assert.ok(pr.maybeUpdate(8));
    pr.becomeReplicate();
    assert.equal(pr.next, 9);
    pr.sentEntries(2, 10);
    pr.sentEntries(1, 11);
    assert.ok(pr.isPaused(), 'the window of 2 is full');
    assert.equal(pr.next, 12);
    assert.ok(pr.maybeUpdate(10));
    pr.inflights.freeLE(10);
    assert.ok(!pr.isPaused());
    assert.ok(pr.maybeDecrTo(11, 10));
    assert.equal(pr.next, 11, 'in replicate a rejection falls back to match + 1');
    pr.becomeProbe();
    pr.becomeSnapshot(40);
    assert.ok(pr.isPaused());
    assert.throws(() => pr.sentEntries(1, 41));
    pr.becomeProbe();
    assert.equal(pr.next, 41, 'after a snapshot, probe from after it');
    assert.equal(pr.violation(50), undefined);
  });
});
