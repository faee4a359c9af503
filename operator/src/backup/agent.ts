// The backup agent: one per backed-up cluster, and one writer per chain (the caller holds a Lease and
// answers `mayWrite`). The store is the source of truth: on start the agent lists the chain of the
// cluster's current id and goes on from where it ends (a first full snapshot when there is none), never
// from anything it remembers. Then, side by side:
//   - the tail (tail.ts) writes every revision, in order, as delta objects (delta-writer below);
//   - full snapshots on the cron schedule (full-snapshot.ts), and on request;
//   - retention after each full.
// A compaction that overtakes the tail forces a full at once and is reported (a hole no restore reaches).
// Problems are reported by area with CamelCase reasons; every operation is retried with backoff.
import { analyzeChain, retentionVictims, type ChainView, type RetentionPolicy } from '../../../etcd-node/src/backup/chain.js';
import type { BackupKeyring } from '../../../etcd-node/src/backup/keys.js';
import { chainRoot, clusterIdHex, parseName, type ChainLocation, type DeltaRef, type ObjectRef } from '../../../etcd-node/src/backup/names.js';
import type { Compression } from '../../../etcd-node/src/backup/object-format.js';
import { readHeader } from '../../../etcd-node/src/backup/read-objects.js';
import type { ObjectStore } from '../../../etcd-node/src/backup/store/store.js';
import type { Logger } from '../runtime/log.js';
import type { AgentMetrics } from './agent-metrics.js';
import { ChainConflictError, writeDelta } from './delta-writer.js';
import type { EtcdSource } from './etcd-source.js';
import { takeFullSnapshot, type FullResult } from './full-snapshot.js';
import { LeaseTracker } from './lease-tracker.js';
import { problemOf, type Problem, type ProblemArea } from './problems.js';
import type { FullSchedule } from './schedule.js';
import { Tail, type TailBatch } from './tail.js';

export interface AgentConfig {
  source: EtcdSource;
  store: ObjectStore;
  location: ChainLocation;
  /** undefined: objects are stored in plaintext (only when the spec disables encryption) */
  keys: BackupKeyring | undefined;
  compression: Compression;
  schedule: FullSchedule;
  deltaPeriodMs: number;
  deltaMaxBytes: number;
  retention: RetentionPolicy;
  scratchDir: string;
  /** the revision a snapshot file holds (bbolt reader) */
  snapshotRevision: (file: string) => Promise<number>;
  log: Logger;
  metrics?: AgentMetrics;
  /** false once this agent no longer holds the writer's Lease: it then writes nothing */
  mayWrite?: () => boolean;
  /** called when the report changed */
  onReport?: (r: AgentReport) => void;
  /** what a user should see (Kubernetes Events in the operator) */
  onEvent?: (type: 'Normal' | 'Warning', reason: string, message: string) => void;
  now?: () => number;
}

export interface AgentReport {
  clusterId?: string;
  lastFullSnapshot?: { revision: number; time: number; object: string; size: number; sha256: string };
  lastDelta?: { fromRevision: number; toRevision: number; time: number; object: string };
  latestRecoverable?: { revision: number; time: number };
  objects: number;
  bytes: number;
  gaps: Array<{ fromRevision: number; toRevision: number }>;
  tail: { running: boolean; endpoint?: string; lagRevisions: number; lagSeconds: number };
  nextFullSnapshot?: number;
  /** problems now, newest first; empty when all is well */
  problems: Problem[];
}

/** a tail that cannot watch is reported only after this long (a member restart is not a problem) */
const TAIL_TROUBLE_GRACE_MS = 20_000;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
const STALE_UPLOAD_MS = 6 * 3600_000;

export class KeyMismatchError extends Error {
  readonly code = 'EncryptionKeyMismatch';
  constructor(message: string) {
    super(message);
    this.name = 'KeyMismatchError';
  }
}

