// Txn with etcd's semantics: every compare of every nesting level is evaluated first, against the state
// before the txn (the "path"); then the chosen ops are checked (a put with ignore_value/ignore_lease needs
// an existing key, a lease must exist, a range revision must be readable) and only then executed, in
// order, in one write transaction, so the whole txn is one revision.
import {
  Compare_CompareResult as Result,
  Compare_CompareTarget as Target,
  type Compare,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type TxnRequest,
  type TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import type { KeyValue } from '../gen/mvccpb/kv.js';
import { Errors } from './errors.js';
import { rangeEndOf, type KvReader, type KvWriter } from './kv-reader.js';
import { executeRange } from './range.js';
import { CompactedError, FutureRevError } from '../mvcc/store.js';

export interface LeaseLookup {
  exists(id: bigint): boolean;
}

/** Which branch each txn (outer first, then nested ones in op order) takes. */
type Path = boolean[];

export function isTxnReadOnly(r: TxnRequest): boolean {
  const ro = (ops: readonly RequestOp[]): boolean =>
    ops.every((op) => (op.requestTxn ? isTxnReadOnly(op.requestTxn) : !op.requestPut && !op.requestDeleteRange));
  return ro(r.success) && ro(r.failure);
}

export function comparePath(reader: KvReader, r: TxnRequest): Path {
  const path: Path = [];
  const walk = (t: TxnRequest): void => {
    const ok = t.compare.every((c) => evalCompare(reader, c));
    path.push(ok);
    for (const op of ok ? t.success : t.failure) if (op.requestTxn) walk(op.requestTxn);
  };
  walk(r);
  return path;
}

function evalCompare(reader: KvReader, c: Compare): boolean {
  const rr = reader.range(c.key, rangeEndOf(c.rangeEnd));
  if (rr.kvs.length === 0) {
    // A missing key compares as all-zero, except that no value equals a missing key's.
    if (c.target === Target.VALUE) return false;
    return compareKv(c, undefined);
  }
  return rr.kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare, kv: KeyValue | undefined): boolean {
  let r: number;
  switch (c.target) {
    case Target.VALUE:
      r = Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY);
      break;
    case Target.CREATE:
      r = cmpBig(kv?.createRevision ?? 0n, c.createRevision ?? 0n);
      break;
    case Target.MOD:
      r = cmpBig(kv?.modRevision ?? 0n, c.modRevision ?? 0n);
      break;
    case Target.VERSION:
      r = cmpBig(kv?.version ?? 0n, c.version ?? 0n);
      break;
    case Target.LEASE:
      r = cmpBig(kv?.lease ?? 0n, c.lease ?? 0n);
      break;
    default:
      return false;
  }
  switch (c.result) {
    case Result.EQUAL:
      return r === 0;
    case Result.NOT_EQUAL:
      return r !== 0;
    case Result.GREATER:
      return r > 0;
    case Result.LESS:
      return r < 0;
    default:
      return false;
  }
}

/** Checks the ops the path selects before anything is written; throws etcd's error for the first problem. */
export function checkTxnOps(
  reader: KvReader & { readonly currentRevision: number; readonly compactRevision: number },
  r: TxnRequest,
  path: Path,
  leases: LeaseLookup,
): void {
  let i = 0;
  const walk = (t: TxnRequest): void => {
    const ops = path[i++] === true ? t.success : t.failure;
    for (const op of ops) {
      if (op.requestTxn) walk(op.requestTxn);
      else if (op.requestPut) checkPutAgainstState(reader, op.requestPut, leases);
      else if (op.requestRange && op.requestRange.revision !== 0n) {
        const rev = Number(op.requestRange.revision);
        if (rev > reader.currentRevision) throw Errors.FutureRev;
        if (rev < reader.compactRevision) throw Errors.Compacted;
      }
    }
  };
  walk(r);
}

export function checkPutAgainstState(reader: KvReader, p: PutRequest, leases: LeaseLookup): void {
  if (p.ignoreValue || p.ignoreLease) {
    if (reader.range(p.key, undefined).kvs.length === 0) throw Errors.KeyNotFound;
  }
  if (p.lease !== 0n && !leases.exists(p.lease)) throw Errors.LeaseNotFound;
}

export function executeTxn(w: KvWriter, r: TxnRequest, path: Path): TxnResponse {
  let i = 0;
  const walk = (t: TxnRequest): TxnResponse => {
    const succeeded = path[i++] === true;
    const responses: ResponseOp[] = [];
    for (const op of succeeded ? t.success : t.failure) {
      if (op.requestRange) {
        const res = executeRange(w, op.requestRange);
        res.header = revHeader(w.rev + (w.changes > 0 ? 1 : 0));
        responses.push({ responseRange: res });
      } else if (op.requestPut) responses.push({ responsePut: executePut(w, op.requestPut) });
      else if (op.requestDeleteRange) responses.push({ responseDeleteRange: executeDelete(w, op.requestDeleteRange) });
      else if (op.requestTxn) responses.push({ responseTxn: walk(op.requestTxn) });
    }
    return { header: revHeader(w.rev + (w.changes > 0 ? 1 : 0)), succeeded, responses };
  };
  return walk(r);
}

export function executePut(w: KvWriter, p: PutRequest): PutResponse {
  let value = p.value;
  let lease = p.lease;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) {
    prev = w.range(p.key, undefined).kvs[0];
    if ((p.ignoreValue || p.ignoreLease) && prev === undefined) throw Errors.KeyNotFound;
    if (p.ignoreValue && prev) value = prev.value;
    if (p.ignoreLease && prev) lease = prev.lease;
  }
  w.put(p.key, value, lease);
  return { header: revHeader(w.rev + 1), prevKv: p.prevKv ? prev : undefined };
}

export function executeDelete(w: KvWriter, d: DeleteRangeRequest): DeleteRangeResponse {
  const end = rangeEndOf(d.rangeEnd);
  const res = w.deleteRange(d.key, end);
  return {
    header: revHeader(w.rev + (w.changes > 0 ? 1 : 0)),
    deleted: BigInt(res.deleted),
    prevKvs: d.prevKv ? res.prevKvs : [],
  };
}

/** Maps the store's typed errors to etcd's client errors. */
export function toEtcdError(err: unknown): Error {
  if (err instanceof CompactedError) return Errors.Compacted;
  if (err instanceof FutureRevError) return Errors.FutureRev;
  return err instanceof Error ? err : new Error(String(err));
}

export function revHeader(revision: number): ResponseHeader {
  return { clusterId: 0n, memberId: 0n, revision: BigInt(revision), raftTerm: 0n };
}

const EMPTY = Buffer.alloc(0);

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
