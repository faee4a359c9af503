// EtcdServer: the write path (request → proposal → log entry → WAL → committed → applied → answer) and the
// read path, over the Raft core (RawNode). Every durable change reaches the WAL (one fdatasync per Ready:
// group commit) before it is acknowledged; the backend commits lazily and is caught up from the WAL on start.
import { SLOW_APPLY_MS, ServerStats, applyOpName } from './stats.js';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
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
  type MemberAddRequest,
  type MemberAddResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type ResponseHeader,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
} from '../gen/etcdserverpb/rpc.js';
import { ClusterInfo, ConfChangeContext, InternalRequest, type AuthHeader, type MemberAttributes, type MemberRecord } from '../gen/etcdtspb/internal.js';
import { AuthStore, type AuthResponse } from '../auth/store.js';
import { encodePutProposal } from '../util/fast-encode.js';
import { IdGenerator } from '../util/id-generator.js';
import { Lessor, MAX_LEASE_TTL, minLeaseTtl } from '../lease/lessor.js';
import { MvccStore } from '../mvcc/store.js';
import { WatchableStore } from '../mvcc/watchable-store.js';
import { decodeConfChange } from '../raft/codec.js';
import { MessageType, type Message, type Snapshot } from '../raft/messages.js';
import { ProposalDroppedError } from '../raft/node.js';
import { RawNode } from '../raft/raw-node.js';
import { MemoryStorage, SnapshotTemporarilyUnavailableError } from '../raft/storage.js';
import { EntryType, type ConfState, type Entry } from '../raft/types.js';
import { fetchClusterInfo, PeerOp, PeerTransport, type PeerTlsFiles } from '../peer/transport.js';
import { ConfChangeType, sortIds } from '../raft/confchange.js';
import { Backend } from '../storage/backend/backend.js';
import { Wal } from '../storage/wal/wal.js';
import type { Logger } from '../util/logger.js';
import { AlarmStore } from './alarms.js';
import { forceNewClusterLog } from './force-new-cluster.js';
import { Applier, type ApplyOutcome } from './apply.js';
import { CLUSTER_VERSION, SERVER_VERSION, type ServerConfig } from './config.js';
import { EtcdError, Errors } from './errors.js';
import { clusterId as deriveClusterId, memberId as deriveMemberId } from './ids.js';
import { MemberStore, toApiMember, urlString } from './members.js';
import { ReadBarrier } from './read-barrier.js';
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

/** How long a proposal or a linearizable read may wait before it fails with `request timed out`
 *  (etcd: 5 s plus two election timeouts). */
const requestTimeoutMs = (cfg: ServerConfig): number => 5000 + 2 * cfg.electionTimeout;

/** Raft log entries a snapshot keeps behind it by default, so that a follower a little behind catches up
 *  from the log (etcd's SnapshotCatchUpEntries; --experimental-snapshot-catchup-entries). */
const SNAPSHOT_CATCH_UP_ENTRIES = 5000;

/** etcd's maxGapBetweenApplyAndCommitIndex: past it, proposals fail with `too many requests`. */
const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;

interface Waiter {
  resolve(o: ApplyOutcome): void;
  reject(err: Error): void;
  /** Date.now() past which it fails with `request timed out` */
  readonly deadline: number;
}

export interface ServerHooks {
  /** WAL fdatasync durations, for metrics */
  onFsync?: (seconds: number) => void;
  /** WAL writes (bytes, seconds), for metrics */
  onWalWrite?: (bytes: number, seconds: number) => void;
}

/** The Raft storage of a member: the log it persisted, in memory. A snapshot it hands Raft carries no
 *  data: the server attaches a copy of the backend when it sends the MsgSnap (sendSnapshot). */
class MemberStorage extends MemoryStorage {
  override snapshot(): Snapshot {
    const s = super.snapshot();
    if (s.meta.index === 0) throw new SnapshotTemporarilyUnavailableError('raft: no snapshot yet');
    return s;
  }
}

export class EtcdServer {
  /** Invariant: insertion order is proposal order, so deadlines are non-decreasing along the map. */
  private readonly waits = new Map<bigint, Waiter>();
  /** puts this member proposed, by the entry data it proposed (held by the Raft log until applied) */
  private readonly proposedPuts = new WeakMap<Uint8Array, InternalRequest>();
  private readonly requestIds: IdGenerator;
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
  private readonly leaseIds: IdGenerator;
  private readonly reads: ReadBarrier;
  private readonly timers: NodeJS.Timeout[] = [];
  /** the Raft configuration as of the last applied conf change (saved with every snapshot) */
  private confState: ConfState;
  private transport: PeerTransport | undefined;
  private published = false;
  /** settled once this member has published itself through Raft (so it has a leader): etcd's ReadyNotify */
  private markReady: () => void = () => undefined;
  readonly whenReady: Promise<void> = new Promise<void>((resolve) => {
    this.markReady = resolve;
  });
  private ready = false;
  private readonly snapshotsInFlight = new Set<bigint>();
  /** this member applied its own removal */
  private removed = false;
  private stopping = false;
  private campaignedAlone = false;

