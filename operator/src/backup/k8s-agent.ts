// `etcd-operator backup-agent --namespace NS --backup NAME`: the agent of one EtcdBackup, as the operator
// runs it (a Deployment of one pod, Recreate) or by hand. It holds the Lease of the chain it writes
// (chainLease: one per store, prefix and cluster) before it writes anything, so at most one agent writes a
// chain; a spec that moves the chain elsewhere makes it exit, to start again under the new Lease. It reads its configuration from the EtcdBackup
// and the Secrets it names every few seconds and starts over when any of it changed; it writes the
// chain's state into the EtcdBackup's status (at most every 2 s, only when it changed), records Events,
// and takes a full snapshot when the annotation etcdts.dev/snapshot-now gets a new value.
import { mkdirSync, statSync } from 'node:fs';
import type { ObjectStore } from '../../../etcd-node/src/backup/store/store.js';
import { GROUP, VERSION, type Condition } from '../api/etcd-cluster.js';
import { etcdBackupSpec, SNAPSHOT_NOW_ANNOTATION, type EtcdBackup, type EtcdBackupStatus } from '../api/etcd-backup.js';
import { chainLease } from '../resources/backup-agent.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Kube } from '../runtime/kube.js';
import { LeaderElector } from '../runtime/leader-election.js';
import type { Logger } from '../runtime/log.js';
import { BackupAgent, type AgentReport } from './agent.js';
import { ConfigProblem, resolveAgent, type ResolvedAgent } from './agent-config.js';
import type { AgentMetrics } from './agent-metrics.js';
import { EtcdSource } from './etcd-source.js';
import { openStore } from '../../../etcd-node/src/backup/store/open-store.js';
import { settleConditions } from '../runtime/conditions.js';

export interface K8sAgentOptions {
  kube: Kube;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  metrics: AgentMetrics;
  events: EventRecorder;
  scratchDir: string;
  volumeMount: string;
  snapshotRevision: (file: string) => Promise<number>;
  /** resolves when the process is asked to stop */
  stopped: Promise<void>;
  pollMs?: number;
}

