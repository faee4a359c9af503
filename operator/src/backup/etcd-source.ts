// The backup agent's view of the etcd cluster it backs up: any of its members, over etcd's gRPC API, so
// the agent works with etcd-node and with real etcd alike. Calls go to the first member that answers; a
// snapshot and the tail's watch prefer a follower, to spare the leader.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  KVClient,
  LeaseClient,
  MaintenanceClient,
  RangeRequest,
  WatchClient,
  WatchCreateRequest,
  WatchRequest,
  type LeaseLeasesResponse,
  type LeaseTimeToLiveResponse,
  type RangeResponse,
  type SnapshotResponse,
  type StatusResponse,
  type WatchResponse,
} from '../../../etcd-node/src/gen/etcdserverpb/rpc.js';
import type { AdminTls } from '../etcd/admin.js';

const CALL_DEADLINE_MS = 5000;
/** a revision's events arrive in one watch response, however large; a snapshot chunk is small */
const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.dns_min_time_between_resolutions_ms': 1000,
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2000,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5000,
};

export class EtcdSourceError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
    readonly endpoint?: string,
  ) {
    super(message);
    this.name = 'EtcdSourceError';
  }
}

/** gRPC codes that mean "this member did not answer; try another" */
const TRANSPORT_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

export interface MemberStatus {
  endpoint: string;
  clusterId: bigint;
  memberId: bigint;
  leader: bigint;
  revision: number;
  isLearner: boolean;
}

export interface SnapshotResult {
  endpoint: string;
  /** bytes of the file: the database and etcd's 32-byte SHA-256 trailer */
  size: number;
  /** SHA-256 of the whole file */
  sha256: string;
}

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

function call<Req, Res>(fn: Unary<Req, Res>, req: Req, endpoint: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, requireLeader(), { deadline: Date.now() + CALL_DEADLINE_MS }, (err, res) =>
      err ? reject(new EtcdSourceError(err.code, `${endpoint}: ${err.details || err.message}`, endpoint)) : resolve(res),
    );
  });
}

/** etcd's "require leader" metadata: a member without a leader refuses instead of answering stale */
function requireLeader(): Metadata {
  const md = new Metadata();
  md.set('hasleader', 'true');
  return md;
}

export interface TailHandlers {
  /** events of one or more whole revisions, in order */
  onEvents(resp: WatchResponse, endpoint: string): void;
  /** a progress notification: every revision up to `revision` has been delivered */
  onProgress(revision: number): void;
  /** the start revision was compacted: revisions before `compactRevision` are gone */
  onCompacted(compactRevision: number): void;
  /** the stream ended or failed; the caller resumes from its last revision */
  onEnd(err: Error | undefined): void;
}

export interface TailWatch {
  readonly endpoint: string;
  requestProgress(): void;
  close(): void;
}

export class EtcdSource {
  private readonly creds: ChannelCredentials;
  private readonly kv = new Map<string, KVClient>();
  private readonly maint = new Map<string, MaintenanceClient>();
  private readonly lease = new Map<string, LeaseClient>();
  private readonly watchers = new Map<string, WatchClient>();

  constructor(
    readonly endpoints: readonly string[],
    tls?: AdminTls,
  ) {
    if (endpoints.length === 0) throw new EtcdSourceError(undefined, 'no etcd endpoints given');
    this.creds = tls ? credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : credentials.createInsecure();
  }

  private client<T>(map: Map<string, T>, Ctor: new (ep: string, c: ChannelCredentials, o: object) => T, ep: string): T {
    let c = map.get(ep);
    if (!c) map.set(ep, (c = new Ctor(ep, this.creds, CHANNEL_OPTIONS)));
    return c;
  }

  /** Tries each endpoint in `order`; an answer from etcd (not a transport failure) is the answer. */
  private async any<T>(fn: (ep: string) => Promise<T>, order: readonly string[] = this.endpoints): Promise<T> {
    const failures: string[] = [];
    for (const ep of order) {
      try {
        return await fn(ep);
      } catch (err) {
        if (err instanceof EtcdSourceError && err.code !== undefined && !TRANSPORT_CODES.has(err.code)) throw err;
        failures.push(err instanceof Error ? err.message : String(err));
      }
    }
    throw new EtcdSourceError(14, `no etcd member answered: ${failures.join('; ')}`);
  }

  /** Status of every member that answers (those that do not are left out). */
  async statuses(): Promise<MemberStatus[]> {
    const out = await Promise.all(
      this.endpoints.map(async (ep) => {
        const m = this.client(this.maint, MaintenanceClient, ep);
        try {
          const r = await call(m.status.bind(m) as Unary<object, StatusResponse>, {}, ep);
          return {
            endpoint: ep,
            clusterId: r.header?.clusterId ?? 0n,
            memberId: r.header?.memberId ?? 0n,
            leader: r.leader,
            revision: Number(r.header?.revision ?? 0n),
            isLearner: r.isLearner,
          };
        } catch {
          return undefined;
        }
      }),
    );
    return out.filter((s): s is MemberStatus => s !== undefined);
  }

  /** Endpoints to read from: voting followers that answer first, then the leader, then the rest. */
  async readOrder(): Promise<string[]> {
    const st = await this.statuses();
    const rank = (s: MemberStatus): number => (s.isLearner ? 2 : s.leader !== 0n && s.leader === s.memberId ? 1 : s.leader === 0n ? 3 : 0);
    const ordered = [...st].sort((a, b) => rank(a) - rank(b)).map((s) => s.endpoint);
    return [...ordered, ...this.endpoints.filter((e) => !ordered.includes(e))];
  }

