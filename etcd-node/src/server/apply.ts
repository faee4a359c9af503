// The apply layer: turns a committed InternalRequest into state changes and a response, deterministically,
// so every member that applies the same log reaches the same state. Runs inside the backend batch the
// server opens per Ready; a request that fails answers with an error and changes nothing.
import type { ServerStats } from './stats.js';
import {
  AlarmRequest_AlarmAction as AlarmAction,
  AlarmType,
  type AlarmRequest,
  type AlarmResponse,
  type CompactionResponse,
  type DeleteRangeResponse,
  type LeaseGrantResponse,
  type LeaseRevokeResponse,
  type PutResponse,
  type TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import type { InternalRequest } from '../gen/etcdtspb/internal.js';
import type { AuthResponse, AuthStore } from '../auth/store.js';
import type { KeyValue } from '../gen/mvccpb/kv.js';
import type { Lessor } from '../lease/lessor.js';
import type { MvccStore, WriteTxn } from '../mvcc/store.js';
import type { AlarmStore } from './alarms.js';
import { Errors } from './errors.js';
import type { KvWriter } from './kv-reader.js';
import {
  checkPutAgainstState,
  checkTxnOps,
  comparePath,
  executeDelete,
  executePut,
  executeTxn,
  isTxnReadOnly,
  revHeader,
  toEtcdError,
} from './txn.js';

export type ApplyResponse =
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactionResponse
  | AlarmResponse
  | AuthResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse;

export interface ApplyOutcome {
  readonly response?: ApplyResponse;
  readonly error?: Error;
  /** for a physical compaction: resolves when the old revisions are gone */
  readonly physical?: Promise<void>;
}

/** Counts changes on top of the store's write transaction: a txn's revision is rev+1 once it changed anything. */
class CountingWriter implements KvWriter {
  changes = 0;
  /** operations run, for etcd_mvcc_{range,put,delete,txn}_total */
  ranges = 0;
  puts = 0;
  deletes = 0;
  constructor(private readonly txn: WriteTxn) {}
  get rev(): number {
    return this.txn.rev;
  }
  range(...args: Parameters<WriteTxn['range']>): ReturnType<WriteTxn['range']> {
    this.ranges++;
    return this.txn.range(...args);
  }
  put(key: Buffer, value: Buffer, lease: bigint): KeyValue | undefined {
    this.changes++;
    this.puts++;
    return this.txn.put(key, value, lease);
  }
  deleteRange(key: Buffer, end: Buffer | undefined): ReturnType<WriteTxn['deleteRange']> {
    const res = this.txn.deleteRange(key, end);
    this.changes += res.deleted;
    this.deletes++;
    return res;
  }
}

export class Applier {
  constructor(
    private readonly store: MvccStore,
    private readonly alarms: AlarmStore,
    private readonly leases: Lessor,
    private readonly auth?: AuthStore,
    private readonly stats?: ServerStats,
  ) {}

  /** `index`: the log index of the entry (auth tokens name it; 0 when unknown). */
  apply(req: InternalRequest, index = 0): ApplyOutcome {
    try {
      return this.dispatch(req, index);
    } catch (err) {
      return { error: toEtcdError(err) };
    } finally {
      if (index > 0) this.auth?.noteApplied(index);
    }
  }

  private dispatch(req: InternalRequest, index: number): ApplyOutcome {
    const authResponse = this.auth?.apply(req, index);
    if (authResponse) return { response: authResponse };
    const noSpace = this.alarms.has(AlarmType.NOSPACE);
    if (req.put) {
      // client writes: permissions were checked at the auth revision in the header; refuse if it is stale
      this.auth?.checkWriteHeader(req.authHeader);
      if (noSpace) throw Errors.NoSpace;
      checkPutAgainstState(this.store, req.put, this.leases);
      const put = req.put;
      return { response: this.write((w) => executePut(w, put)) };
    }
    if (req.deleteRange) {
      this.auth?.checkWriteHeader(req.authHeader);
      const del = req.deleteRange;
      return { response: this.write((w) => executeDelete(w, del)) };
    }
    if (req.txn) {
      const txn = req.txn;
      this.auth?.checkWriteHeader(req.authHeader);
      if (noSpace && !isTxnReadOnly(txn)) throw Errors.NoSpace;
      const path = comparePath(this.store, txn);
      checkTxnOps(this.store, txn, path, this.leases);
      return { response: this.write((w) => executeTxn(w, txn, path)) };
    }
    if (req.compaction) {
      const physical = this.store.compact(Number(req.compaction.revision));
      // Until the physical part is awaited, failures of it surface only in the log, not as unhandled rejections.
      physical.catch(() => undefined);
      return {
        response: { header: revHeader(this.store.currentRevision) },
        physical: req.compaction.physical ? physical : undefined,
      };
    }
    if (req.alarm) return { response: this.alarm(req.alarm) };
    if (req.leaseGrant) {
      const l = this.leases.grant(req.leaseGrant.ID, Number(req.leaseGrant.TTL));
      return { response: { header: revHeader(this.store.currentRevision), ID: l.id, TTL: BigInt(l.ttl), error: '' } };
    }
    if (req.leaseRevoke) {
      // the lease's keys go in one revision, in the same (sorted) order on every member
      const keys = this.leases.revoke(req.leaseRevoke.ID);
      if (keys.length > 0) this.write((w) => keys.forEach((k) => w.deleteRange(k, undefined)));
      return { response: { header: revHeader(this.store.currentRevision) } };
    }
    throw Errors.NotCapable;
  }

  private write<T>(fn: (w: CountingWriter) => T): T {
    const txn = this.store.write();
    const w = new CountingWriter(txn);
    try {
      return fn(w);
    } finally {
      txn.end();
      this.stats?.countTxn(w.ranges, w.puts, w.deletes);
    }
  }

  private alarm(r: AlarmRequest): AlarmResponse {
    // etcd's applier answers alarms without a header (etcdctl prints `{}` for an empty list)
    const header = undefined;
    switch (r.action) {
      case AlarmAction.GET:
        return { header, alarms: this.alarms.list(r.alarm) };
      case AlarmAction.ACTIVATE: {
        if (r.alarm === AlarmType.NONE) return { header, alarms: [] };
        const a = this.alarms.activate(r.memberID, r.alarm);
        return { header, alarms: a ? [a] : [] };
      }
      case AlarmAction.DEACTIVATE: {
        const a = this.alarms.deactivate(r.memberID, r.alarm);
        return { header, alarms: a ? [a] : [] };
      }
      default:
        throw Errors.NotCapable;
    }
  }
}
