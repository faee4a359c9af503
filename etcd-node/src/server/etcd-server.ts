// EtcdServer: the write path (request → proposal → log entry → WAL → committed → applied → answer) and the
// read path, over a ConsensusNode. Today the node is the one-member log; the Raft core plugs in behind
// the same interface. Every durable change reaches the WAL (one fdatasync per Ready: group commit) before
// it is applied or acknowledged; the backend commits lazily and is caught up from the WAL on start.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  AlarmRequest_AlarmAction as AlarmAction,
  AlarmType,
  type AlarmRequest,
  type AlarmResponse,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type HashKVResponse,
  type HashResponse,
  type LeaseGrantRequest,
  type LeaseGrantResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeRequest,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveRequest,
  type LeaseTimeToLiveResponse,
  type Member,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import { InternalRequest, type AuthHeader } from '../gen/etcdtspb/internal.js';
import { AuthStore, type AuthResponse } from '../auth/store.js';
import { LeaseIdGenerator } from '../lease/lease-id.js';
import { Lessor, MAX_LEASE_TTL, minLeaseTtl } from '../lease/lessor.js';
import { MvccStore } from '../mvcc/store.js';
import { WatchableStore } from '../mvcc/watchable-store.js';
import type { ConsensusNode } from '../raft/node.js';
import { SingleNode } from '../raft/single-node.js';
import type { Entry } from '../raft/types.js';
import { Backend } from '../storage/backend/backend.js';
import { Wal } from '../storage/wal/wal.js';
import type { Logger } from '../util/logger.js';
import { AlarmStore } from './alarms.js';
import { Applier, type ApplyOutcome } from './apply.js';
import { CLUSTER_VERSION, SERVER_VERSION, type ServerConfig } from './config.js';
import { EtcdError, Errors } from './errors.js';
import { clusterId as deriveClusterId, memberId as deriveMemberId } from './ids.js';
import { MemberStore, toApiMember, urlString } from './members.js';
import { executeRange } from './range.js';
import { checkTxnOps, comparePath, executeTxn, isTxnReadOnly, toEtcdError } from './txn.js';

/** What a caller proposes: an InternalRequest without the wait id, the auth header optional. */
type ProposeRequest = Omit<InternalRequest, 'id' | 'authHeader'> & { authHeader?: AuthHeader | undefined };

/** etcd's default --auth-token-ttl, seconds. */
const DEFAULT_AUTH_TOKEN_TTL = 300;

/** etcd's estimate of what a key costs the backend beyond its bytes (quota accounting). */
const KV_OVERHEAD = 256;

/** How often the leader looks for expired leases, and how many it revokes per look (etcd: 1000/s). */
const LEASE_EXPIRY_CHECK_MS = 500;
const LEASE_REVOKES_PER_CHECK = 500;

interface Waiter {
  resolve(o: ApplyOutcome): void;
  reject(err: Error): void;
}

export interface ServerHooks {
  /** WAL fdatasync durations, for metrics */
  onFsync?: (seconds: number) => void;
}