  /** The cluster id and current revision, from a linearizable read of any member. */
  async head(): Promise<{ clusterId: bigint; revision: number; endpoint: string }> {
    return this.any(async (ep) => {
      const kv = this.client(this.kv, KVClient, ep);
      const r = await call(kv.range.bind(kv) as Unary<RangeRequest, RangeResponse>, RangeRequest.fromPartial({ key: Buffer.from([0]), limit: 1n, countOnly: true }), ep);
      return { clusterId: r.header?.clusterId ?? 0n, revision: Number(r.header?.revision ?? 0n), endpoint: ep };
    });
  }

  /**
   * Streams a snapshot from one member into `file` (the database file followed by etcd's SHA-256 trailer,
   * as `etcdctl snapshot save` writes it) and checks the trailer against the data before resolving.
   */
  async snapshotTo(file: string, signal?: AbortSignal): Promise<SnapshotResult> {
    const order = await this.readOrder();
    return this.any(async (ep) => this.snapshotFrom(ep, file, signal), order);
  }

  private snapshotFrom(ep: string, file: string, signal?: AbortSignal): Promise<SnapshotResult> {
    const m = this.client(this.maint, MaintenanceClient, ep);
    return new Promise<SnapshotResult>((resolve, reject) => {
      const out = createWriteStream(file);
      const whole = createHash('sha256');
      // etcd's trailer is the SHA-256 of the bytes before it: hash all but the last 32 bytes received
      const data = createHash('sha256');
      let tail = Buffer.alloc(0);
      let size = 0;
      let failed = false;
      const stream = m.snapshot({}, requireLeader());
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        stream.cancel();
        out.destroy();
        reject(err);
      };
      const onAbort = (): void => fail(new EtcdSourceError(1, `${ep}: snapshot cancelled`, ep));
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (r: SnapshotResponse) => {
        const blob = r.blob;
        size += blob.length;
        whole.update(blob);
        const all = Buffer.concat([tail, blob]);
        const cut = Math.max(0, all.length - 32);
        data.update(all.subarray(0, cut));
        tail = all.subarray(cut);
        if (!out.write(blob)) {
          stream.pause();
          out.once('drain', () => stream.resume());
        }
      });
      stream.on('error', (err: ServiceError) => fail(new EtcdSourceError(err.code, `${ep}: snapshot: ${err.details || err.message}`, ep)));
      stream.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        if (failed) return;
        out.end(() => {
          if (tail.length < 32 || !data.digest().equals(tail)) {
            reject(new EtcdSourceError(undefined, `${ep}: the snapshot's SHA-256 trailer does not match its data (${size} bytes received)`, ep));
            return;
          }
          resolve({ endpoint: ep, size, sha256: whole.digest('hex') });
        });
      });
    });
  }

  /** Ids of the leases that exist now. */
  async leases(): Promise<bigint[]> {
    return this.any(async (ep) => {
      const l = this.client(this.lease, LeaseClient, ep);
      const r = await call(l.leaseLeases.bind(l) as Unary<object, LeaseLeasesResponse>, {}, ep);
      return r.leases.map((s) => s.ID);
    });
  }

  /** The granted TTL of a lease in seconds; undefined when it no longer exists. */
  async grantedTtl(id: bigint): Promise<number | undefined> {
    return this.any(async (ep) => {
      const l = this.client(this.lease, LeaseClient, ep);
      const r = await call(l.leaseTimeToLive.bind(l) as Unary<{ ID: bigint; keys: boolean }, LeaseTimeToLiveResponse>, { ID: id, keys: false }, ep);
      return r.TTL === -1n ? undefined : Number(r.grantedTTL);
    });
  }

  /**
   * Watches the whole key space from `fromRevision` on one member (`endpoint`), delivering whole
   * revisions in order. The caller decides when to give up on a member and calls again with another.
   */
  watch(endpoint: string, fromRevision: number, h: TailHandlers): TailWatch {
    const w = this.client(this.watchers, WatchClient, endpoint);
    const stream: ClientDuplexStream<WatchRequest, WatchResponse> = w.watch(requireLeader());
    let ended = false;
    const end = (err: Error | undefined): void => {
      if (ended) return;
      ended = true;
      h.onEnd(err);
    };
    stream.on('data', (r: WatchResponse) => {
      if (ended) return;
      if (r.compactRevision > 0n) {
        h.onCompacted(Number(r.compactRevision));
        ended = true;
        stream.cancel();
        return;
      }
      if (r.canceled) {
        end(new EtcdSourceError(undefined, `${endpoint}: watch cancelled: ${r.cancelReason || 'no reason given'}`, endpoint));
        stream.cancel();
        return;
      }
      if (r.events.length > 0) h.onEvents(r, endpoint);
      else if (!r.created && r.header) h.onProgress(Number(r.header.revision));
    });
    stream.on('error', (err: ServiceError) => end(new EtcdSourceError(err.code, `${endpoint}: watch: ${err.details || err.message}`, endpoint)));
    stream.on('end', () => end(new EtcdSourceError(14, `${endpoint}: watch stream ended`, endpoint)));
    stream.write(
      WatchRequest.fromPartial({
        createRequest: WatchCreateRequest.fromPartial({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), startRevision: BigInt(fromRevision), progressNotify: true }),
      }),
    );
    return {
      endpoint,
      requestProgress: () => {
        if (!ended) stream.write(WatchRequest.fromPartial({ progressRequest: {} }));
      },
      close: () => {
        ended = true;
        stream.cancel();
      },
    };
  }

  close(): void {
    for (const m of [this.kv, this.maint, this.lease, this.watchers] as Array<Map<string, { close(): void }>>) {
      for (const c of m.values()) c.close();
      m.clear();
    }
  }
}