const STATUS_MIN_INTERVAL_MS = 2000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Runs until stopped (0), the EtcdBackup is deleted (0), or the Lease is lost (1). */
export async function runK8sAgent(o: K8sAgentOptions): Promise<number> {
  const path = `/apis/${GROUP}/${VERSION}/namespaces/${o.namespace}/etcdbackups/${o.name}`;
  const log = o.log.with({ etcdbackup: `${o.namespace}/${o.name}` });
  const initial = await o.kube.get<EtcdBackup>(path);
  if (!initial) {
    log.info('backup agent: no such EtcdBackup; nothing to do');
    return 0;
  }
  const parsedInitial = etcdBackupSpec.safeParse(initial.spec);
  if (!parsedInitial.success) {
    log.warn('backup agent: the EtcdBackup\'s spec is invalid; waiting for the operator to stop this agent', { error: parsedInitial.error.message });
    await Promise.race([new Promise((r) => setTimeout(r, 30_000)), o.stopped]);
    return 0;
  }
  const lease = chainLease(parsedInitial.data, o.namespace);
  const elector = new LeaderElector(o.kube, o.namespace, lease, o.identity, log);
  log.info('backup agent: waiting for the chain\'s Lease', { lease });
  let lost = false;
  let stop = false;
  void o.stopped.then(() => (stop = true));
  const won = elector.run(() => {
    lost = true;
    stop = true;
  });
  await Promise.race([won, o.stopped]);
  if (stop) {
    await elector.release();
    return 0;
  }
  const first = await o.kube.get<EtcdBackup>(path).catch(() => undefined);
  const status = new StatusWriter(o.kube, path, log, first?.status?.conditions ?? []);
  let current: { agent: BackupAgent; source: EtcdSource; store: ObjectStore; resolved: ResolvedAgent; uid: string } | undefined;
  let onDemand: string | undefined;
  const involved = (eb: EtcdBackup): { apiVersion: string; kind: string; name: string; namespace: string; uid?: string } => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'EtcdBackup',
    name: o.name,
    namespace: o.namespace,
    ...(eb.metadata.uid ? { uid: eb.metadata.uid } : {}),
  });
  const stopAgent = async (): Promise<void> => {
    if (!current) return;
    await current.agent.stop();
    current.source.close();
    current.store.close();
    current = undefined;
  };
  while (!stop) {
    const eb = await o.kube.get<EtcdBackup>(path).catch((err: unknown) => {
      log.warn('backup agent: cannot read the EtcdBackup', { error: String(err) });
      return null;
    });
    if (eb === undefined || eb?.metadata.deletionTimestamp) {
      log.info('backup agent: the EtcdBackup is gone; stopping');
      break;
    }
    const moved = eb ? etcdBackupSpec.safeParse(eb.spec) : undefined;
    if (moved?.success && chainLease(moved.data, o.namespace) !== lease) {
      log.info('backup agent: the spec moved the chain to another store or prefix; restarting under its Lease');
      break;
    }
    if (eb && eb.spec.suspend === true) {
      // the operator scales this agent to zero; until then, write nothing
      await stopAgent();
    } else if (eb) {
      try {
        const resolved = await resolveAgent(o.kube, eb, o.volumeMount);
        if (!current || current.resolved.fingerprint !== resolved.fingerprint || current.uid !== (eb.metadata.uid ?? '')) {
          if (current) log.info('backup agent: the configuration changed; starting over');
          await stopAgent();
          current = start(o, log, resolved, eb, status, involved(eb), () => elector.isLeader);
        }
        const want = eb.metadata.annotations?.[SNAPSHOT_NOW_ANNOTATION];
        if (want && want !== eb.status?.lastOnDemandSnapshot?.request && want !== onDemand) {
          onDemand = want;
          const agent = current.agent;
          log.info('backup agent: full snapshot requested', { request: want });
          agent.requestFull(`requested (${SNAPSHOT_NOW_ANNOTATION}=${want})`).then(
            (r) => status.set({ lastOnDemandSnapshot: { request: want, revision: r.ref.revision, time: iso(r.ref.time) } }),
            (err: unknown) => {
              onDemand = undefined; // asked again on the next poll
              log.warn('backup agent: the requested full snapshot failed', { error: String(err) });
            },
          );
        }
      } catch (err) {
        if (!(err instanceof ConfigProblem)) throw err;
        await stopAgent();
        log.warn('backup agent: cannot run', { reason: err.reason, error: err.message });
        status.conditions([cond('Ready', 'False', err.reason, err.message), cond('Degraded', 'True', err.reason, err.message)]);
      }
    }
    await Promise.race([new Promise((r) => setTimeout(r, o.pollMs ?? 5000)), o.stopped]);
  }
  await stopAgent();
  await status.flush();
  await elector.release();
  return lost ? 1 : 0;
}

/**
 * The spec's `path` is a folder inside the claim, made on first use (a new claim is empty). The mount
 * itself is never made: without it the store's root check fails (NoSuchBucket), as it must, rather than
 * the agent filling its container's own disk.
 */
function ensureVolumePath(mount: string, root: string): void {
  let isMount: boolean;
  try {
    isMount = statSync(mount).isDirectory();
  } catch {
    isMount = false;
  }
  if (isMount && root !== mount) mkdirSync(root, { recursive: true, mode: 0o700 });
}

function start(
  o: K8sAgentOptions,
  log: Logger,
  resolved: ResolvedAgent,
  eb: EtcdBackup,
  status: StatusWriter,
  involved: Parameters<EventRecorder['record']>[0],
  mayWrite: () => boolean,
): { agent: BackupAgent; source: EtcdSource; store: ObjectStore; resolved: ResolvedAgent; uid: string } {
  const source = new EtcdSource(resolved.endpoints, resolved.tls);
  if ('volume' in resolved.store) ensureVolumePath(o.volumeMount, resolved.store.volume.root);
  const store = openStore(resolved.store);
  const agent = new BackupAgent({
    source,
    store,
    location: resolved.location,
    keys: resolved.keys,
    compression: resolved.compression,
    schedule: resolved.schedule,
    deltaPeriodMs: resolved.deltaPeriodMs,
    deltaMaxBytes: resolved.deltaMaxBytes,
    retention: resolved.retention,
    scratchDir: o.scratchDir,
    snapshotRevision: o.snapshotRevision,
    log,
    metrics: o.metrics,
    mayWrite,
    onReport: (r) => status.report(r, resolved),
    onEvent: (type, reason, message) => void o.events.record(involved, type, reason, message),
  });
  agent.start();
  log.info('backup agent: running', { store: store.description, cluster: eb.spec.clusterName, encrypted: resolved.keys !== undefined });
  return { agent, source, store, resolved, uid: eb.metadata.uid ?? '' };
}