export class EtcdServer {
  private readonly waits = new Map<bigint, Waiter>();
  private nextRequestId = 0n;
  private loopRunning = false;
  private stopped = false;
  private appliedIndex: number;
  private appliedTerm: number;
  private snapshotIndex: number;
  private fatal: unknown;
  /** the leader seen after the last Ready; leadership listeners fire when it changes */
  private knownLeader = 0n;
  private readonly leaderListeners = new Set<(isLeader: boolean, leader: bigint) => void>();
  /** watchers over the store (the Watch service and the gateway's /v3/watch) */
  readonly watchable: WatchableStore;
  private readonly leaseIds: LeaseIdGenerator;
  private leaseTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly cfg: ServerConfig,
    private readonly log: Logger,
    readonly memberId: bigint,
    readonly clusterId: bigint,
    private readonly wal: Wal,
    readonly backend: Backend,
    readonly store: MvccStore,
    private readonly node: ConsensusNode,
    private readonly applier: Applier,
    private readonly alarms: AlarmStore,
    private readonly members: MemberStore,
    applied: { index: number; term: number },
    /** users, roles, permissions, tokens (auth/) */
    readonly auth: AuthStore,
    /** leases (lease/); expiry runs only while this member leads */
    readonly lessor: Lessor,
  ) {
    this.appliedIndex = applied.index;
    this.appliedTerm = applied.term;
    this.snapshotIndex = applied.index;
    this.watchable = new WatchableStore(store);
    this.leaseIds = new LeaseIdGenerator(memberId);
    // a new leader gives every lease its full TTL plus an election timeout, so clients can find it
    this.onLeaderChange((mine) => (mine ? lessor.promote(cfg.electionTimeout) : lessor.demote()));
  }

  /** Opens (or creates) the data dir, replays the WAL past the backend's consistent index, and starts the log. */
  static async start(cfg: ServerConfig, log: Logger, hooks: ServerHooks = {}): Promise<EtcdServer> {
    const memberDir = path.join(cfg.dataDir, 'member');
    const walDir = path.join(memberDir, 'wal');
    mkdirSync(path.join(memberDir, 'snap'), { recursive: true, mode: 0o700 });
    const walOpts = { onFsync: hooks.onFsync };

    let wal: Wal;
    let entries: Entry[] = [];
    let hardState = { term: 0, vote: 0n, commit: 0 };
    let lastIndex = 0;
    let mid: bigint;
    let cid: bigint;
    const restarting = Wal.exists(walDir);
    const backend = Backend.open(path.join(memberDir, 'snap', 'db'));
    if (restarting) {
      const opened = await Wal.open(walDir, walOpts);
      wal = opened.wal;
      entries = opened.entries;
      hardState = opened.hardState;
      mid = opened.identity.memberId;
      cid = opened.identity.clusterId;
      lastIndex = Math.max(entries.at(-1)?.index ?? 0, opened.snapshot?.index ?? 0, backend.consistentIndex().index);
      log.info('restarting member', { 'member-id': mid, 'cluster-id': cid, 'data-dir': cfg.dataDir, 'last-index': lastIndex });
    } else {
      if (cfg.initialClusterState === 'existing') {
        throw new Error(
          `--initial-cluster-state=existing: member ${cfg.name} has no data in ${cfg.dataDir}; joining an existing cluster needs replication, which this build does not have yet`,
        );
      }
      const peers = cfg.initialCluster.get(cfg.name);
      if (!peers) throw new Error(`--initial-cluster has no entry for --name=${cfg.name}`);
      if (cfg.initialCluster.size > 1) {
        throw new Error('--initial-cluster: clusters of more than one member need replication, which this build does not have yet');
      }
      mid = deriveMemberId(peers.map(urlString), cfg.initialClusterToken);
      cid = deriveClusterId([mid]);
      wal = await Wal.create(walDir, { memberId: mid, clusterId: cid }, walOpts);
      backend.batch(() => {
        new MemberStore(backend).put({
          id: mid,
          name: cfg.name,
          peerUrls: peers.map(urlString),
          clientUrls: cfg.advertiseClientUrls.map(urlString),
          isLearner: false,
        });
      });
      log.info('starting new member', { 'member-id': mid, 'cluster-id': cid, 'data-dir': cfg.dataDir });
    }

    const store = MvccStore.open(backend);
    const alarms = new AlarmStore(backend);
    const members = new MemberStore(backend);
    const auth = new AuthStore(backend, { tokenTtlMs: (cfg.authTokenTtl ?? DEFAULT_AUTH_TOKEN_TTL) * 1000 });
    const lessor = new Lessor(backend, { minTtl: minLeaseTtl(cfg.electionTimeout) });
    store.leaseAttachments = lessor;
    for (const { key, lease } of store.takeRestoredLeases()) {
      if (lessor.exists(lease)) lessor.attach(lease, key);
      else log.warn('key refers to a lease that does not exist', { key: key.toString(), lease: lease.toString(16) });
    }
    const applier = new Applier(store, alarms, lessor, auth);
    const ci = backend.consistentIndex();
    const node = new SingleNode(mid, { hardState, lastIndex });
    const server = new EtcdServer(cfg, log, mid, cid, wal, backend, store, node, applier, alarms, members, ci, auth, lessor);
    // Catch the backend up with what the WAL holds beyond its consistent index (its last batch may not
    // have been committed when the process died).
    const replay = entries.filter((e) => e.index > ci.index);
    if (replay.length > 0) {
      server.applyEntries(replay);
      log.info('replayed WAL entries', { from: replay[0]!.index, to: replay.at(-1)!.index });
    }
    server.kick();
    server.leaseTimer = setInterval(() => server.revokeExpiredLeases(), LEASE_EXPIRY_CHECK_MS);
    server.leaseTimer.unref();
    return server;
  }

  // ---- the write path ----

  private kick(): void {
    if (this.loopRunning || this.stopped || !this.node.hasReady()) return;
    this.loopRunning = true;
    // setImmediate: every request that arrived in this I/O phase joins the same Ready (group commit).
    setImmediate(() => void this.runLoop());
  }

  private async runLoop(): Promise<void> {
    try {
      while (!this.stopped && this.node.hasReady()) {
        const rd = this.node.ready();
        this.wal.save(rd.hardState, rd.entries);
        await this.wal.sync();
        this.applyEntries(rd.committedEntries);
        this.node.advance();
        this.noticeLeader();
        if (this.appliedIndex - this.snapshotIndex >= this.cfg.snapshotCount) await this.snapshot();
      }
    } catch (err) {
      // A failed WAL write or backend commit leaves nothing safe to do but stop (etcd panics here too).
      this.fatal = err;
      this.log.error('stopping: write path failed', { error: String(err) });
      this.failAllWaiters(Errors.Stopped);
      this.stopped = true;
      process.exitCode = 1;
      setImmediate(() => process.emit('SIGTERM'));
    } finally {
      this.loopRunning = false;
    }
  }

  // ---- leadership (the lessor expires leases only on the leader) ----

  /** true while this member is the Raft leader */
  isLeader(): boolean {
    return !this.stopped && this.node.leader === this.memberId;
  }

  /** Calls fn whenever the known leader changes (fn(true, id) when this member became leader, fn(false, id)
   *  when it lost or never had leadership; id is 0n while no leader is known). Returns an unsubscribe
   *  function. A listener that throws is logged and kept: one consumer must not break the write path. */
  onLeaderChange(fn: (isLeader: boolean, leader: bigint) => void): () => void {
    this.leaderListeners.add(fn);
    return () => {
      this.leaderListeners.delete(fn);
    };
  }

  private noticeLeader(): void {
    const leader = this.node.leader;
    if (leader === this.knownLeader) return;
    this.knownLeader = leader;
    const mine = leader === this.memberId;
    this.log.info(mine ? 'became leader' : 'leader changed', { 'member-id': this.memberId, leader });
    for (const fn of this.leaderListeners) {
      try {
        fn(mine, leader);
      } catch (err) {
        this.log.error('leader-change listener failed', { error: String(err) });
      }
    }
  }

  private applyEntries(entries: readonly Entry[]): void {
    const done: Array<[Waiter, ApplyOutcome]> = [];
    this.backend.batch(() => {
      for (const e of entries) {
        if (e.index <= this.appliedIndex) continue;
        if (e.data.length > 0) {
          const req = InternalRequest.decode(e.data);
          const outcome = this.applier.apply(req, e.index);
          const w = this.waits.get(req.id);
          if (w) {
            this.waits.delete(req.id);
            done.push([w, outcome]);
          }
        }
        this.backend.setConsistentIndex(e.index, e.term);
        this.appliedIndex = e.index;
        this.appliedTerm = e.term;
      }
    });
    for (const [w, outcome] of done) w.resolve(outcome);
  }

  /** Makes the backend durable, marks the WAL, and releases WAL segments the backend no longer needs. */
  private async snapshot(): Promise<void> {
    const index = this.appliedIndex;
    await this.backend.sync();
    await this.wal.saveSnapshot({ index, term: this.appliedTerm, confState: { voters: [this.memberId], learners: [] } });
    await this.wal.releaseTo(index);
    this.snapshotIndex = index;
    this.log.info('saved snapshot', { 'snapshot-index': index });
  }

  private async propose(req: ProposeRequest): Promise<ApplyOutcome> {
    if (this.stopped) throw Errors.Stopped;
    const id = ++this.nextRequestId;
    const data = InternalRequest.encode({ authHeader: undefined, ...req, id }).finish();
    if (data.length > this.cfg.maxRequestBytes) throw Errors.RequestTooLarge;
    return new Promise<ApplyOutcome>((resolve, reject) => {
      this.waits.set(id, { resolve, reject });
      try {
        this.node.propose(data);
      } catch (err) {
        this.waits.delete(id);
        reject(toEtcdError(err));
        return;
      }
      this.kick();
    });
  }

  private async proposeAndWait<T>(req: ProposeRequest): Promise<T> {
    const outcome = await this.propose(req);
    if (outcome.error !== undefined) throw outcome.error;
    return outcome.response as T;
  }

  private failAllWaiters(err: Error): void {
    for (const w of this.waits.values()) w.reject(err);
    this.waits.clear();
  }

  // ---- quota ----

  /** Refuses a write that would take the backend past its quota, raising the NOSPACE alarm (as etcd does). */
  private async checkQuota(cost: number): Promise<void> {
    if (this.backend.size() + cost < this.cfg.quotaBackendBytes) return;
    if (!this.alarms.has(AlarmType.NOSPACE)) {
      this.log.warn('database space exceeded, raising NOSPACE alarm', {
        'quota-size-bytes': this.cfg.quotaBackendBytes,
        'current-db-size-bytes': this.backend.size(),
      });
      await this.propose({ alarm: { action: AlarmAction.ACTIVATE, memberID: this.memberId, alarm: AlarmType.NOSPACE } });
    }
    throw Errors.NoSpace;
  }

  // ---- KV ----

  /** The header of Cluster responses: etcd fills no revision there (cluster, member, term only). */
  clusterHeader(): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: 0n, raftTerm: BigInt(this.node.term) };
  }

  header(revision = this.store.currentRevision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: BigInt(revision), raftTerm: BigInt(this.node.term) };
  }

  /**
   * Linearizable and serializable reads are the same on a one-member log: a write is answered only after
   * it is applied, so the applied state already holds every acknowledged write.
   */
  range(r: RangeRequest): RangeResponse {
    this.checkRunning();
    try {
      const res = executeRange(this.store, r);
      res.header = this.header(Number(res.header?.revision ?? 0n));
      return res;
    } catch (err) {
      throw toEtcdError(err);
    }
  }

  /** `authHeader`: who asked, for the apply-time auth revision check (AuthStore.header). */
  async put(r: PutRequest, authHeader?: AuthHeader): Promise<PutResponse> {
    await this.checkQuota(KV_OVERHEAD + r.key.length + r.value.length);
    const res = await this.proposeAndWait<PutResponse>({ put: r, authHeader });
    res.header = this.header(Number(res.header?.revision ?? 0n));
    return res;
  }

  async deleteRange(r: DeleteRangeRequest, authHeader?: AuthHeader): Promise<DeleteRangeResponse> {
    const res = await this.proposeAndWait<DeleteRangeResponse>({ deleteRange: r, authHeader });
    res.header = this.header(Number(res.header?.revision ?? 0n));
    return res;
  }

  async txn(r: TxnRequest, authHeader?: AuthHeader): Promise<TxnResponse> {
    let res: TxnResponse;
    if (isTxnReadOnly(r)) {
      this.checkRunning();
      try {
        const path = comparePath(this.store, r);
        checkTxnOps(this.store, r, path, this.lessor);
        const rev = this.store.currentRevision;
        res = executeTxn(
          {
            rev,
            changes: 0,
            range: (k, e, o) => this.store.range(k, e, o),
            put: () => {
              throw new Error('read-only txn wrote');
            },
            deleteRange: () => {
              throw new Error('read-only txn wrote');
            },
          },
          r,
          path,
        );
      } catch (err) {
        throw toEtcdError(err);
      }
    } else {
      await this.checkQuota(txnCost(r));
      res = await this.proposeAndWait<TxnResponse>({ txn: r, authHeader });
    }
    res.header = this.header(Number(res.header?.revision ?? 0n));
    return res;
  }

  async compact(r: CompactionRequest): Promise<CompactionResponse> {
    const outcome = await this.propose({ compaction: r });
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.physical) await outcome.physical;
    return { header: this.header() };
  }

  // ---- leases ----

  async leaseGrant(r: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    // checked before proposing too, as etcd does: a client-chosen id is the only thing apply decides
    if (r.TTL > BigInt(MAX_LEASE_TTL)) throw Errors.LeaseTTLTooLarge;
    const ID = r.ID === 0n ? this.leaseIds.next() : r.ID;
    const res = await this.proposeAndWait<LeaseGrantResponse>({ leaseGrant: { TTL: r.TTL, ID } });
    res.header = this.header(Number(res.header?.revision ?? 0n));
    return res;
  }

  async leaseRevoke(r: LeaseRevokeRequest): Promise<LeaseRevokeResponse> {
    const res = await this.proposeAndWait<LeaseRevokeResponse>({ leaseRevoke: r });
    res.header = this.header(Number(res.header?.revision ?? 0n));
    return res;
  }

  /** A keep-alive: the lease's TTL, or 0 when it does not exist or has expired (etcd answers TTL 0). */
  leaseRenew(id: bigint): number {
    this.checkRunning();
    if (!this.isLeader()) throw Errors.NoLeader;
    return this.lessor.renew(id) ?? 0;
  }

  /** An unknown lease answers TTL -1 (not an error), as etcd's API layer does. */
  leaseTimeToLive(r: LeaseTimeToLiveRequest): LeaseTimeToLiveResponse {
    this.checkRunning();
    const l = this.lessor.lookup(r.ID);
    if (!l) return { header: this.header(), ID: r.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    const keys = r.keys ? this.leaseKeys(r.ID) : [];
    return { header: this.header(), ID: r.ID, TTL: BigInt(this.lessor.remaining(r.ID)), grantedTTL: BigInt(l.ttl), keys };
  }

  /** The keys attached to a lease, sorted; [] for an unknown lease. */
  leaseKeys(id: bigint): Buffer[] {
    const l = this.lessor.lookup(id);
    return l ? [...l.keys].sort().map((k) => Buffer.from(k, 'latin1')) : [];
  }

  leaseLeases(): LeaseLeasesResponse {
    this.checkRunning();
    return { header: this.header(), leases: this.lessor.list().map((l) => ({ ID: l.id })) };
  }

  /** On the leader: propose a revoke for each expired lease (a failed one is retried by the lessor). */
  private revokeExpiredLeases(): void {
    if (this.stopped || !this.isLeader()) return;
    for (const ID of this.lessor.expired(LEASE_REVOKES_PER_CHECK)) {
      this.propose({ leaseRevoke: { ID } }).then(
        (o) => {
          if (o.error !== undefined && o.error !== Errors.LeaseNotFound) this.log.warn('failed to revoke expired lease', { lease: ID.toString(16), error: o.error.message });
        },
        (err: unknown) => this.log.warn('failed to revoke expired lease', { lease: ID.toString(16), error: String(err) }),
      );
    }
  }

  // ---- auth ----

  /**
   * Proposes an auth request (its `authHeader` names the caller; the apply layer checks admin rights)
   * and answers with etcd's response header.
   */
  async authRequest<T extends AuthResponse>(req: ProposeRequest): Promise<T> {
    const res = await this.proposeAndWait<T>(req);
    res.header = this.header();
    return res;
  }

  // ---- maintenance ----

  async alarm(r: AlarmRequest): Promise<AlarmResponse> {
    // etcd answers Alarm without a response header (its applier builds the response bare).
    return this.proposeAndWait<AlarmResponse>({ alarm: r });
  }

  status(): StatusResponse {
    this.checkRunning();
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: BigInt(this.backend.size()),
      leader: this.node.leader,
      raftIndex: BigInt(this.node.commitIndex),
      raftTerm: BigInt(this.node.term),
      raftAppliedIndex: BigInt(this.appliedIndex),
      errors: this.alarms.list().map((a) => `memberID:${a.memberID} alarm:${AlarmType[a.alarm]} `),
      dbSizeInUse: BigInt(this.backend.sizeInUse()),
      isLearner: false,
      storageVersion: CLUSTER_VERSION,
      dbSizeQuota: BigInt(this.cfg.quotaBackendBytes),
      downgradeInfo: { enabled: false, targetVersion: '' },
    };
  }

  async defragment(): Promise<void> {
    this.checkRunning();
    this.log.info('defragmenting', { 'current-db-size-bytes': this.backend.size() });
    await this.backend.defragment();
    this.log.info('finished defragmenting', { 'current-db-size-bytes': this.backend.size() });
  }

  hash(): HashResponse {
    this.checkRunning();
    return { header: this.header(), hash: this.backend.hash() };
  }

  hashKV(revision: number): HashKVResponse {
    this.checkRunning();
    try {
      const h = this.store.hashKV(revision);
      return {
        header: this.header(),
        hash: h.hash,
        compactRevision: BigInt(h.compactRevision),
        hashRevision: BigInt(h.hashRevision),
      };
    } catch (err) {
      throw toEtcdError(err);
    }
  }

  memberList(): Member[] {
    return this.members.list().map((m) => {
      const api = toApiMember(m);
      // A member's client URLs are what it advertises now (etcd publishes them at every start).
      if (m.id === this.memberId) api.clientURLs = this.cfg.advertiseClientUrls.map(urlString);
      return api;
    });
  }

  get raftTerm(): number {
    return this.node.term;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private checkRunning(): void {
    if (this.stopped) throw this.fatal instanceof EtcdError ? this.fatal : Errors.Stopped;
  }

  /** Stops taking requests, fails pending ones, flushes and closes storage. */
  async stop(): Promise<void> {
    if (this.stopped && !this.loopRunning && this.fatal === undefined) return;
    this.stopped = true;
    clearInterval(this.leaseTimer);
    while (this.loopRunning) await new Promise((r) => setTimeout(r, 5));
    this.failAllWaiters(Errors.Stopped);
    // a stopped member leads nothing: tell listeners (the lessor stops expiring leases)
    if (this.knownLeader === this.memberId) {
      this.knownLeader = 0n;
      for (const fn of this.leaderListeners) {
        try {
          fn(false, 0n);
        } catch (err) {
          this.log.error('leader-change listener failed', { error: String(err) });
        }
      }
    }
    this.watchable.close();
    await this.wal.close();
    // the store may be between compaction batches: let it finish its backend writes first
    await this.store.close();
    await this.backend.sync();
    await this.backend.close();
  }
}

function txnCost(r: TxnRequest): number {
  let cost = 0;
  for (const op of [...r.success, ...r.failure]) {
    if (op.requestPut) cost += KV_OVERHEAD + op.requestPut.key.length + op.requestPut.value.length;
    else if (op.requestTxn) cost += txnCost(op.requestTxn);
  }
  return cost;
}
