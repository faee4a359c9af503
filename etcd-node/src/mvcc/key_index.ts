// The in-memory key index: for every key, its history as generations of revisions (etcd's keyIndex /
// treeIndex semantics), kept in a B+tree ordered by key bytes.
//
// A generation is one life of a key: the revisions from its creation up to and including the tombstone
// that deleted it. A delete closes the current generation and opens an empty one, so the last generation
// is either live (no tombstone) or empty. Example: put@1 put@2 del@3 put@4 del@5 on "foo" gives
//   [ {1, 2, 3t}, {4, 5t}, {} ]
// Compaction at rev drops, for each key, every revision <= rev except the latest one, and drops whole
// generations that ended (tombstone) before rev. A tombstone at exactly rev is kept (etcd > 3.5.15 does
// the same: a watcher starting at the compact revision must still see that delete); the next compaction
// past it removes it, and a key left with no revisions leaves the index.

import { BTree } from './btree.js';
import { revId, type Revision } from './revision.js';

export interface Generation {
  /** number of puts in this life of the key, including ones already compacted away */
  ver: number;
  /** main revision that created this life (0 when unknown: a lone tombstone restored after compaction) */
  created: number;
  revs: Revision[];
}

export interface KeyAt {
  modified: Revision;
  created: number;
  ver: number;
}