  private constructor(
    readonly cfg: ServerConfig,
    private readonly log: Logger,
    readonly memberId: bigint,
    readonly clusterId: bigint,
    private readonly wal: Wal,
    readonly backend: Backend,
    readonly store: MvccStore,
    private readonly node: RawNode,
    private readonly storage: MemoryStorage,
    private readonly applier: Applier,
    private readonly alarms: AlarmStore,
    private readonly members: MemberStore,
    applied: { index: number; term: number },
    /** users, roles, permissions, tokens (auth/) */
    readonly auth: AuthStore,
    /** leases (lease/); expiry runs only while this member leads */
    readonly lessor: Lessor,
    /** what /metrics reports (stats.ts) */
    readonly stats: ServerStats,
  ) {
    this.appliedIndex = applied.index;
    this.appliedTerm = applied.term;
    this.snapshotIndex = applied.index;
    this.confState = storage.initialState().confState;
    this.watchable = new WatchableStore(store);
    this.leaseIds = new IdGenerator(memberId);
    this.requestIds = new IdGenerator(memberId);
    this.reads = new ReadBarrier(
      {
        readIndex: (ctx) => {
          this.node.readIndex(ctx);
          this.kick();
        },
        get appliedIndex() {
          return server().appliedIndex;
        },
      },
      requestTimeoutMs(cfg),
    );
    const server = (): EtcdServer => this;
    // a new leader gives every lease its full TTL plus an election timeout, so clients can find it
    this.onLeaderChange((mine) => (mine ? lessor.promote(cfg.electionTimeout) : lessor.demote()));
  }

  /**
   * Opens (or creates) the data dir and starts the member: a new one bootstraps the cluster of
   * --initial-cluster (every initial member writes the same first log entries); a restarting one rebuilds
   * its Raft log from the WAL and catches the backend up as Raft hands out the committed entries again.
   */
  static async start(cfg: ServerConfig, log: Logger, hooks: ServerHooks = {}): Promise<EtcdServer> {
    const memberDir = path.join(cfg.dataDir, 'member');
    const walDir = cfg.walDir ?? path.join(memberDir, 'wal');
    mkdirSync(path.join(memberDir, 'snap'), { recursive: true, mode: 0o700 });
    const walOpts = { onFsync: hooks.onFsync, onWrite: hooks.onWalWrite };

    let wal: Wal;
    let mid: bigint;
    let cid: bigint;
    let peers: bigint[] | undefined;
    const storage = new MemberStorage();
    const restarting = Wal.exists(walDir);
    const backend = Backend.open(path.join(memberDir, 'snap', 'db'));
    if (restarting) {
      const opened = await Wal.open(walDir, walOpts);
      wal = opened.wal;
      mid = opened.identity.memberId;
      cid = opened.identity.clusterId;
      let hardState = opened.hardState;
      let entries = opened.entries;
      if (cfg.forceNewCluster) {
        const forced = forceNewClusterLog(opened, mid, new MemberStore(backend).get(mid));
        if (forced.appended.length > 0) {
          opened.wal.save(forced.hardState, forced.appended);
          await opened.wal.sync();
          log.warn('forcing restart as a new one-member cluster (--force-new-cluster)', {
            'member-id': mid,
            'removed-members': forced.removed.map((id) => id.toString(16)),
            'commit-index': forced.hardState.commit,
          });
        }
        hardState = forced.hardState;
        entries = forced.entries;
      }
      if (opened.snapshot) storage.applySnapshot({ meta: opened.snapshot, data: new Uint8Array(0) });
      storage.setHardState(hardState);
      storage.append(entries);
      log.info('restarting member', { 'member-id': mid, 'cluster-id': cid, 'data-dir': cfg.dataDir, 'last-index': storage.lastIndex() });
    } else if (cfg.initialClusterState === 'existing') {
      // joining a running cluster (after `member add`): learn its members from a peer, find ourselves
      const own = cfg.initialAdvertisePeerUrls.map(urlString).sort().join(',');
      const others = [...cfg.initialCluster].filter(([name]) => name !== cfg.name).flatMap(([, urls]) => urls);
      const info = ClusterInfo.decode(await fetchClusterInfo(others, peerTlsFiles(cfg)));
      const me = info.members.find((m) => [...m.peerUrls].sort().join(',') === own);
      if (!me) {
        throw new Error(
          `--initial-cluster-state=existing: the cluster has no member with peer URLs ${own}; add this member first (etcdctl member add ${cfg.name} --peer-urls=${own})`,
        );
      }
      // a member that already ran has published its name: joining again as it with no data would let it
      // vote twice in a term it already voted in (etcd refuses this too); it must be removed and re-added
      if (me.name !== '') {
        throw new Error(
          `--initial-cluster-state=existing: member ${me.id.toString(16)} has already been bootstrapped (its data is not in ${cfg.dataDir}); remove it and add it again`,
        );
      }
      mid = me.id;
      cid = info.clusterId;
      wal = await Wal.create(walDir, { memberId: mid, clusterId: cid }, walOpts);
      backend.batch(() => {
        const store = new MemberStore(backend);
        for (const m of info.members) store.put(m);
      });
      log.info('joining existing cluster', { 'member-id': mid, 'cluster-id': cid, 'data-dir': cfg.dataDir, learner: me.isLearner });
    } else {
      if (!cfg.initialCluster.has(cfg.name)) throw new Error(`--initial-cluster has no entry for --name=${cfg.name}`);
      const initial = [...cfg.initialCluster].map(([name, urls]) => ({ name, urls: urls.map(urlString) }));
      const ids = initial.map((m) => deriveMemberId(m.urls, cfg.initialClusterToken));
      if (new Set(ids).size !== ids.length) throw new Error('--initial-cluster: two members have the same peer URLs');
      mid = ids[initial.findIndex((m) => m.name === cfg.name)]!;
      cid = deriveClusterId(ids);
      peers = ids;
      wal = await Wal.create(walDir, { memberId: mid, clusterId: cid }, walOpts);
      backend.batch(() => {
        const store = new MemberStore(backend);
        initial.forEach((m, i) =>
          store.put({
            id: ids[i]!,
            name: m.name,
            peerUrls: m.urls,
            clientUrls: ids[i] === mid ? cfg.advertiseClientUrls.map(urlString) : [],
            isLearner: false,
          }),
        );
      });
      log.info('starting new member', { 'member-id': mid, 'cluster-id': cid, 'data-dir': cfg.dataDir, members: ids.length });
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
    const stats = new ServerStats();
    const applier = new Applier(store, alarms, lessor, auth, stats);
    const ci = backend.consistentIndex();
    const node = new RawNode({
      id: mid,
      peers,
      storage,
      electionTick: Math.max(2, Math.round(cfg.electionTimeout / cfg.heartbeatInterval)),
      heartbeatTick: 1,
      preVote: cfg.preVote ?? true,
      random: Math.random,
    });
    const server = new EtcdServer(cfg, log, mid, cid, wal, backend, store, node, storage, applier, alarms, members, ci, auth, lessor, stats);
    try {
      await server.startTransport();
    } catch (err) {
      await server.stop();
      throw err;
    }
    server.kick();
    server.every(cfg.heartbeatInterval, () => {
      server.node.tick();
      server.kick();
    });
    server.every(LEASE_EXPIRY_CHECK_MS, () => server.revokeExpiredLeases());
    server.every(500, () => server.expireWaiters());
    // A one-member cluster elects itself within a few milliseconds: be leader before serving, so that the
    // first request is not refused with `no leader`.
    if (members.list().length === 1 || (restarting && cfg.forceNewCluster)) await server.waitForLeader(2 * cfg.electionTimeout);
    return server;
  }

  /** A lone voter need not wait an election timeout to lead: it campaigns once the configuration
   *  entries are applied (Raft refuses to campaign before). */
  private campaignIfAlone(): void {
    if (this.campaignedAlone || this.node.leader !== 0n) return;
    const voters = this.confState.voters;
    if (voters.length !== 1 || voters[0] !== this.memberId) return;
    if (this.node.status().applied < this.node.commitIndex) return;
    this.campaignedAlone = true;
    this.node.campaign();
  }

  private waitForLeader(timeoutMs: number): Promise<void> {
    if (this.knownLeader !== 0n) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const unsubscribe = this.onLeaderChange((_mine, leader) => {
        if (leader !== 0n) done();
      });
      function done(): void {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      }
    });
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private async startTransport(): Promise<void> {
    const t = new PeerTransport(
      this.memberId,
      this.clusterId,
      this.cfg.listenPeerUrls,
      peerTlsFiles(this.cfg),
      {
        onMessage: (m) => {
          if (this.stopped) return;
          try {
            this.node.step(m);
          } catch (err) {
            this.log.warn('dropped a raft message', { from: m.from.toString(16), error: String(err) });
          }
          this.kick();
        },
        onUnreachable: (id) => {
          if (!this.stopped) this.node.reportUnreachable(id);
        },
        onRequest: (op, arg) => this.answerPeer(op, arg),
        isRemoved: (id) => this.members.isRemoved(id),
        onRemoved: () => this.stopRemoved(),
        clusterInfo: () => ClusterInfo.encode({ clusterId: this.clusterId, members: this.members.list() }).finish(),
      },
      this.log,
    );
    this.transport = t;
    await t.listen();
    this.updatePeers();
  }

