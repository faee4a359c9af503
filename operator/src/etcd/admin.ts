// The operator's etcd client for membership and maintenance calls, over etcd-node's (and etcd's) gRPC
// API: MemberList, MemberAdd, MemberPromote, MemberRemove, MoveLeader, Status. A call goes to the
// first endpoint that answers; MoveLeader goes to the leader's own endpoint.
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { ClusterClient, MaintenanceClient, type Member } from '../../../etcd-node/src/gen/etcdserverpb/rpc.js';

const DEADLINE_MS = 3000;

/**
 * The channels live as long as the operator watches the cluster (one EtcdAdmin per cluster, kept between
 * reconciles): a member pod that is replaced comes back under the same name at another address, so the
 * name is looked up again after a second and a broken connection is retried within two, not after
 * grpc-js's defaults (30 s between lookups, backoff up to two minutes).
 */
const CHANNEL_OPTIONS = {
  'grpc.dns_min_time_between_resolutions_ms': 1000,
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2000,
};

export class EtcdCallError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdCallError';
  }
}

type Unary<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown;

function call<Req, Res>(fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, new Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err, res) => (err ? reject(new EtcdCallError(err.code, err.details || err.message)) : resolve(res)));
  });
}

export interface MemberInfo {
  /** hex */
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

const hex = (id: bigint): string => id.toString(16);
const info = (m: Member): MemberInfo => ({ id: hex(m.ID), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner });

/** TLS to the members: the CA that signed their certificates, and the operator's own certificate. */
export interface AdminTls {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export class EtcdAdmin {
  private readonly clusters = new Map<string, ClusterClient>();
  private readonly maint = new Map<string, MaintenanceClient>();
  private readonly creds: ChannelCredentials;

  constructor(
    private readonly endpoints: readonly string[],
    tls?: AdminTls,
  ) {
    this.creds = tls ? credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null) : credentials.createInsecure();
  }

  private cluster(ep: string): ClusterClient {
    let c = this.clusters.get(ep);
    if (!c) this.clusters.set(ep, (c = new ClusterClient(ep, this.creds, CHANNEL_OPTIONS)));
    return c;
  }

  private maintenance(ep: string): MaintenanceClient {
    let c = this.maint.get(ep);
    if (!c) this.maint.set(ep, (c = new MaintenanceClient(ep, this.creds, CHANNEL_OPTIONS)));
    return c;
  }

  /** Tries each endpoint in turn; the last error when none answers. */
  private async any<T>(fn: (ep: string) => Promise<T>): Promise<T> {
    let last: unknown = new EtcdCallError(undefined, 'no endpoint');
    for (const ep of this.endpoints) {
      try {
        return await fn(ep);
      } catch (err) {
        last = err;
        // an answer from etcd (not a transport failure) is the answer
        if (err instanceof EtcdCallError && err.code !== 14 && err.code !== 4) throw err;
      }
    }
    throw last instanceof Error ? last : new Error(String(last));
  }

  async memberList(): Promise<{ members: MemberInfo[]; clusterId: string }> {
    return this.any(async (ep) => {
      const c = this.cluster(ep);
      const r = await call(c.memberList.bind(c) as Unary<{ linearizable: boolean }, { header?: { clusterId: bigint }; members: Member[] }>, { linearizable: true });
      return { members: r.members.map(info), clusterId: hex(r.header?.clusterId ?? 0n) };
    });
  }

  /** The leader as the first answering member sees it (hex), or undefined. */
  async leader(): Promise<string | undefined> {
    return this.any(async (ep) => {
      const m = this.maintenance(ep);
      const r = await call(m.status.bind(m) as Unary<object, { leader: bigint }>, {});
      return r.leader === 0n ? undefined : hex(r.leader);
    });
  }

  /** One member's own view (no other endpoint is tried): its applied revision and raft index. */
  async statusAt(ep: string): Promise<{ revision: number; raftIndex: number; isLearner: boolean }> {
    const m = this.maintenance(ep);
    const r = await call(m.status.bind(m) as Unary<object, { header?: { revision: bigint }; raftIndex: bigint; isLearner: boolean }>, {});
    return { revision: Number(r.header?.revision ?? 0n), raftIndex: Number(r.raftIndex), isLearner: r.isLearner };
  }

  async memberAdd(peerURL: string, isLearner: boolean): Promise<MemberInfo> {
    return this.any(async (ep) => {
      const c = this.cluster(ep);
      const r = await call(c.memberAdd.bind(c) as Unary<{ peerURLs: string[]; isLearner: boolean }, { member?: Member }>, { peerURLs: [peerURL], isLearner });
      if (!r.member) throw new EtcdCallError(undefined, 'MemberAdd answered no member');
      return info(r.member);
    });
  }

  async memberPromote(id: string): Promise<void> {
    await this.any(async (ep) => {
      const c = this.cluster(ep);
      await call(c.memberPromote.bind(c) as Unary<{ ID: bigint }, object>, { ID: BigInt(`0x${id}`) });
    });
  }

  async memberRemove(id: string): Promise<void> {
    await this.any(async (ep) => {
      const c = this.cluster(ep);
      await call(c.memberRemove.bind(c) as Unary<{ ID: bigint }, object>, { ID: BigInt(`0x${id}`) });
    });
  }

  /** Asks the leader (at `leaderEndpoint`) to hand leadership to `to`. */
  async moveLeader(leaderEndpoint: string, to: string): Promise<void> {
    const m = this.maintenance(leaderEndpoint);
    await call(m.moveLeader.bind(m) as Unary<{ targetID: bigint }, object>, { targetID: BigInt(`0x${to}`) });
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
    for (const c of this.maint.values()) c.close();
  }
}
