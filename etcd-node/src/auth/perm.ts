// Key-range permissions as etcd checks them: every permission a user's roles grant becomes an interval of
// keys, and a request is allowed when the union of the user's intervals of the needed kind covers all
// the keys it touches. Pure functions over bytes; the store (store.ts) caches the merged sets per user.
import { Permission_Type, type Permission } from '../gen/authpb/auth.js';

/**
 * A half-open interval [start, end) of keys; end `null` means "every key from start on" (etcd's
 * range_end "\0"). A single key k is the interval [k, k+"\0"): the smallest key after k is k+"\0".
 */
export interface KeyInterval {
  readonly start: Buffer;
  readonly end: Buffer | null;
}

const ZERO = Buffer.from([0]);

/** The interval a (key, range_end) pair names, with etcd's range_end convention. */
export function intervalOf(key: Buffer, rangeEnd: Buffer): KeyInterval {
  if (rangeEnd.length === 0) return { start: key, end: Buffer.concat([key, ZERO]) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start: key, end: null };
  return { start: key, end: rangeEnd };
}

/** end a before end b (null = +infinity) */
function endCompare(a: Buffer | null, b: Buffer | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return Buffer.compare(a, b);
}

/**
 * Sorted, disjoint, non-adjacent intervals covering the same keys as the input. Empty intervals
 * (end <= start) cover nothing and are dropped.
 */
export function mergeIntervals(input: readonly KeyInterval[]): KeyInterval[] {
  const ivs = input
    .filter((iv) => iv.end === null || Buffer.compare(iv.start, iv.end) < 0)
    .sort((a, b) => Buffer.compare(a.start, b.start) || endCompare(a.end, b.end));
  const out: KeyInterval[] = [];
  for (const iv of ivs) {
    const last = out.at(-1);
    // touching intervals ([a,c) and [c,e)) merge: together they cover [a,e) without a gap
    if (last && (last.end === null || Buffer.compare(iv.start, last.end) <= 0)) {
      if (endCompare(iv.end, last.end) > 0) out[out.length - 1] = { start: last.start, end: iv.end };
    } else {
      out.push(iv);
    }
  }
  return out;
}

/**
 * Whether the merged set covers every key of `want`. An empty request interval (range_end at or before
 * key) covers no keys; etcd refuses it all the same (its interval tree finds nothing to contain it), so
 * it is only allowed when the set covers its start key's interval.
 */
export function covers(merged: readonly KeyInterval[], want: KeyInterval): boolean {
  // binary search: the last interval starting at or before want.start
  let lo = 0;
  let hi = merged.length - 1;
  let idx = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (Buffer.compare(merged[mid]!.start, want.start) <= 0) {
      idx = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (idx < 0) return false;
  const iv = merged[idx]!;
  if (want.end !== null && Buffer.compare(want.end, want.start) <= 0) {
    // empty request: allowed only if its start key itself is covered (see above)
    return endCompare(iv.end, Buffer.concat([want.start, ZERO])) >= 0;
  }
  return endCompare(iv.end, want.end) >= 0;
}

/** A user's merged read and write sets, from the permissions of all its roles. */
export interface MergedPerms {
  readonly read: KeyInterval[];
  readonly write: KeyInterval[];
}

export function mergePerms(perms: Iterable<Permission>): MergedPerms {
  const read: KeyInterval[] = [];
  const write: KeyInterval[] = [];
  for (const p of perms) {
    const iv = intervalOf(p.key, p.rangeEnd);
    if (p.permType === Permission_Type.READ || p.permType === Permission_Type.READWRITE) read.push(iv);
    if (p.permType === Permission_Type.WRITE || p.permType === Permission_Type.READWRITE) write.push(iv);
  }
  return { read: mergeIntervals(read), write: mergeIntervals(write) };
}

export type PermKind = 'read' | 'write';

/** Whether `perms` allow `kind` access to (key, range_end) in etcd's convention. */
export function permitted(perms: MergedPerms, kind: PermKind, key: Buffer, rangeEnd: Buffer): boolean {
  return covers(kind === 'read' ? perms.read : perms.write, intervalOf(key, rangeEnd));
}