  /** Tells the transport every member's peer URLs (after bootstrap and membership changes). */
  private updatePeers(): void {
    const peers = new Map<bigint, URL[]>();
    for (const m of this.members.list()) peers.set(m.id, m.peerUrls.map((u) => new URL(u)));
    this.transport?.setPeers(peers);
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
        // the leader's appends may go out while it writes its own WAL
        this.send(rd.messages.slice(0, rd.earlyMessages));
        if (rd.snapshot !== undefined) await this.restoreSnapshot(rd.snapshot);
        // Committed entries this member already holds on disk are applied (and answered) while this
        // Ready's WAL write is in flight: the fsync and the apply overlap instead of taking turns. The
        // rest (entries committed by a quorum before they reached this member's disk) wait for it.
        const durable = this.storage.lastIndex();
        const committed = rd.committedEntries;
        const early = committed.length > 0 && committed[0]!.index <= durable ? splitAt(committed, durable) : 0;
        this.wal.save(rd.hardState, rd.entries);
        const synced = rd.mustSync ? this.wal.sync() : undefined;
        // awaited below; this only keeps a failure from counting as unhandled if the apply throws first
        synced?.catch(() => undefined);
        if (early > 0) this.applyEntries(early === committed.length ? committed : committed.slice(0, early));
        if (synced) await synced;
        if (rd.hardState) this.storage.setHardState(rd.hardState);
        if (rd.entries.length > 0) this.storage.append(rd.entries);
        // votes and acknowledgements only once durable
        this.send(rd.messages.slice(rd.earlyMessages));
        if (early < committed.length) this.applyEntries(early === 0 ? committed : committed.slice(early));
        for (const rs of rd.readStates) this.reads.onReadState(rs);
        this.node.advance();
        this.campaignIfAlone();
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
    this.kick();
  }