/** Waits `ms`, or less when `signal` aborts. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((r) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      r();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export class BackupAgent {
  private readonly now: () => number;
  private readonly tail: Tail;
  private readonly leases: LeaseTracker;
  private clusterId = 0n;
  private chainId: string | undefined;
  /** the current chain's objects in the store, by name (kept in step with what this agent writes and deletes) */
  private objects = new Map<string, ObjectRef>();
  private view: ChainView = analyzeChain([]);
  private lastFull: FullResult | undefined;
  private lastDelta: DeltaRef | undefined;
  /** the last revision in the store (where the tail goes on) */
  private storeEnd = 0;
  private readonly problems = new Map<ProblemArea, Problem>();
  private tailTroubleSince = 0;
  private hole: { from: number; compactRevision: number } | undefined;
  private fullRunning: Promise<FullResult> | undefined;
  private stopping = new AbortController();
  private fullTimer: NodeJS.Timeout | undefined;
  private nextFull: number | undefined;
  private headTimer: NodeJS.Timeout | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly cfg: AgentConfig) {
    this.now = cfg.now ?? Date.now;
    this.leases = new LeaseTracker(cfg.source);
    this.tail = new Tail(
      cfg.source,
      { deltaPeriodMs: cfg.deltaPeriodMs, deltaMaxBytes: cfg.deltaMaxBytes, now: this.now },
      {
        flush: (b) => this.flush(b),
        compacted: (from, compactRev) => this.onCompacted(from, compactRev),
        trouble: (err) => this.onTailTrouble(err),
        healthy: () => this.onTailHealthy(),
      },
      cfg.log,
    );
    cfg.metrics?.readLagFrom(() => this.tail.lag());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.resumeWithRetry();
  }

  /** Stops: the tail writes what it holds (one try), a running full is cancelled. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.fullTimer);
    clearInterval(this.headTimer);
    this.stopping.abort();
    await this.loop;
    await this.fullRunning?.catch(() => undefined);
    await this.tail.stop(true);
  }

  /** A full snapshot now (or the one already running); resolves when it is in the store. */
  requestFull(reason: string): Promise<FullResult> {
    return this.runFull(reason);
  }

  report(): AgentReport {
    const lag = this.tail.lag();
    const latest = this.view.latest;
    const now = this.now();
    return {
      ...(this.chainId ? { clusterId: this.chainId } : {}),
      ...(this.lastFull
        ? { lastFullSnapshot: { revision: this.lastFull.ref.revision, time: this.lastFull.ref.time, object: this.lastFull.ref.name, size: this.lastFull.ref.size, sha256: this.lastFull.sha256 } }
        : {}),
      ...(this.lastDelta ? { lastDelta: { fromRevision: this.lastDelta.from, toRevision: this.lastDelta.to, time: this.lastDelta.time, object: this.lastDelta.name } } : {}),
      ...(latest ? { latestRecoverable: { revision: latest.revision, time: latest.time } } : {}),
      objects: this.objects.size,
      bytes: [...this.objects.values()].reduce((n, o) => n + o.size, 0),
      gaps: this.view.gaps.map((g) => ({ fromRevision: g.from, toRevision: g.to })),
      tail: { running: this.tail.isRunning, ...(this.tail.endpoint ? { endpoint: this.tail.endpoint } : {}), lagRevisions: lag.revisions, lagSeconds: lag.seconds },
      ...(this.nextFull !== undefined ? { nextFullSnapshot: this.nextFull } : {}),
      problems: [...this.problems.values()].filter((p) => p.area !== 'tail' || now - p.since >= TAIL_TROUBLE_GRACE_MS).sort((a, b) => b.since - a.since),
    };
  }

  // ---- resume: the chain as the store holds it ----

  private async resumeWithRetry(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (this.running) {
      try {
        await this.resume();
        return;
      } catch (err) {
        this.cfg.metrics?.failures.inc({ operation: 'resume' });
        this.setProblem(problemOf(err, 'resume'));
        this.cfg.log.warn('backup agent: cannot start the chain; retrying', { error: errText(err), 'retry-ms': delay });
        await sleep(delay, this.stopping.signal);
        delay = Math.min(RETRY_MAX_MS, delay * 2);
      }
    }
  }

  private async resume(): Promise<void> {
    await this.cfg.store.check();
    this.clearProblem('store');
    const head = await this.cfg.source.head();
    this.clearProblem('etcd');
    this.clusterId = head.clusterId;
    this.chainId = clusterIdHex(head.clusterId);
    await this.refreshListing();
    await this.checkKey();
    // nothing else writes this chain (the Lease): an incomplete upload is a dead agent's
    await this.cfg.store.cleanup(chainRoot(this.cfg.location, this.chainId), 0);
    this.clearProblem('resume');
    this.cfg.log.info('backup agent: resuming the chain', {
      'cluster-id': this.chainId,
      fulls: this.view.fulls.length,
      deltas: this.view.deltas.length,
      ...(this.view.tailEnd !== undefined ? { 'chain-end': this.view.tailEnd } : {}),
    });
    this.headTimer = setInterval(() => void this.checkHead(), 30_000);
    if (this.view.fulls.length === 0 || this.view.tailEnd === undefined) {
      await this.runFull('first');
    } else {
      this.storeEnd = this.view.tailEnd;
      this.leases.reset();
      this.tail.start(this.storeEnd);
    }
    this.scheduleNextFull();
    this.emitReport();
  }

  /**
   * The chain's newest object must decrypt with the keys given: otherwise (a key Secret replaced without
   * keeping the old key) the chain would go on in objects no single set of keys restores.
   */
  private async checkKey(): Promise<void> {
    const newest = [...this.objects.values()].sort((a, b) => (a.kind === 'full' ? a.revision : a.to) - (b.kind === 'full' ? b.revision : b.to) || a.time - b.time).at(-1);
    if (!newest || !this.cfg.keys || !newest.encrypted) return;
    const h = await readHeader(this.cfg.store, newest);
    const id = h.encryption?.keyId;
    if (id !== undefined && !this.cfg.keys.byId.has(id)) {
      throw new KeyMismatchError(
        `the chain's newest object ${newest.name} is encrypted with key ${id}, which the keys given do not hold (${[...this.cfg.keys.byId.keys()].join(', ')}): keep the old key beside the new one (an entry key.<name>) so the chain stays restorable; nothing is written until then`,
      );
    }
  }

  /** Lists the current chain and rebuilds the view from the names alone. */
  private async refreshListing(): Promise<void> {
    const root = chainRoot(this.cfg.location, this.chainId!);
    const listed = await this.cfg.store.list(root);
    this.objects = new Map();
    for (const o of listed) {
      const ref = parseName(o.name, o.size);
      if (ref && ref.clusterId === this.chainId) this.objects.set(o.name, ref);
    }
    this.recompute();
    const fulls = this.view.fulls;
    const newest = fulls[fulls.length - 1];
    if (newest && this.lastFull?.ref.name !== newest.name) this.lastFull = { ref: newest, sha256: this.lastFull?.sha256 ?? '', snapshotBytes: 0, endpoint: '' };
    const deltas = this.view.deltas;
    this.lastDelta = deltas.length > 0 ? deltas.reduce((a, b) => (b.to > a.to ? b : a)) : undefined;
  }

  private recompute(): void {
    this.view = analyzeChain([...this.objects.values()]);
    const m = this.cfg.metrics;
    if (!m) return;
    m.objects.set(this.objects.size);
    m.bytes.set([...this.objects.values()].reduce((n, o) => n + o.size, 0));
    m.gaps.set(this.view.gaps.length);
    if (this.view.latest) {
      m.latestRecoverableRevision.set(this.view.latest.revision);
      m.latestRecoverableTime.set(this.view.latest.time / 1000);
    }
  }

  /** Every 30 s: the cluster is still the one this chain is of (a restore makes a new cluster id). */
  private async checkHead(): Promise<void> {
    try {
      const head = await this.cfg.source.head();
      if (this.running && head.clusterId !== this.clusterId) {
        this.cfg.log.warn('backup agent: the cluster id changed; starting a new chain', { was: this.chainId, now: clusterIdHex(head.clusterId) });
        this.cfg.onEvent?.('Normal', 'NewChain', `the cluster's id changed from ${this.chainId} to ${clusterIdHex(head.clusterId)}: starting a new chain`);
        await this.restart();
      }
    } catch {
      // the tail reports an unreachable cluster
    }
  }

  private async restart(): Promise<void> {
    clearTimeout(this.fullTimer);
    clearInterval(this.headTimer);
    await this.tail.stop(false);
    if (!this.running) return;
    this.loop = this.resumeWithRetry();
  }

  // ---- full snapshots ----

  private scheduleNextFull(): void {
    clearTimeout(this.fullTimer);
    if (!this.running) return;
    const at = this.cfg.schedule.next(this.now());
    this.nextFull = at;
    // setTimeout takes at most 2^31-1 ms: far schedules re-arm
    this.fullTimer = setTimeout(() => {
      if (this.now() + 50 < at) {
        this.scheduleNextFull();
        return;
      }
      this.runFullWithRetry('scheduled');
    }, Math.min(2 ** 31 - 1, Math.max(0, at - this.now())));
  }

  private runFullWithRetry(reason: string, attempt = 0): void {
    this.runFull(reason).then(
      () => this.scheduleNextFull(),
      (err: unknown) => {
        if (!this.running) return;
        const delay = Math.min(10 * 60_000, 30_000 * 2 ** attempt);
        this.cfg.log.warn('backup agent: full snapshot failed; retrying', { error: errText(err), 'retry-ms': delay });
        clearTimeout(this.fullTimer);
        this.fullTimer = setTimeout(() => this.runFullWithRetry(reason, attempt + 1), delay);
      },
    );
  }

  private runFull(reason: string): Promise<FullResult> {
    if (this.fullRunning) return this.fullRunning;
    const p = this.doFull(reason).finally(() => {
      this.fullRunning = undefined;
    });
    this.fullRunning = p;
    return p;
  }

  private async doFull(reason: string): Promise<FullResult> {
    if (this.chainId === undefined) throw new Error('backup agent: not started');
    if (this.cfg.mayWrite && !this.cfg.mayWrite()) throw new ChainConflictError('this agent no longer holds the writer Lease');
    const started = this.now();
    let r: FullResult;
    try {
      r = await takeFullSnapshot({ ...this.cfg, now: this.now }, this.clusterId, this.stopping.signal);
    } catch (err) {
      this.cfg.metrics?.failures.inc({ operation: 'full' });
      this.setProblem(problemOf(err, 'snapshot'));
      this.cfg.onEvent?.('Warning', 'FullSnapshotFailed', `full snapshot (${reason}) failed: ${errText(err)}`);
      this.emitReport();
      throw err;
    }
    this.clearProblem('snapshot');
    this.objects.set(r.ref.name, r.ref);
    this.lastFull = r;
    this.recompute();
    const m = this.cfg.metrics;
    m?.uploadedBytes.inc({ kind: 'full' }, r.ref.size);
    m?.uploadedObjects.inc({ kind: 'full' });
    m?.lastFull.set(r.ref.time / 1000);
    m?.lastFullRevision.set(r.ref.revision);
    this.cfg.log.info('backup agent: full snapshot stored', {
      reason,
      revision: r.ref.revision,
      object: r.ref.name,
      'snapshot-bytes': r.snapshotBytes,
      'object-bytes': r.ref.size,
      from: r.endpoint,
      'took-ms': this.now() - started,
    });
    this.cfg.onEvent?.('Normal', 'FullSnapshot', `full snapshot at revision ${r.ref.revision} (${reason}): ${r.ref.name}, ${r.ref.size} bytes`);
    if (!this.tail.isRunning) {
      // the chain starts (or starts again after a hole) at this full
      if (this.hole) {
        const msg = `revisions ${this.hole.from}–${r.ref.revision - 1} cannot be restored: compaction at revision ${this.hole.compactRevision} removed them before the tail read them; a full snapshot at revision ${r.ref.revision} was taken at once`;
        this.setProblem({ area: 'chain', reason: 'TailCompacted', message: msg, since: this.now() });
        this.cfg.onEvent?.('Warning', 'TailCompacted', msg);
      }
      this.storeEnd = r.ref.revision;
      this.leases.reset();
      this.tail.start(r.ref.revision);
    } else if (reason === 'scheduled' && this.problems.get('chain')?.reason === 'TailCompacted') {
      // a scheduled full after the hole: the chain has been whole for a full period
      this.clearProblem('chain');
      this.hole = undefined;
    }
    this.emitReport();
    await this.retention().catch((err: unknown) => {
      this.cfg.metrics?.failures.inc({ operation: 'retention' });
      this.cfg.log.warn('backup agent: retention failed', { error: errText(err) });
    });
    return r;
  }

  private async retention(): Promise<void> {
    await this.refreshListing();
    const victims = retentionVictims(this.view, this.cfg.retention, this.now());
    // fulls first: an interrupted pass leaves deltas no full reaches, which the next pass deletes
    victims.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'full' ? -1 : 1));
    for (const v of victims) {
      await this.cfg.store.delete(v.name);
      this.objects.delete(v.name);
      this.cfg.metrics?.deletedObjects.inc();
    }
    if (victims.length > 0) {
      this.cfg.log.info('backup agent: retention deleted objects', { objects: victims.length, fulls: victims.filter((v) => v.kind === 'full').length });
    }
    await this.cfg.store.cleanup(chainRoot(this.cfg.location, this.chainId!), STALE_UPLOAD_MS);
    this.recompute();
    this.emitReport();
  }

  // ---- the tail's side ----

  private async flush(batch: TailBatch): Promise<void> {
    try {
      if (this.cfg.mayWrite && !this.cfg.mayWrite()) throw new ChainConflictError('this agent no longer holds the writer Lease');
      if (batch.from !== this.storeEnd + 1) throw new ChainConflictError(`the tail's next object starts at revision ${batch.from}, the chain ends at ${this.storeEnd}`);
      const ref = await writeDelta(
        { store: this.cfg.store, location: this.cfg.location, keys: this.cfg.keys, compression: this.cfg.compression, leases: this.leases },
        this.clusterId,
        batch,
        this.lastDelta,
      );
      this.objects.set(ref.name, ref);
      this.lastDelta = ref;
      this.storeEnd = ref.to;
      this.recompute();
      const m = this.cfg.metrics;
      m?.uploadedBytes.inc({ kind: 'delta' }, ref.size);
      m?.uploadedObjects.inc({ kind: 'delta' });
      m?.lastDelta.set(ref.time / 1000);
      this.clearProblem('store');
      this.clearProblem('delta');
      this.cfg.log.debug('backup agent: delta stored', { from: ref.from, to: ref.to, bytes: ref.size });
      await this.dropUnneededDelta(ref);
      this.emitReport();
    } catch (err) {
      this.cfg.metrics?.failures.inc({ operation: 'delta' });
      this.setProblem(problemOf(err, 'delta'));
      this.emitReport();
      if (err instanceof ChainConflictError) {
        this.cfg.onEvent?.('Warning', 'ChainConflict', err.message);
        void this.restart();
      }
      throw err;
    }
  }

  /**
   * A tail that lags behind the fulls (a slow upload, a busy member) can store a delta that ends at or
   * before the oldest full in the store, after the retention pass of a newer full has listed the chain:
   * no full reaches it, so it goes at once rather than at the next full's retention.
   */
  private async dropUnneededDelta(ref: DeltaRef): Promise<void> {
    const oldest = this.view.fulls[0];
    if (!oldest || ref.to > oldest.revision) return;
    try {
      await this.cfg.store.delete(ref.name);
      this.objects.delete(ref.name);
      this.cfg.metrics?.deletedObjects.inc();
      this.recompute();
      this.cfg.log.debug('backup agent: deleted a delta no full needs', { object: ref.name, 'oldest-full': oldest.revision });
    } catch (err) {
      // the next retention pass deletes it
      this.cfg.metrics?.failures.inc({ operation: 'retention' });
      this.cfg.log.warn('backup agent: cannot delete a delta no full needs', { object: ref.name, error: errText(err) });
    }
  }

  private onCompacted(from: number, compactRevision: number): void {
    this.hole = { from, compactRevision };
    this.cfg.metrics?.failures.inc({ operation: 'tail' });
    this.setProblem({ area: 'chain', reason: 'TailCompacted', message: `revisions from ${from} on were compacted (at ${compactRevision}) before the tail read them; taking a full snapshot`, since: this.now() });
    this.emitReport();
    this.runFullWithRetry('compaction');
  }

  private onTailTrouble(err: Error): void {
    if (this.tailTroubleSince === 0) this.tailTroubleSince = this.now();
    this.cfg.log.warn('backup agent: the tail lost its watch; opening it again', { error: err.message });
    this.problems.set('tail', { area: 'tail', reason: 'EtcdUnreachable', message: err.message, since: this.tailTroubleSince });
    this.emitReport();
  }

  private onTailHealthy(): void {
    this.tailTroubleSince = 0;
    this.clearProblem('tail');
  }

  // ---- problems and reports ----

  private setProblem(p: Problem): void {
    const was = this.problems.get(p.area);
    this.problems.set(p.area, was && was.reason === p.reason ? { ...p, since: was.since } : p);
    this.emitReport();
  }

  private clearProblem(area: ProblemArea): void {
    if (this.problems.delete(area)) this.emitReport();
  }

  private emitReport(): void {
    this.cfg.onReport?.(this.report());
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

