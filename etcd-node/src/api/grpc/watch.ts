// The Watch service: one bidirectional stream carries many watchers. Requests on a stream are handled
// strictly in order (a create waits for the auth check of the one before it), so the `created` replies
// come back in the order of the creates. Answers follow etcd 3.4 exactly, as observed side by side:
//
//   create ok          {created, watch_id, header.revision = current}
//   create refused     {created, canceled, watch_id = -1, cancel_reason}   (duplicate id, empty range, auth)
//   compacted start    {canceled, watch_id, compact_revision, header.revision = 0}
//   cancel             {canceled, watch_id, header.revision = current}; an unknown id gets no answer
//   progress request   {watch_id = -1, header.revision = current}, once every watcher of the stream is synced
//   progress notify    {watch_id, header.revision = current} for a synced watcher that got no events
//                      during the last interval (--experimental-watch-progress-notify-interval)
//
// The stream's outgoing buffer is bounded (MAX_PENDING responses): past it, the watchable store stops
// handing this stream live events and catches its watchers up from the backend once the buffer drains.
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  WatchCreateRequest_FilterType as FilterType,
  WatchResponse,
  type WatchCreateRequest,
  type WatchRequest,
  type WatchServer,
} from '../../gen/etcdserverpb/rpc.js';
import type { Event } from '../../gen/mvccpb/kv.js';
import { WatchError, type WatchResult, type WatchStream } from '../../mvcc/watch-stream.js';
import { GRPC_OVERHEAD_BYTES } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { EtcdError } from '../../server/errors.js';
import type { Logger } from '../../util/logger.js';
import { authInfoOf } from './auth-context.js';

/** Responses a stream may have queued before its watchers fall back to catch-up (etcd: chanBufLen). */
const MAX_PENDING = 128;

/** etcd's default --experimental-watch-progress-notify-interval. */
export const DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60 * 1000;

