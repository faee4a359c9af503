// A consistency check of a whole bbolt file, in the spirit of bbolt's own `check`: every page below the
// high-water mark is used exactly once (a meta page, the freelist page, a free page, or a node some
// bucket reaches), keys ascend within every node and stay within the range their parent branch gives
// them, and every leaf of a bucket sits at the same depth. Used by the tests to hold the writer to what
// bbolt expects, and by anyone who wants to know whether a file is sound before trusting it.

import { BboltError } from './errors.js';
import { PageFlag } from './format.js';
import { bucketOf, type BboltBucket, type BboltReader, type NodeView } from './reader.js';

export interface CheckResult {
  /** what is wrong, one line each (empty: the file is sound) */
  readonly problems: string[];
  /** pages reached from the root bucket (overflow pages included) */
  readonly reachablePages: number;
  /** pages on the freelist, or undefined when the file keeps none */
  readonly freePages: number | undefined;
  /** every bucket's path (nested ones as a/b) */
  readonly buckets: string[];
}

const MAX_PROBLEMS = 100;

export function checkBbolt(db: BboltReader): CheckResult {
  const seen = new Uint8Array(db.meta.pgid);
  const problems: string[] = [];
  const buckets: string[] = [];
  let reachable = 0;
  const problem = (p: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const mark = (pgid: number, overflow: number, what: string): void => {
    for (let p = pgid; p <= pgid + overflow; p++) {
      if (p >= seen.length) {
        problem(`page ${p} (${what}) is beyond the high-water mark ${db.meta.pgid}`);
      } else if (seen[p] !== 0) {
        problem(`page ${p} (${what}) is used twice`);
      } else {
        seen[p] = 1;
      }
    }
  };
  mark(0, 0, 'meta');
  mark(1, 0, 'meta');

  let freeCount: number | undefined;
  try {
    const free = db.freePages();
    if (free !== undefined && db.meta.freelist !== undefined) {
      mark(db.meta.freelist, db.page(db.meta.freelist).overflow, 'freelist');
      for (const p of free) mark(p, 0, 'free');
      freeCount = free.length;
    }
  } catch (err) {
    problem(messageOf(err));
  }

  const walkNode = (n: NodeView, path: string, lo: Buffer | undefined, hi: Buffer | undefined, depth: number, leafDepths: Set<number>): void => {
    const label = path === '' ? '(root)' : path;
    if (n.pgid !== 0) {
      mark(n.pgid, n.overflow, `bucket ${label}`);
      reachable += n.overflow + 1;
    }
    const where = n.pgid === 0 ? `inline page of bucket ${label}` : `page ${n.pgid} of bucket ${label}`;
    const branch = (n.flags & PageFlag.branch) !== 0;
    if (branch && n.count === 0) problem(`${where}: a branch without elements`);
    let prev: Buffer | undefined;
    for (let i = 0; i < n.count; i++) {
      const k = db.key(n, i);
      if (prev !== undefined && Buffer.compare(prev, k) >= 0) problem(`${where}: key ${i} does not come after key ${i - 1}`);
      if (lo !== undefined && Buffer.compare(k, lo) < 0) problem(`${where}: key ${i} is below its parent's range`);
      if (hi !== undefined && Buffer.compare(k, hi) >= 0) problem(`${where}: key ${i} is not below the next branch key`);
      prev = k;
    }
    if (branch) {
      for (let i = 0; i < n.count; i++) {
        const childLo = db.key(n, i);
        const childHi = i + 1 < n.count ? db.key(n, i + 1) : hi;
        try {
          walkNode(db.node(db.child(n, i)), path, childLo, childHi, depth + 1, leafDepths);
        } catch (err) {
          problem(messageOf(err));
        }
      }
      return;
    }
    leafDepths.add(depth);
    for (let i = 0; i < n.count; i++) {
      const e = db.leafElement(n, i);
      if (!e.isBucket) continue;
      try {
        const name = e.key.toString('latin1');
        walkBucket(bucketOf(db, e, path === '' ? name : `${path}/${name}`));
      } catch (err) {
        problem(messageOf(err));
      }
    }
  };

  const walkBucket = (b: BboltBucket): void => {
    if (b.path !== '') buckets.push(b.path);
    const depths = new Set<number>();
    walkNode(b.rootNode(), b.path, undefined, undefined, 0, depths);
    if (depths.size > 1) problem(`bucket ${b.path === '' ? '(root)' : b.path}: leaves at different depths (${[...depths].join(', ')})`);
  };

  try {
    walkBucket(db.root());
  } catch (err) {
    problem(messageOf(err));
  }

  if (freeCount !== undefined) {
    for (let p = 2; p < seen.length; p++) if (seen[p] === 0) problem(`page ${p}: neither reachable nor free`);
  }
  return { problems, reachablePages: reachable, freePages: freeCount, buckets };
}

function messageOf(err: unknown): string {
  if (err instanceof BboltError) return err.message;
  throw err;
}
