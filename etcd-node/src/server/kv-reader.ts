// What the request layer needs from the MVCC store: a reader (the store, or a write transaction that sees
// its own writes) and a writer. Kept as interfaces so the apply logic is testable without a backend.
import type { KeyValue } from '../gen/mvccpb/kv.js';
import type { DeleteResult, RangeOptions, RangeResult } from '../mvcc/store.js';

export interface KvReader {
  range(key: Buffer, end: Buffer | undefined, opts?: RangeOptions): RangeResult;
}

export interface KvWriter extends KvReader {
  /** the revision before this write transaction */
  readonly rev: number;
  /** how many changes this transaction has made so far (its revision is rev+1 once this is non-zero) */
  readonly changes: number;
  put(key: Buffer, value: Buffer, lease: bigint): KeyValue | undefined;
  deleteRange(key: Buffer, end: Buffer | undefined): DeleteResult;
}

/**
 * etcd's range_end convention: empty → the single key; "\0" → every key ≥ key (the store's zero-length
 * end); anything else → [key, range_end).
 */
export function rangeEndOf(rangeEnd: Buffer): Buffer | undefined {
  if (rangeEnd.length === 0) return undefined;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return Buffer.alloc(0);
  return rangeEnd;
}
