// What the Lock and Election services are built from, as etcd builds them from its concurrency package:
// plain KV transactions on keys `<name>/<lease id in hex>` owned by a lease, ordered by create revision,
// and waiting for the keys created before one's own to be deleted. Every call runs as the caller (its
// permissions are checked, and its auth revision rides on its writes), through the same server methods
// the KV service uses.
import type { ServerSurfaceCall } from './auth-context.js';
import {
  Compare,
  Compare_CompareResult,
  Compare_CompareTarget,
  RangeRequest,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
  type RangeResponse,
  type ResponseHeader,
  type TxnRequest,
  type TxnResponse,
} from '../../gen/etcdserverpb/rpc.js';
import { Event_EventType } from '../../gen/mvccpb/kv.js';
import type { AuthInfo } from '../../auth/store.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { status } from '@grpc/grpc-js';
import { EtcdError, Errors } from '../../server/errors.js';
import { authInfoOf } from './auth-context.js';
import { checkTxnPermissions } from './kv.js';

/** The TTL of the lease a Lock or Campaign without a lease gets (etcd's default session TTL). */
const DEFAULT_SESSION_TTL = 60n;

/** The end of the range of keys that start with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** The caller's view of the server: KV calls with its identity, and waits on committed changes. */
export class CallerClient {
  private constructor(
    readonly server: EtcdServer,
    private readonly info: AuthInfo | undefined,
  ) {}

  static async of(server: EtcdServer, call: ServerSurfaceCall): Promise<CallerClient> {
    return new CallerClient(server, await authInfoOf(server, call));
  }

  async txn(r: TxnRequest): Promise<TxnResponse> {
    checkTxnPermissions(this.server, this.info, r);
    return this.server.txn(r, this.server.auth.header(this.info));
  }

  range(r: RangeRequest): RangeResponse {
    this.server.auth.checkPermission(this.info, 'read', r.key, r.rangeEnd);
    return this.server.range(r);
  }

  /** A read of the key with the lowest create revision under `prefix` (the owner of a lock or election). */
  firstCreatedRequest(prefix: Buffer): RangeRequest {
    return RangeRequest.fromPartial({
      key: prefix,
      rangeEnd: prefixEnd(prefix),
      limit: 1n,
      sortOrder: RangeRequest_SortOrder.ASCEND,
      sortTarget: RangeRequest_SortTarget.CREATE,
    });
  }

  firstCreated(prefix: Buffer): RangeResponse {
    return this.range(this.firstCreatedRequest(prefix));
  }

  /** Deletes one key (as a txn, so the caller's permissions and auth revision apply as for any write). */
  async del(key: Buffer): Promise<TxnResponse> {
    return this.txn({ compare: [], success: [{ requestDeleteRange: { key, rangeEnd: Buffer.alloc(0), prevKv: false } }], failure: [] });
  }

  /** A lease id to own the key: the caller's, or a new one (what etcd's session does for lease 0). */
  async leaseOrNew(lease: bigint): Promise<bigint> {
    if (lease !== 0n) return lease;
    return (await this.server.leaseGrant({ ID: 0n, TTL: DEFAULT_SESSION_TTL })).ID;
  }

  /**
   * Creates `key` (value, lease) unless it exists: etcd's `if create_revision(key) = 0 then put else get`,
   * with `extra` ops in both branches. Returns the txn response and the key's create revision.
   */
  async createIfAbsent(key: Buffer, value: Buffer, lease: bigint, extra: RequestOpLike[] = []): Promise<{ res: TxnResponse; rev: bigint }> {
    const res = await this.txn({
      compare: [Compare.fromPartial({ key, target: Compare_CompareTarget.CREATE, result: Compare_CompareResult.EQUAL, createRevision: 0n })],
      success: [{ requestPut: { key, value, lease, prevKv: false, ignoreValue: false, ignoreLease: false } }, ...extra],
      failure: [{ requestRange: RangeRequest.fromPartial({ key }) }, ...extra],
    });
    let rev = res.header?.revision ?? 0n;
    if (!res.succeeded) rev = res.responses[0]?.responseRange?.kvs[0]?.createRevision ?? rev;
    return { res, rev };
  }