/** Go's names of the gRPC codes: etcd's cancel reasons are Go status strings. */
const CODE_NAMES: Record<number, string> = {
  [status.INVALID_ARGUMENT]: 'InvalidArgument',
  [status.PERMISSION_DENIED]: 'PermissionDenied',
  [status.UNAUTHENTICATED]: 'Unauthenticated',
  [status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [status.NOT_FOUND]: 'NotFound',
};

/** What a watcher was asked for beyond what the store keeps. */
interface WatcherExtras {
  fragment: boolean;
  progressNotify: boolean;
  /** an event response went out since the last progress tick */
  sentSinceTick: boolean;
}

type Call = ServerDuplexStream<WatchRequest, WatchResponse>;

export function watchService(server: EtcdServer, log: Logger): WatchServer {
  return {
    watch: (call: Call) => {
      new WatchSession(server, log, call).start();
    },
  };
}

class WatchSession {
  private readonly stream: WatchStream;
  private readonly extras = new Map<bigint, WatcherExtras>();
  private queue: Promise<void> = Promise.resolve();
  private progressTimer: NodeJS.Timeout | undefined;
  private progressPending = false;
  private closed = false;

  constructor(
    private readonly server: EtcdServer,
    private readonly log: Logger,
    private readonly call: Call,
  ) {
    this.stream = server.watchable.newStream({
      isFull: () => this.closed || call.writableLength >= MAX_PENDING,
      send: (r) => this.sendResult(r),
    });
    this.stream.onAllSynced = () => {
      if (this.progressPending) this.answerProgress();
    };
  }

  start(): void {
    this.call.on('data', (req: WatchRequest) => {
      this.queue = this.queue.then(
        () => this.handle(req),
        () => undefined,
      );
    });
    this.call.on('drain', () => this.stream.drained());
    // a client that half-closes keeps receiving (as etcd: the stream ends when the client cancels it)
    this.call.on('end', () => undefined);
    this.call.on('cancelled', () => this.close());
    this.call.on('close', () => this.close());
    this.call.on('error', () => this.close());
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.stream.close();
    this.extras.clear();
  }

  private async handle(req: WatchRequest): Promise<void> {
    if (this.closed) return;
    try {
      if (req.createRequest) await this.create(req.createRequest);
      else if (req.cancelRequest) this.cancel(req.cancelRequest.watchId);
      else if (req.progressRequest) this.requestProgress();
    } catch (err) {
      this.log.error('watch request failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      this.call.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async create(c: WatchCreateRequest): Promise<void> {
    // an empty range_end watches one key; "\0" every key from `key` on
    const end = c.rangeEnd.length === 0 ? undefined : c.rangeEnd.length === 1 && c.rangeEnd[0] === 0 ? Buffer.alloc(0) : c.rangeEnd;
    const refused = (reason: string): void =>
      this.write({ ...this.base(this.server.store.currentRevision), watchId: -1n, created: true, canceled: true, cancelReason: reason });
    try {
      const info = await authInfoOf(this.server, this.call);
      this.server.auth.checkPermission(info, 'read', c.key, c.rangeEnd);
    } catch (err) {
      refused(authCancelReason(err));
      return;
    }
    if (this.closed) return;
    let id: bigint;
    try {
      id = this.stream.watch({
        id: c.watchId,
        key: c.key,
        end,
        startRev: Number(c.startRevision),
        noPut: c.filters.includes(FilterType.NOPUT),
        noDelete: c.filters.includes(FilterType.NODELETE),
        prevKv: c.prevKv,
      });
    } catch (err) {
      if (err instanceof WatchError) {
        refused(err.message);
        return;
      }
      throw err;
    }
    this.extras.set(id, { fragment: c.fragment, progressNotify: c.progressNotify, sentSinceTick: false });
    // the reply is written before any event of the watcher can be: catch-up runs in a later macrotask
    // and live events arrive only after a later apply
    this.write({ ...this.base(this.server.store.currentRevision), watchId: id, created: true });
    if (c.progressNotify) this.startProgressTimer();
  }

  private cancel(id: bigint): void {
    if (!this.stream.cancel(id)) return;
    this.extras.delete(id);
    this.write({ ...this.base(this.server.store.currentRevision), watchId: id, canceled: true });
  }

  private requestProgress(): void {
    if (this.stream.allSynced) this.answerProgress();
    else this.progressPending = true;
  }

  private answerProgress(): void {
    this.progressPending = false;
    this.write({ ...this.base(this.server.store.currentRevision), watchId: -1n });
  }

  private startProgressTimer(): void {
    if (this.progressTimer) return;
    const ms = this.server.cfg.watchProgressNotifyInterval ?? DEFAULT_PROGRESS_NOTIFY_MS;
    this.progressTimer = setInterval(() => {
      for (const [id, x] of this.extras) {
        if (!x.progressNotify) continue;
        if (!x.sentSinceTick) this.stream.progress(id);
        x.sentSinceTick = false;
      }
    }, ms);
    this.progressTimer.unref();
  }

  private sendResult(r: WatchResult): void {
    if (this.closed) return;
    const extras = this.extras.get(r.watchId);
    if (r.compactRevision !== undefined) {
      this.extras.delete(r.watchId);
      this.write({ ...this.base(0), watchId: r.watchId, canceled: true, compactRevision: BigInt(r.compactRevision) });
      return;
    }
    if (r.events.length > 0 && extras) extras.sentSinceTick = true;
    const resp: WatchResponse = { ...this.base(r.revision), watchId: r.watchId, events: r.events };
    if (extras?.fragment) {
      for (const part of fragments(resp, this.server.cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES)) this.write(part);
    } else {
      this.write(resp);
    }
  }

  private base(revision: number): WatchResponse {
    return {
      header: this.server.header(revision),
      watchId: 0n,
      created: false,
      canceled: false,
      compactRevision: 0n,
      cancelReason: '',
      fragment: false,
      events: [],
    };
  }

  private write(resp: WatchResponse): void {
    if (this.closed || this.call.destroyed || this.call.writableEnded) return;
    this.call.write(resp);
  }
}

/** etcd's cancel reason for a refused watch: the Go status string of the auth error. */
function authCancelReason(err: unknown): string {
  if (err instanceof EtcdError && CODE_NAMES[err.grpcCode] !== undefined) {
    return `rpc error: code = ${CODE_NAMES[err.grpcCode]} desc = ${err.message}`;
  }
  return 'rpc error: code = PermissionDenied desc = etcdserver: permission denied';
}

/**
 * Splits a response of several events whose encoding reaches `limit` bytes (the server's
 * --max-request-bytes plus gRPC's allowance) into parts: each part takes events while it stays below the limit, and always
 * at least one. Every part but the last is marked `fragment`; the client joins them.
 */
export function fragments(resp: WatchResponse, limit: number): WatchResponse[] {
  if (resp.events.length < 2 || WatchResponse.encode(resp).finish().length < limit) return [resp];
  const base = WatchResponse.encode({ ...resp, events: [], fragment: true }).finish().length;
  const parts: WatchResponse[] = [];
  let cur: Event[] = [];
  let size = base;
  for (const ev of resp.events) {
    const evSize = eventFieldSize(ev);
    if (cur.length > 0 && size + evSize >= limit) {
      parts.push({ ...resp, events: cur, fragment: true });
      cur = [];
      size = base;
    }
    cur.push(ev);
    size += evSize;
  }
  parts.push({ ...resp, events: cur, fragment: false });
  return parts;
}

/** The bytes one event adds to an encoded WatchResponse (its field tag, length and body). */
function eventFieldSize(ev: Event): number {
  return WatchResponse.encode({ ...emptyResponse, events: [ev] }).finish().length;
}

const emptyResponse: WatchResponse = {
  header: undefined,
  watchId: 0n,
  created: false,
  canceled: false,
  compactRevision: 0n,
  cancelReason: '',
  fragment: false,
  events: [],
};