/** Index of the last revision in `revs` with main <= atRev, or -1. */
function findRevisionIndex(revs: Revision[], atRev: number): number {
  let lo = 0;
  let hi = revs.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (revs[mid]!.main <= atRev) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export class KeyHistory {
  modified: Revision = { main: 0, sub: 0 };
  generations: Generation[] = [];

  /** @param key the key as a binary string (see btree.ts) */
  constructor(readonly key: string) {}

  /** No revisions at all (only reachable after compaction, or before the first put). */
  isEmpty(): boolean {
    return this.generations.length === 0 || (this.generations.length === 1 && this.generations[0]!.revs.length === 0);
  }

  put(rev: Revision): void {
    if (rev.main < this.modified.main || (rev.main === this.modified.main && rev.sub <= this.modified.sub)) {
      throw new Error(`mvcc: put at ${rev.main}.${rev.sub} is not after ${this.modified.main}.${this.modified.sub}`);
    }
    // arrays are built at their exact size where possible: V8 gives a pushed-to empty array 17 slots,
    // which for a million keys with one revision each is most of the index's memory
    const g = this.generations[this.generations.length - 1];
    if (!g) {
      this.generations = [{ ver: 1, created: rev.main, revs: [rev] }];
    } else if (g.revs.length === 0) {
      g.created = rev.main;
      g.revs = [rev];
      g.ver++;
    } else {
      g.revs.push(rev);
      g.ver++;
    }
    this.modified = rev;
  }

  /** Closes the live generation with a tombstone; false if the key is not live. */
  tombstone(rev: Revision): boolean {
    const last = this.generations[this.generations.length - 1];
    if (!last || last.revs.length === 0) return false;
    this.put(rev);
    this.generations = [...this.generations, { ver: 0, created: 0, revs: [] }];
    return true;
  }

  /** First revision seen for a key while rebuilding from the backend (earlier ones were compacted). */
  restore(created: number, modified: Revision, ver: number): void {
    this.modified = modified;
    this.generations = [{ ver, created, revs: [modified] }];
  }

  /** A tombstone as the first revision seen while rebuilding: kept by a compaction at exactly its revision. */
  restoreTombstone(rev: Revision): void {
    this.modified = rev;
    this.generations = [
      { ver: 1, created: 0, revs: [rev] },
      { ver: 0, created: 0, revs: [] },
    ];
  }

  /** The generation the key was alive in at atRev, or undefined (not yet created, or deleted then). */
  private findGeneration(atRev: number): Generation | undefined {
    const lastg = this.generations.length - 1;
    for (let cg = lastg; cg >= 0; cg--) {
      const g = this.generations[cg]!;
      if (g.revs.length === 0) continue;
      if (cg !== lastg && g.revs[g.revs.length - 1]!.main <= atRev) return undefined;
      if (g.revs[0]!.main <= atRev) return g;
    }
    return undefined;
  }

  /** The revision of the key visible at atRev (undefined if it did not exist then). */
  get(atRev: number): KeyAt | undefined {
    const g = this.findGeneration(atRev);
    if (!g) return undefined;
    const n = findRevisionIndex(g.revs, atRev);
    if (n === -1) return undefined;
    return { modified: g.revs[n]!, created: g.created, ver: g.ver - (g.revs.length - n - 1) };
  }

  /**
   * The generation compaction at atRev starts from (the first one that did not end before atRev) and
   * the index in it of the revision compaction keeps (-1: none).
   */
  private compactPoint(atRev: number): { gi: number; ri: number } {
    let gi = 0;
    while (gi < this.generations.length - 1) {
      const g = this.generations[gi]!;
      if (g.revs[g.revs.length - 1]!.main >= atRev) break;
      gi++;
    }
    return { gi, ri: findRevisionIndex(this.generations[gi]!.revs, atRev) };
  }

  /** Compacts at atRev; `drop` receives every revision removed (tombstone = it was a tombstone). */
  compact(atRev: number, drop: (rev: Revision, tombstone: boolean) => void): void {
    if (this.generations.length === 0) return;
    const { gi, ri } = this.compactPoint(atRev);
    for (let i = 0; i < gi; i++) {
      const revs = this.generations[i]!.revs;
      for (let j = 0; j < revs.length; j++) drop(revs[j]!, j === revs.length - 1);
    }
    const g = this.generations[gi]!;
    if (ri > 0) {
      for (let j = 0; j < ri; j++) drop(g.revs[j]!, false);
      g.revs = g.revs.slice(ri);
    }
    if (gi > 0) this.generations = this.generations.slice(gi);
  }

  /**
   * Adds to `into` the revision a compaction at atRev would keep for this key, except a tombstone:
   * etcd's keep set for HashKV (it leaves out the kept tombstone so older and newer members, which
   * differ on keeping it, hash alike).
   */
  keep(atRev: number, into: Set<string>): void {
    if (this.isEmpty()) return;
    const { gi, ri } = this.compactPoint(atRev);
    if (ri === -1) return;
    const g = this.generations[gi]!;
    if (ri === g.revs.length - 1 && gi !== this.generations.length - 1) return; // a tombstone
    into.add(revId(g.revs[ri]!));
  }
}

/** What `TreeIndex.put`/`tombstone` changed, enough to undo it exactly (a rolled-back write txn). */
export interface IndexUndo {
  ki: KeyHistory;
  inserted: boolean;
  genCount: number;
  lastLen: number;
  lastVer: number;
  lastCreated: number;
  modified: Revision;
}

export interface RangeRev {
  /** binary string */
  key: string;
  rev: Revision;
}

/** The key index. Keys are binary strings (btree.ts `toKey`): the bytes, one char per byte. */
export class TreeIndex {
  private tree = new BTree<KeyHistory>();

  /** Number of keys with any history in the index (live or not). */
  get size(): number {
    return this.tree.size;
  }

  history(key: string): KeyHistory | undefined {
    return this.tree.get(key);
  }

  get(key: string, atRev: number): KeyAt | undefined {
    return this.tree.get(key)?.get(atRev);
  }

  private snapshot(key: string): IndexUndo {
    let ki = this.tree.get(key);
    let inserted = false;
    if (!ki) {
      ki = new KeyHistory(key);
      this.tree.set(ki.key, ki);
      inserted = true;
    }
    const last = ki.generations[ki.generations.length - 1];
    return {
      ki,
      inserted,
      genCount: ki.generations.length,
      lastLen: last ? last.revs.length : 0,
      lastVer: last ? last.ver : 0,
      lastCreated: last ? last.created : 0,
      modified: ki.modified,
    };
  }

  put(key: string, rev: Revision): IndexUndo {
    const undo = this.snapshot(key);
    undo.ki.put(rev);
    return undo;
  }

  /** Tombstones a live key; undefined (and no change) if the key is not live. */
  tombstone(key: string, rev: Revision): IndexUndo | undefined {
    const undo = this.snapshot(key);
    if (!undo.ki.tombstone(rev)) {
      if (undo.inserted) this.tree.delete(undo.ki.key);
      return undefined;
    }
    return undo;
  }

  /** Reverts one put/tombstone; undo records must be applied newest first. */
  undo(u: IndexUndo): void {
    const ki = u.ki;
    ki.generations.length = u.genCount;
    const last = ki.generations[ki.generations.length - 1];
    if (last) {
      last.revs.length = u.lastLen;
      last.ver = u.lastVer;
      last.created = u.lastCreated;
    }
    ki.modified = u.modified;
    if (u.inserted) this.tree.delete(ki.key);
  }

  /** Rebuild from the backend: the KeyHistory for key, created if absent. */
  restoreEntry(key: string): { ki: KeyHistory; isNew: boolean } {
    const ki = this.tree.get(key);
    if (ki) return { ki, isNew: false };
    const created = new KeyHistory(key);
    this.tree.set(created.key, created);
    return { ki: created, isNew: true };
  }

  /**
   * Visits the keys of a range with their revision at atRev (keys not alive then are skipped).
   * `end` undefined: just `key`; empty `end`: every key >= key; else [key, end).
   */
  visit(key: string, end: string | undefined, atRev: number, fn: (key: string, at: KeyAt) => boolean | void): void {
    if (end === undefined) {
      const at = this.get(key, atRev);
      if (at) fn(key, at);
      return;
    }
    this.tree.forRange(key, end === '' ? undefined : end, (k, ki) => {
      const at = ki.get(atRev);
      if (!at) return true;
      return fn(k, at);
    });
  }

  /** Revisions of the keys alive at atRev in the range (at most `limit`, 0 = all) and their total count. */
  revisions(key: string, end: string | undefined, atRev: number, limit: number): { revs: RangeRev[]; total: number } {
    const revs: RangeRev[] = [];
    let total = 0;
    this.visit(key, end, atRev, (k, at) => {
      if (limit <= 0 || revs.length < limit) revs.push({ key: k, rev: at.modified });
      total++;
    });
    return { revs, total };
  }

  count(key: string, end: string | undefined, atRev: number): number {
    let total = 0;
    this.visit(key, end, atRev, () => {
      total++;
    });
    return total;
  }

  /** etcd's Keep(atRev): the revisions a compaction at atRev would keep, tombstones left out. */
  keep(atRev: number): Set<string> {
    const out = new Set<string>();
    this.tree.forRange('', undefined, (_k, ki) => {
      ki.keep(atRev, out);
    });
    return out;
  }

  /**
   * One step of compaction at atRev: compacts keys after `after` (from the first key when undefined)
   * until about `budget` units of work (a key visited or a revision dropped) are done. Keys left without
   * revisions leave the index. Returns the last key done, or undefined when the whole index is done.
   */
  compactStep(
    atRev: number,
    after: string | undefined,
    budget: number,
    drop: (key: string, rev: Revision, tombstone: boolean) => void,
  ): string | undefined {
    let work = 0;
    let last: string | undefined;
    const start = after ?? '';
    const chunk = Math.max(1, Math.min(budget, 256));
    for (;;) {
      const batch = this.tree.collect(last ?? start, last !== undefined || after !== undefined, chunk);
      if (batch.length === 0) return undefined;
      for (const [k, ki] of batch) {
        ki.compact(atRev, (rev, tomb) => {
          work++;
          drop(k, rev, tomb);
        });
        if (ki.isEmpty()) this.tree.delete(k);
        work++;
        last = k;
        if (work >= budget) return last;
      }
      if (batch.length < chunk) return undefined;
    }
  }

  /** All keys in order (tests). */
  keys(): string[] {
    return this.tree.entries().map(([k]) => k);
  }

  /** Structural check of the tree (tests). */
  check(): void {
    this.tree.check();
  }
}