type Cond = Omit<Condition, 'lastTransitionTime'>;
const cond = (type: string, status: 'True' | 'False', reason: string, message: string): Cond => ({ type, status, reason, message });

/** The agent's report as the status the EtcdBackup shows. */
export function statusOf(r: AgentReport, now: number): { status: EtcdBackupStatus; conditions: Cond[] } {
  const s: EtcdBackupStatus = {
    ...(r.clusterId ? { clusterId: r.clusterId } : {}),
    ...(r.lastFullSnapshot ? { lastFullSnapshot: { ...r.lastFullSnapshot, time: iso(r.lastFullSnapshot.time) } } : {}),
    ...(r.lastDelta ? { lastDelta: { ...r.lastDelta, time: iso(r.lastDelta.time) } } : {}),
    ...(r.latestRecoverable ? { latestRecoverable: { revision: r.latestRecoverable.revision, time: iso(r.latestRecoverable.time) } } : {}),
    ...(r.nextFullSnapshot !== undefined ? { nextFullSnapshot: iso(r.nextFullSnapshot) } : {}),
    objects: r.objects,
    bytes: r.bytes,
    gaps: r.gaps,
    tail: { ...(r.tail.endpoint ? { endpoint: r.tail.endpoint } : {}), lagRevisions: r.tail.lagRevisions, lagSeconds: Math.round(r.tail.lagSeconds * 10) / 10 },
  };
  const p = r.problems[0];
  const ready = r.latestRecoverable !== undefined && r.tail.running && p === undefined;
  const ageS = r.latestRecoverable ? Math.max(0, Math.round((now - r.latestRecoverable.time) / 1000)) : 0;
  return {
    status: s,
    conditions: [
      ready
        ? cond('Ready', 'True', 'ChainCurrent', `a restore reaches revision ${r.latestRecoverable!.revision} (written ${ageS} s ago)`)
        : cond('Ready', 'False', p?.reason ?? 'Starting', p?.message ?? 'taking the first full snapshot'),
      p ? cond('Degraded', 'True', p.reason, r.problems.map((x) => x.message).join('; ')) : cond('Degraded', 'False', 'AsExpected', ''),
    ],
  };
}

/** Writes the agent's part of the status: when it changed, at most every STATUS_MIN_INTERVAL_MS. */
class StatusWriter {
  private pending: { status: EtcdBackupStatus; conditions?: Cond[] } | undefined;
  private extra: EtcdBackupStatus = {};
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private lastWrite = 0;

  constructor(
    private readonly kube: Kube,
    private readonly path: string,
    private readonly log: Logger,
    private lastConditions: Condition[],
  ) {}

  report(r: AgentReport, resolved: ResolvedAgent): void {
    const { status, conditions } = statusOf(r, Date.now());
    if (resolved.keySecret) status.encryptionKeySecret = resolved.keySecret;
    if (r.clusterId === undefined && r.lastFullSnapshot === undefined) delete status.clusterId;
    this.pending = { status, conditions };
    this.schedule();
  }

  conditions(c: Cond[]): void {
    this.pending = { status: this.pending?.status ?? {}, conditions: c };
    this.schedule();
  }

  set(s: EtcdBackupStatus): void {
    this.extra = { ...this.extra, ...s };
    this.pending ??= { status: {} };
    this.schedule();
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    await this.writing;
    await this.write();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastWrite + STATUS_MIN_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.write().finally(() => (this.writing = undefined));
    }, wait);
  }

  private async write(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    const conditions = p.conditions ? settleConditions(p.conditions, this.lastConditions) : undefined;
    const status = { ...p.status, ...this.extra, ...(conditions ? { conditions } : {}) };
    const text = JSON.stringify(status);
    if (text === this.last) return;
    try {
      await this.kube.mergePatch(`${this.path}/status`, { status });
      this.last = text;
      this.lastWrite = Date.now();
      if (conditions) this.lastConditions = conditions;
    } catch (err) {
      this.log.warn('backup agent: status write failed; retrying', { error: err instanceof Error ? err.message : String(err) });
      this.pending ??= p;
      this.schedule();
    }
  }
}

