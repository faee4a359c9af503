// Request checks made before a request reaches the log, with etcd's errors: empty keys, option
// combinations, txn size and duplicate keys. They depend only on the request, never on stored state.
import {
  RangeRequest_SortOrder as SortOrder,
  RangeRequest_SortTarget as SortTarget,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
} from '../gen/etcdserverpb/rpc.js';
import { Errors } from './errors.js';
import { rangeEndOf } from './kv-reader.js';

export function checkRange(r: RangeRequest): void {
  if (r.key.length === 0) throw Errors.EmptyKey;
  if (!(r.sortOrder in SortOrder) || r.sortOrder === SortOrder.UNRECOGNIZED) throw Errors.InvalidSortOption;
  if (!(r.sortTarget in SortTarget) || r.sortTarget === SortTarget.UNRECOGNIZED) throw Errors.InvalidSortOption;
}

export function checkPut(r: PutRequest): void {
  if (r.key.length === 0) throw Errors.EmptyKey;
  if (r.ignoreValue && r.value.length !== 0) throw Errors.ValueProvided;
  if (r.ignoreLease && r.lease !== 0n) throw Errors.LeaseProvided;
}

export function checkDeleteRange(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw Errors.EmptyKey;
}

export function checkTxn(r: TxnRequest, maxTxnOps: number): void {
  checkTxnShape(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnShape(r: TxnRequest, maxTxnOps: number): void {
  if (r.compare.length > maxTxnOps || r.success.length > maxTxnOps || r.failure.length > maxTxnOps) {
    throw Errors.TooManyOps;
  }
  for (const c of r.compare) if (c.key.length === 0) throw Errors.EmptyKey;
  for (const op of r.success) checkOp(op, maxTxnOps);
  for (const op of r.failure) checkOp(op, maxTxnOps);
}

function checkOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) checkRange(op.requestRange);
  else if (op.requestPut) checkPut(op.requestPut);
  else if (op.requestDeleteRange) checkDeleteRange(op.requestDeleteRange);
  else if (op.requestTxn) checkTxnShape(op.requestTxn, maxTxnOps);
}

interface Interval {
  readonly key: Buffer;
  /** undefined: the single key; zero length: to the end of the key space */
  readonly end: Buffer | undefined;
}

/**
 * Within one branch (nested branches included) a key may be put at most once, and no put may fall inside
 * a deleted range: the outcome would depend on op order in ways etcd forbids. The two branches of a nested
 * txn never both run, so each is checked against the outer ops separately and their keys then merged.
 */
function checkIntervals(ops: readonly RequestOp[]): { dels: Interval[]; puts: Set<string> } {
  const dels: Interval[] = [];
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.requestDeleteRange) {
      const d = op.requestDeleteRange;
      dels.push({ key: d.key, end: rangeEndOf(d.rangeEnd) });
    }
  }
  for (const op of ops) {
    if (op.requestPut) {
      const k = op.requestPut.key;
      const id = k.toString('latin1');
      if (puts.has(id)) throw Errors.DuplicateKey;
      if (dels.some((d) => contains(d, k))) throw Errors.DuplicateKey;
      puts.add(id);
    } else if (op.requestTxn) {
      const inner = [checkIntervals(op.requestTxn.success), checkIntervals(op.requestTxn.failure)];
      const branchPuts = new Set<string>();
      for (const branch of inner) {
        for (const id of branch.puts) {
          const k = Buffer.from(id, 'latin1');
          if (puts.has(id) || dels.some((d) => contains(d, k))) throw Errors.DuplicateKey;
          branchPuts.add(id);
        }
        for (const d of branch.dels) {
          for (const id of puts) if (contains(d, Buffer.from(id, 'latin1'))) throw Errors.DuplicateKey;
        }
      }
      for (const branch of inner) dels.push(...branch.dels);
      for (const id of branchPuts) puts.add(id);
    }
  }
  return { dels, puts };
}

function contains(d: Interval, k: Buffer): boolean {
  if (d.end === undefined) return d.key.equals(k);
  if (Buffer.compare(k, d.key) < 0) return false;
  return d.end.length === 0 || Buffer.compare(k, d.end) < 0;
}