  /** `if create_revision(key) = rev then op` (Proclaim's put, Resign's delete). */
  async ifOwner(key: Buffer, rev: bigint, op: RequestOpLike): Promise<TxnResponse> {
    return this.txn({
      compare: [Compare.fromPartial({ key, target: Compare_CompareTarget.CREATE, result: Compare_CompareResult.EQUAL, createRevision: rev })],
      success: [op],
      failure: [],
    });
  }

  /**
   * Waits until every key under `prefix` created at or before `maxCreateRev` is deleted (each time the
   * newest of them is gone, look again). Returns the header of the last read. Rejects with `aborted`'s
   * reason when the caller goes away.
   */
  async waitDeletes(prefix: Buffer, maxCreateRev: bigint, aborted: AbortSignal): Promise<ResponseHeader | undefined> {
    for (;;) {
      const r = this.range(
        RangeRequest.fromPartial({
          key: prefix,
          rangeEnd: prefixEnd(prefix),
          limit: 1n,
          sortOrder: RangeRequest_SortOrder.DESCEND,
          sortTarget: RangeRequest_SortTarget.CREATE,
          maxCreateRevision: maxCreateRev,
        }),
      );
      const last = r.kvs[0];
      if (!last) return r.header;
      await this.nextEvent((ev) => ev.type === Event_EventType.DELETE && ev.kv.equals(last.key), last.key, aborted);
    }
  }

  /**
   * Resolves with the first committed change matching `match`. `stillThere` (a key) is looked up after
   * subscribing: if it is already gone, resolves at once (its delete may have applied before we listened).
   */
  nextEvent(match: (ev: { type: Event_EventType; kv: Buffer }) => boolean, stillThere: Buffer | undefined, aborted: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (aborted.aborted) {
        reject(Errors.Stopped);
        return;
      }
      const done = (err?: Error): void => {
        unsubscribe();
        aborted.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => done(Errors.Stopped);
      const unsubscribe = this.server.store.onCommit((_rev, events) => {
        for (const ev of events) {
          if (ev.kv && match({ type: ev.type, kv: ev.kv.key })) {
            done();
            return;
          }
        }
      });
      aborted.addEventListener('abort', onAbort);
      if (stillThere !== undefined && this.server.range(RangeRequest.fromPartial({ key: stillThere, countOnly: true })).count === 0n) done();
    });
  }
}

export type RequestOpLike = TxnRequest['success'][number];

/** The key a lease holds under a lock or election name: `<name>/<lease id in lowercase hex>` (Go's %x
 *  of an int64: a negative id is written with a minus sign). */
export function ownKey(name: Buffer, lease: bigint): Buffer {
  return Buffer.concat([name, Buffer.from(`/${lease.toString(16)}`)]);
}

/** The prefix all contenders of a lock or election share: `<name>/`. */
export function contenders(name: Buffer): Buffer {
  return Buffer.concat([name, Buffer.from('/')]);
}

/** An AbortSignal that fires when the gRPC call is cancelled by the client (or its deadline passes). */
export function callAborted(call: { on(ev: 'cancelled', fn: () => void): unknown; cancelled: boolean }): AbortSignal {
  const ctl = new AbortController();
  if (call.cancelled) ctl.abort();
  else call.on('cancelled', () => ctl.abort());
  return ctl.signal;
}

/**
 * etcd's Lock and Election servers call the KV API through an in-process client, and an error that
 * client returns reaches their caller as a plain error: gRPC Unknown with the same text.
 */
export function asRecipeError(err: unknown): unknown {
  return err instanceof EtcdError && err.grpcCode !== status.UNKNOWN ? new EtcdError(status.UNKNOWN, err.message) : err;
}

/** Runs fn, turning its etcd errors into what the recipe services answer (see asRecipeError). */
export async function recipe<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asRecipeError(err);
  }
}