  // ---- leadership (the lessor expires leases only on the leader) ----

  /** the leader this member knows now (0n: none, e.g. cut off from a quorum, or stopped) */
  leaderId(): bigint {
    return this.stopped ? 0n : this.node.leader;
  }

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
    if (leader !== 0n && !this.published) this.publish();
    if (leader === this.knownLeader) return;
    // A new leader was elected: proposals that went to the old one were most likely lost with it. Answer
    // them now (`leader changed`) rather than at the request timeout; a client retries, as with etcd's
    // ErrTimeoutDueToLeaderFail. (One of them may still commit: the answer never claims it did not.)
    if (leader !== 0n && this.knownLeader !== 0n) this.failAllWaiters(Errors.LeaderChanged, false);
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
    if (entries.length === 0) return;
    const done: Array<[Waiter, ApplyOutcome]> = [];
    let membersChanged = false;
    const appliedBefore = this.appliedIndex;
    this.backend.batch(() => {
      for (const e of entries) {
        if (e.type === EntryType.ConfChange) {
          // re-applied to Raft even when the backend has it: Raft rebuilds its configuration from the log
          const cc = decodeConfChange(e.data);
          this.confState = this.node.applyConfChange(cc);
          membersChanged = true;
          if (e.index > this.appliedIndex && cc.context.length > 0) {
            const ctx = ConfChangeContext.decode(cc.context);
            this.applyMembership(cc.type, cc.nodeId, ctx.member);
            const w = this.waits.get(ctx.requestId);
            if (w) {
              this.waits.delete(ctx.requestId);
              done.push([w, {}]);
            }
          }
        }
        if (e.index <= this.appliedIndex) continue;
        if (e.type === EntryType.Normal && e.data.length > 0) {
          let req = this.proposedPuts.get(e.data);
          if (req !== undefined) this.proposedPuts.delete(e.data); // the Raft log keeps the entry a while
          else req = InternalRequest.decode(e.data);
          const t0 = process.hrtime.bigint();
          const outcome = req.memberAttributes
            ? this.applyMemberAttributes(req.memberAttributes)
            : req.memberUpdate
              ? this.applyMemberUpdate(req.memberUpdate)
              : this.applier.apply(req, e.index);
          this.noteApplied(req, outcome, Number(process.hrtime.bigint() - t0) / 1e9);
          const w = this.waits.get(req.id);
          if (w) {
            this.waits.delete(req.id);
            done.push([w, outcome]);
          }
        }
        this.appliedIndex = e.index;
        this.appliedTerm = e.term;
      }
      // once per batch: the batch commits as one transaction, so only the last index is ever seen
      if (this.appliedIndex !== appliedBefore) this.backend.setConsistentIndex(this.appliedIndex, this.appliedTerm);
    });
    if (membersChanged) this.updatePeers();
    for (const [w, outcome] of done) w.resolve(outcome);
    if (this.removed) this.stopRemoved();
    this.reads.onApplied(this.appliedIndex);
  }

  /** etcd_server_apply_duration_seconds{version, op, success} and etcd_server_slow_apply_total. */
  private noteApplied(req: InternalRequest, outcome: ApplyOutcome, seconds: number): void {
    if (seconds * 1000 >= SLOW_APPLY_MS) this.stats.slowApplies++;
    this.stats.observe('apply', seconds, { version: 'v3', op: applyOpName(req), success: String(outcome.error === undefined) });
  }

  /** A membership change reached the log: the members database follows Raft's configuration. */
  private applyMembership(type: ConfChangeType, id: bigint, member: MemberRecord | undefined): void {
    switch (type) {
      case ConfChangeType.AddNode:
      case ConfChangeType.AddLearnerNode:
      case ConfChangeType.PromoteLearner: {
        const m = this.members.get(id) ?? member;
        if (m) this.members.put({ ...m, id, isLearner: type === ConfChangeType.AddLearnerNode });
        break;
      }
      case ConfChangeType.RemoveNode:
        this.members.remove(id);
        if (id === this.memberId) this.removed = true;
        break;
    }
  }

  private applyMemberUpdate(u: MemberRecord): ApplyOutcome {
    const m = this.members.get(u.id);
    if (m) this.members.put({ ...m, peerUrls: u.peerUrls });
    this.updatePeers();
    return {};
  }

  /** This member was removed from the cluster: it stops (as etcd does), with a clean exit. */
  private stopRemoved(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.log.warn('the member has been permanently removed from the cluster; stopping', { 'member-id': this.memberId });
    setImmediate(() => process.emit('SIGTERM'));
  }

  private applyMemberAttributes(a: MemberAttributes): ApplyOutcome {
    const m = this.members.get(a.id);
    if (m) this.members.put({ ...m, name: a.name, clientUrls: a.clientUrls });
    return {};
  }

  /** Once there is a leader: publish this member's name and client URLs through the log (as etcd does at
   *  start), so every member lists them. Retried until it applies. */
  private publish(): void {
    if (this.published || this.stopped || this.node.leader === 0n) return;
    this.published = true;
    const attrs = { id: this.memberId, name: this.cfg.name, clientUrls: this.cfg.advertiseClientUrls.map(urlString) };
    this.propose({ memberAttributes: attrs }).then(
      () => {
        this.log.info('published local member to cluster through raft', { 'member-id': this.memberId, name: this.cfg.name });
        this.ready = true;
        this.markReady();
      },
      (err: unknown) => {
        this.log.warn('failed to publish local member; retrying', { error: String(err) });
        this.published = false;
        setTimeout(() => this.publish(), 500).unref();
      },
    );
  }

  /** Makes the backend durable, marks the WAL, releases the WAL segments before it, and compacts the Raft
   *  log in memory (keeping some entries for followers a little behind). */
  private async snapshot(): Promise<void> {
    const index = this.appliedIndex;
    const term = this.appliedTerm;
    const confState = this.confState;
    await this.backend.sync();
    await this.wal.saveSnapshot({ index, term, confState });
    this.storage.createSnapshot(index, confState, new Uint8Array(0));
    const keep = index - (this.cfg.snapshotCatchUpEntries ?? SNAPSHOT_CATCH_UP_ENTRIES);
    if (keep > this.storage.firstIndex()) this.storage.compact(keep);
    await this.wal.releaseTo(index);
    this.snapshotIndex = index;
    this.log.info('saved snapshot', { 'snapshot-index': index });
  }

  private send(msgs: readonly Message[]): void {
    if (!this.transport || msgs.length === 0) return;
    let plain = msgs;
    if (msgs.some((m) => m.type === MessageType.MsgSnap)) {
      plain = msgs.filter((m) => m.type !== MessageType.MsgSnap);
      for (const m of msgs) if (m.type === MessageType.MsgSnap) this.sendSnapshot(m);
    }
    this.stats.heartbeatFailures += this.transport.send(plain);
  }

  /**
   * A follower needs entries this member no longer holds: send it the whole backend instead (as etcd
   * does). The snapshot Raft made names an older index; the copy is taken now, so the message names the
   * index and configuration the copy holds (read back from it). One at a time per follower.
   */
  private sendSnapshot(m: Message): void {
    if (this.snapshotsInFlight.has(m.to)) return;
    this.snapshotsInFlight.add(m.to);
    const file = path.join(this.cfg.dataDir, 'member', 'snap', `send-${m.to.toString(16)}.db`);
    const run = async (): Promise<void> => {
      await this.backend.copyTo(file);
      const copy = Backend.open(file);
      let meta: Snapshot['meta'];
      try {
        const ci = copy.consistentIndex();
        const ms = new MemberStore(copy).list();
        meta = {
          index: ci.index,
          term: ci.term,
          confState: { voters: sortIds(ms.filter((x) => !x.isLearner).map((x) => x.id)), learners: sortIds(ms.filter((x) => x.isLearner).map((x) => x.id)) },
        };
      } finally {
        await copy.close();
      }
      const data = await readFile(file);
      this.log.info('sending database snapshot to member', { to: m.to.toString(16), 'snapshot-index': meta.index, size: data.length });
      this.transport?.send([{ ...m, snapshot: { meta, data } }]);
      if (!this.transport?.isConnected(m.to)) throw new Error('not connected');
    };
    run().then(
      () => this.node.reportSnapshot(m.to, true),
      (err: unknown) => {
        this.log.warn('failed to send database snapshot', { to: m.to.toString(16), error: String(err) });
        this.node.reportSnapshot(m.to, false);
      },
    ).finally(() => {
      this.snapshotsInFlight.delete(m.to);
      rmSync(file, { force: true });
      rmSync(`${file}-lock`, { force: true });
      this.kick();
    });
  }

  /**
   * The leader sent a snapshot: the backend becomes the copy it holds (made durable before the WAL marks
   * the snapshot, so a crash in between leaves a backend ahead of the log, never behind), then every
   * in-memory view of the backend is rebuilt and watchers catch up from it.
   */
  private async restoreSnapshot(snap: Snapshot): Promise<void> {
    const file = path.join(this.cfg.dataDir, 'member', 'snap', `recv-${snap.meta.index}.db`);
    this.log.info('restoring database snapshot from leader', { 'snapshot-index': snap.meta.index, size: snap.data.length });
    this.stats.snapshotsApplying++;
    try {
      await this.restoreSnapshotFile(snap, file);
    } finally {
      this.stats.snapshotsApplying--;
    }
  }

  private async restoreSnapshotFile(snap: Snapshot, file: string): Promise<void> {
    await this.stats.timeAsync('snapshotSave', () => writeFile(file, snap.data));
    await this.backend.replaceWith(file);
    rmSync(`${file}-lock`, { force: true });
    await this.store.reload();
    this.auth.reload();
    this.alarms.reload();
    this.lessor.reload();
    for (const { key, lease } of this.store.takeRestoredLeases()) if (this.lessor.exists(lease)) this.lessor.attach(lease, key);
    const ci = this.backend.consistentIndex();
    this.appliedIndex = ci.index;
    this.appliedTerm = ci.term;
    this.snapshotIndex = ci.index;
    this.confState = snap.meta.confState;
    await this.wal.saveSnapshot(snap.meta);
    this.storage.applySnapshot({ meta: snap.meta, data: new Uint8Array(0) });
    this.watchable.resync();
    this.updatePeers();
    this.reads.onApplied(this.appliedIndex);
    this.log.info('restored database snapshot', { 'applied-index': ci.index });
  }

  /** Fails proposals that waited past the request timeout (lost with a leader change, or no quorum). */
  private expireWaiters(): void {
    const now = Date.now();
    for (const [id, w] of this.waits) {
      if (w.deadline > now) break;
      this.waits.delete(id);
      this.stats.proposalsFailed++;
      w.reject(Errors.Timeout);
    }
  }

  private async propose(req: ProposeRequest): Promise<ApplyOutcome> {
    if (this.stopped) throw Errors.Stopped;
    // the apply loop is far behind what is committed: refuse new work until it catches up (etcd's rule)
    if (this.node.commitIndex - this.appliedIndex > MAX_GAP_BETWEEN_APPLY_AND_COMMIT) throw Errors.TooManyRequests;
    if (req.memberAttributes === undefined) this.checkNotLearner();
    const id = this.requestIds.next();
    let data: Uint8Array;
    const fast = req.put !== undefined ? encodePutProposal(id, req.put, req.authHeader) : undefined;
    if (fast !== undefined) {
      data = fast;
      // applied here, the entry's bytes are the same object: apply skips decoding its own put
      this.proposedPuts.set(fast, { authHeader: undefined, ...req, id });
    } else {
      data = InternalRequest.encode({ authHeader: undefined, ...req, id }).finish();
    }
    if (data.length > this.cfg.maxRequestBytes) throw Errors.RequestTooLarge;
    return new Promise<ApplyOutcome>((resolve, reject) => {
      this.waits.set(id, { resolve, reject, deadline: Date.now() + requestTimeoutMs(this.cfg) });
      try {
        this.node.propose(data);
      } catch (err) {
        this.waits.delete(id);
        this.stats.proposalsFailed++;
        // no leader known (or leadership moving): etcd's clients retry on this
        reject(err instanceof ProposalDroppedError ? Errors.NoLeader : toEtcdError(err));
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

  private failAllWaiters(err: Error, reads = true): void {
    this.stats.proposalsFailed += this.waits.size;
    for (const w of this.waits.values()) w.reject(err);
    this.waits.clear();
    if (reads) this.reads.failAll(err);
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
  /**
   * Waits until this member has applied everything committed when the call was made (batched ReadIndex,
   * confirmed by a quorum): a read after it is linearizable. Serializable reads skip it.
   */
  linearizableBarrier(): Promise<void> {
    this.checkRunning();
    this.checkNotLearner();
    return this.reads.wait().catch((err: unknown) => {
      this.stats.readIndexFailures++;
      throw err;
    });
  }

  /** Raft's commit index (etcd_server_proposals_committed_total), the applied one, proposals waiting. */
  get proposals(): { committed: number; applied: number; pending: number } {
    return { committed: this.node.commitIndex, applied: this.appliedIndex, pending: this.waits.size };
  }

  /** Reads the local state (serializable); the KV service calls linearizableBarrier() first unless the
   *  client asked for a serializable read. */
  range(r: RangeRequest): RangeResponse {
    this.checkRunning();
    const t0 = process.hrtime.bigint();
    try {
      const res = executeRange(this.store, r);
      res.header = this.header(Number(res.header?.revision ?? 0n));
      return res;
    } catch (err) {
      throw toEtcdError(err);
    } finally {
      this.stats.countTxn(1, 0, 0);
      this.stats.observe('range', Number(process.hrtime.bigint() - t0) / 1e9);
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
      if (!isTxnSerializable(r)) await this.linearizableBarrier();
      this.checkRunning();
      try {
        const path = comparePath(this.store, r);
        checkTxnOps(this.store, r, path, this.lessor);
        const rev = this.store.currentRevision;
        let ranges = 0;
        res = executeTxn(
          {
            rev,
            changes: 0,
            range: (k, e, o) => {
              ranges++;
              return this.store.range(k, e, o);
            },
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
        this.stats.countTxn(ranges, 0, 0);
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
  async leaseRenew(id: bigint): Promise<number> {
    this.checkRunning();
    // only the leader keeps time for leases: a follower asks it (etcd forwards keep-alives the same way)
    if (!this.isLeader()) return Number(await this.askLeader(PeerOp.Renew, id));
    return this.lessor.renew(id) ?? 0;
  }

  /** An unknown lease answers TTL -1 (not an error), as etcd's API layer does. */
  async leaseTimeToLive(r: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    this.checkRunning();
    const remaining = this.isLeader() ? this.lessor.remaining(r.ID) : Number(await this.askLeader(PeerOp.Remaining, r.ID));
    const l = this.lessor.lookup(r.ID);
    if (!l || remaining === -1) return { header: this.header(), ID: r.ID, TTL: -1n, grantedTTL: 0n, keys: [] };
    const keys = r.keys ? this.leaseKeys(r.ID) : [];
    return { header: this.header(), ID: r.ID, TTL: BigInt(remaining), grantedTTL: BigInt(l.ttl), keys };
  }

  /** Asks the leader over the peer connection; tries again (3 times in all) while leadership moves. */
  private async askLeader(op: PeerOp, arg: bigint): Promise<bigint> {
    for (let attempt = 1; ; attempt++) {
      const leader = this.node.leader;
      if (leader === 0n || !this.transport) throw Errors.NoLeader;
      if (leader === this.memberId) return this.answerPeer(op, arg);
      try {
        return await this.transport.request(leader, op, arg);
      } catch (err) {
        if (attempt >= 3) {
          this.log.warn('request to the leader failed', { leader: leader.toString(16), error: String(err) });
          throw Errors.LeaderChanged;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** A follower's request, answered here as the leader (`arg`: a lease id, or a member id; 64 bits). */
  private async answerPeer(op: PeerOp, arg: bigint): Promise<bigint> {
    if (!this.isLeader()) throw Errors.NotLeader;
    const lease = BigInt.asIntN(64, arg);
    if (op === PeerOp.Renew) return BigInt(this.lessor.renew(lease) ?? 0);
    if (op === PeerOp.Remaining) return BigInt(this.lessor.remaining(lease));
    if (op === PeerOp.LearnerReady) return this.learnerReady(BigInt.asUintN(64, arg)) ? 1n : 0n;
    throw new Error(`unknown peer request ${String(op)}`);
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
    // etcd 3.6 answers with the response header (3.4 without: its applier built the response bare)
    const answer = await this.proposeAndWait<AlarmResponse>({ alarm: r });
    return { ...answer, header: this.header() };
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
      isLearner: this.isLearner,
      storageVersion: CLUSTER_VERSION,
      dbSizeQuota: BigInt(this.cfg.quotaBackendBytes),
      downgradeInfo: { enabled: false, targetVersion: '' },
    };
  }

  async defragment(): Promise<void> {
    this.checkRunning();
    this.log.info('defragmenting', { 'current-db-size-bytes': this.backend.size() });
    this.stats.defragsInFlight++;
    try {
      await this.stats.timeAsync('defrag', () => this.backend.defragment());
    } finally {
      this.stats.defragsInFlight--;
    }
    this.log.info('finished defragmenting', { 'current-db-size-bytes': this.backend.size() });
  }

  hash(): HashResponse {
    this.checkRunning();
    return { header: this.header(), hash: this.stats.time('hash', () => this.backend.hash()) };
  }

  hashKV(revision: number): HashKVResponse {
    this.checkRunning();
    try {
      const h = this.stats.time('hashRev', () => this.store.hashKV(revision));
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

  // ---- membership (the Cluster service) ----

  get isLearner(): boolean {
    // a member that joined as a learner knows the configuration only once the leader's log or snapshot
    // reached it; until then the members it learned when joining say what it is (as etcd's member store)
    if (this.confState.voters.length === 0 && this.confState.learners.length === 0) return this.members.get(this.memberId)?.isLearner ?? false;
    return this.confState.learners.includes(this.memberId);
  }

  /** etcd refuses what a learner cannot serve: writes, linearizable reads, membership changes. */
  checkNotLearner(): void {
    if (this.isLearner) throw Errors.NotSupportedForLearner;
  }

  async memberAdd(r: MemberAddRequest): Promise<MemberAddResponse> {
    this.checkRunning();
    this.checkNotLearner();
    const urls = validPeerUrls(r.peerURLs);
    const current = this.members.list();
    if (current.some((m) => m.peerUrls.some((u) => urls.includes(u)))) throw Errors.PeerURLExist;
    if (r.isLearner) {
      if (current.filter((m) => m.isLearner).length >= this.cfg.maxLearners) throw Errors.TooManyLearners;
    } else if (this.cfg.strictReconfigCheck !== false) {
      // etcd's strict reconfiguration check (--strict-reconfig-check): enough voters must have started,
      // and all be connected
      const voters = current.filter((m) => !m.isLearner);
      const started = voters.filter((m) => m.name !== '').length;
      if (!(started === 1 && voters.length === 1) && started < quorum(voters.length + 1)) throw Errors.MemberNotEnoughStarted;
      if (voters.some((m) => m.id !== this.memberId && !this.transport?.isConnected(m.id))) throw Errors.Unhealthy;
    }
    const id = deriveMemberId(urls, `${this.cfg.initialClusterToken}/${Date.now()}/${Math.random()}`);
    const member: MemberRecord = { id, name: '', peerUrls: urls, clientUrls: [], isLearner: r.isLearner };
    await this.proposeMembership(r.isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, member);
    return { header: this.clusterHeader(), member: toApiMember(member), members: this.memberList() };
  }

  async memberRemove(id: bigint): Promise<MemberRemoveResponse> {
    this.checkRunning();
    this.checkNotLearner();
    const m = this.members.get(id);
    if (!m) throw Errors.MemberNotFound;
    if (!m.isLearner && this.cfg.strictReconfigCheck !== false) {
      const voters = this.members.list().filter((v) => !v.isLearner);
      const startedLeft = voters.filter((v) => v.id !== id && v.name !== '').length;
      if (startedLeft < quorum(voters.length - 1)) throw Errors.MemberNotEnoughStarted;
      // a member that is down is safe to remove; otherwise the rest must still make a quorum
      const connected = (v: MemberRecord): boolean => v.id === this.memberId || this.transport?.isConnected(v.id) === true;
      if (connected(m) && voters.filter(connected).length - 1 < quorum(voters.length - 1)) throw Errors.Unhealthy;
    }
    await this.proposeMembership(ConfChangeType.RemoveNode, id, undefined);
    return { header: this.clusterHeader(), members: this.memberList() };
  }

  async memberPromote(id: bigint): Promise<MemberPromoteResponse> {
    this.checkRunning();
    this.checkNotLearner();
    const m = this.members.get(id);
    if (!m) throw Errors.MemberNotFound;
    if (!m.isLearner) throw Errors.MemberNotLearner;
    const ready = this.isLeader() ? this.learnerReady(id) : (await this.askLeader(PeerOp.LearnerReady, id)) === 1n;
    if (!ready) throw Errors.LearnerNotReady;
    await this.proposeMembership(ConfChangeType.AddNode, id, m);
    this.stats.learnerPromotes++;
    return { header: this.clusterHeader(), members: this.memberList() };
  }

  async memberUpdate(id: bigint, peerURLs: readonly string[]): Promise<MemberUpdateResponse> {
    this.checkRunning();
    this.checkNotLearner();
    const urls = validPeerUrls(peerURLs);
    const m = this.members.get(id);
    if (!m) throw Errors.MemberNotFound;
    if (this.members.list().some((o) => o.id !== id && o.peerUrls.some((u) => urls.includes(u)))) throw Errors.PeerURLExist;
    const outcome = await this.propose({ memberUpdate: { ...m, peerUrls: urls } });
    if (outcome.error !== undefined) throw outcome.error;
    return { header: this.clusterHeader(), members: this.memberList() };
  }

  /** On the leader: a learner is ready to be promoted once it holds 90% of the leader's log (etcd's rule). */
  private learnerReady(id: bigint): boolean {
    const progress = this.node.status().progress;
    const leader = progress.get(this.memberId)?.match ?? 0;
    const learner = progress.get(id)?.match ?? 0;
    return learner >= leader * 0.9 && learner > 0;
  }

  private proposeMembership(type: ConfChangeType, nodeId: bigint, member: MemberRecord | undefined): Promise<ApplyOutcome> {
    const requestId = this.requestIds.next();
    const context = ConfChangeContext.encode({ requestId, member }).finish();
    return new Promise<ApplyOutcome>((resolve, reject) => {
      this.waits.set(requestId, { resolve, reject, deadline: Date.now() + requestTimeoutMs(this.cfg) });
      try {
        this.node.proposeConfChange({ type, nodeId, context });
      } catch (err) {
        this.waits.delete(requestId);
        // another change is still being applied (one at a time), or no leader: as etcd, the proposal is dropped
        reject(err instanceof ProposalDroppedError ? (this.node.leader === 0n ? Errors.NoLeader : Errors.ProposalDropped) : toEtcdError(err));
        return;
      }
      this.kick();
    });
  }

  /** Hands leadership to voter `target` and waits until it leads (etcd: MoveLeader, leader only). */
  async moveLeader(target: bigint): Promise<void> {
    this.checkRunning();
    if (!this.isLeader()) throw Errors.NotLeader;
    if (!this.confState.voters.includes(target)) throw Errors.BadLeaderTransferee;
    if (target === this.memberId) return;
    this.node.transferLeader(target);
    this.kick();
    const deadline = Date.now() + requestTimeoutMs(this.cfg);
    while (this.node.leader !== target) {
      if (Date.now() > deadline || this.stopped) throw Errors.TimeoutLeaderTransfer;
      await new Promise((r) => setTimeout(r, this.cfg.heartbeatInterval));
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

  /** Whether this member has published itself to the cluster (etcd says it is ready only then). */
  get isReady(): boolean {
    return this.ready;
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
    for (const t of this.timers) clearInterval(t);
    await this.transport?.close();
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

function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** Peer URLs as etcd accepts them in MemberAdd/MemberUpdate: http(s)://host:port, nothing else. */
function validPeerUrls(urls: readonly string[]): string[] {
  if (urls.length === 0) throw Errors.MemberBadURLs;
  return urls.map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw Errors.MemberBadURLs;
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.port === '' || (parsed.pathname !== '/' && parsed.pathname !== '')) {
      throw Errors.MemberBadURLs;
    }
    return urlString(parsed);
  });
}

function peerTlsFiles(cfg: ServerConfig): PeerTlsFiles {
  return {
    certFile: cfg.tls.peerCertFile,
    keyFile: cfg.tls.peerKeyFile,
    clientCertFile: cfg.tls.peerClientCertFile,
    clientKeyFile: cfg.tls.peerClientKeyFile,
    trustedCaFile: cfg.tls.peerTrustedCaFile,
    clientCertAuth: cfg.tls.peerClientCertAuth,
    crlFile: cfg.tls.peerCrlFile,
    allowedCn: cfg.tls.peerAllowedCn,
    allowedHostnames: cfg.tls.peerAllowedHostnames,
    ciphers: cfg.tls.ciphers,
    minVersion: cfg.tls.minVersion,
    maxVersion: cfg.tls.maxVersion,
    insecureSkipVerify: cfg.tls.peerSelfSigned,
  };
}

/** A read-only txn whose every range is serializable needs no ReadIndex (etcd's isTxnSerializable). */
function isTxnSerializable(r: TxnRequest): boolean {
  for (const op of [...r.success, ...r.failure]) {
    if (op.requestRange) {
      if (!op.requestRange.serializable) return false;
    } else if (op.requestTxn) {
      if (!isTxnSerializable(op.requestTxn)) return false;
    }
  }
  return true;
}

function txnCost(r: TxnRequest): number {
  let cost = 0;
  for (const op of [...r.success, ...r.failure]) {
    if (op.requestPut) cost += KV_OVERHEAD + op.requestPut.key.length + op.requestPut.value.length;
    else if (op.requestTxn) cost += txnCost(op.requestTxn);
  }
  return cost;
}

/** How many of `entries` (consecutive, ascending) have an index ≤ `last`. */
function splitAt(entries: readonly Entry[], last: number): number {
  const n = last - entries[0]!.index + 1;
  return n >= entries.length ? entries.length : n;
}
