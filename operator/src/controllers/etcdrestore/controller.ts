// The EtcdRestore controller: gather (the EtcdRestore, the source's objects, an EtcdCluster of the target
// name and its pods), decide with the pure planner, take that one step, write status once. The target is
// resolved once, in this process, and recorded (restoredRevision, sourceObjects, sourceClusterId), so every
// member restores the same revision however the chain grows. The EtcdCluster it creates is not owned by
// the EtcdRestore (deleting the record must not delete a cluster); it carries the restore annotation its
// StatefulSet's init containers are built from (resources/restore-init.ts).
import type { Reconciler, Result } from '../../runtime/reconciler.js';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type Condition, type EtcdCluster } from '../../api/etcd-cluster.js';
import { etcdRestoreSpec, type EtcdRestore, type EtcdRestoreStatus } from '../../api/etcd-restore.js';
import { ConfigProblem } from '../../backup/agent-config.js';
import { labels } from '../../resources/builders.js';
import { CLAIM_TEMPLATE_ANNOTATION, claimTemplateOf, names } from '../../resources/names.js';
import { RESTORE_ANNOTATION, restoreErrorLine, restoreInitOf } from '../../resources/restore-init.js';
import { planSource, resolveSource, restoreInitFor, type SourcePlan } from '../../restore/source.js';
import type { EventRecorder } from '../../runtime/events.js';
import { KubeError, type Kube } from '../../runtime/kube.js';
import type { Logger } from '../../runtime/log.js';
import { phaseAfter, planRestore, type Resolution, type RestoreObserved, type RestoreStep } from './planner.js';
import { settleConditions } from '../../runtime/conditions.js';

const API = `/apis/${GROUP}/${VERSION}`;
/** init container restarts after which a restore is called failed (the cluster is left for inspection) */
const MAX_INIT_FAILURES = 5;

export type { Result } from '../../runtime/reconciler.js';

interface Pod {
  metadata: { name: string };
  status?: { initContainerStatuses?: Array<{ name: string; restartCount?: number; lastState?: { terminated?: { exitCode?: number; message?: string } } }> };
}

type Cond = Omit<Condition, 'lastTransitionTime'>;
const cond = (type: string, status: 'True' | 'False', reason: string, message: string): Cond => ({ type, status, reason, message });
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export class EtcdRestoreController implements Reconciler {
  constructor(
    private readonly kube: Kube,
    private readonly log: Logger,
    private readonly events?: EventRecorder,
  ) {}

  async reconcile(namespace: string, name: string): Promise<Result> {
    const er = await this.kube.get<EtcdRestore>(`${API}/namespaces/${namespace}/etcdrestores/${name}`);
    if (!er || er.metadata.deletionTimestamp) return {};
    const phase = er.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return {};
    const log = this.log.with({ etcdrestore: `${namespace}/${name}` });
    const parsed = etcdRestoreSpec.safeParse(er.spec);
    const spec = parsed.success ? parsed.data : undefined;
    const specProblem = parsed.success ? undefined : parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; ');

    // the cluster of the target name, and whether this restore made it
    const clusterName = spec?.cluster.name ?? '';
    const ec = spec ? await this.kube.get<EtcdCluster>(`${API}/namespaces/${namespace}/etcdclusters/${clusterName}`) : undefined;
    const ours = ec !== undefined && madeBy(ec, er.metadata.uid);
    const sts = ec ? await this.kube.get<{ spec: { replicas: number } }>(`/apis/apps/v1/namespaces/${namespace}/statefulsets/${names.statefulSet({ name: clusterName, namespace })}`) : undefined;
    const available = ec?.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;

    // the source: only looked at while the cluster is not made yet
    let missing: string[] = [];
    let plan: SourcePlan | undefined;
    let sourceProblem: ConfigProblem | undefined;
    if (spec && !ours && !specProblem) {
      try {
        const p = await planSource(this.kube, namespace, spec);
        missing = p.missing;
        plan = p.plan;
      } catch (err) {
        if (!(err instanceof ConfigProblem)) throw err;
        sourceProblem = err;
      }
    }
    const resolved = resolutionOf(er.status);
    const observed: RestoreObserved = {
      phase,
      ...(specProblem ? { specProblem } : {}),
      missing,
      resolved,
      cluster: ec
        ? { ours, available, runningMembers: sts?.spec.replicas ?? 0, clusterId: ec.status?.clusterId }
        : undefined,
      replaceExisting: spec?.replaceExisting ?? false,
    };
    let step: RestoreStep = sourceProblem ? { kind: 'Fail', reason: sourceProblem.reason, message: sourceProblem.message } : planRestore(observed);
    log.info('reconcile', { step: step.kind });

    const status: EtcdRestoreStatus = { ...(er.status ?? {}), observedGeneration: er.metadata.generation, clusterName, ...(er.status?.startTime ? {} : { startTime: iso(Date.now()) }) };
    let message = '';
    let requeueAfterMs: number | undefined;
    switch (step.kind) {
      case 'Nothing':
        return {};
      case 'Fail':
        message = step.message;
        break;
      case 'WaitForSource':
        message = step.message;
        requeueAfterMs = 5000;
        break;
      case 'Resolve': {
        if (!spec || !plan) {
          step = { kind: 'WaitForSource', message: 'the source is not readable yet' };
          requeueAfterMs = 5000;
          break;
        }
        try {
          const r = await resolveSource(this.kube, { name, namespace, uid: er.metadata.uid ?? '' }, spec, plan);
          if ('pending' in r) {
            // a volume store: its resolve pod runs
            message = r.pending;
            requeueAfterMs = 2000;
            break;
          }
          if (r.revision > 0) {
            status.restoredRevision = r.revision;
            status.restoredTime = iso(r.time);
            status.sourceClusterId = r.clusterId;
          }
          status.sourceObjects = r.objects;
          message = r.revision > 0 ? `resolved to revision ${r.revision} of chain ${r.clusterId} (received ${iso(r.time)}): ${r.objects.length} objects` : `restoring snapshot object ${r.objects[0]!}`;
          await this.event(er, 'Normal', 'Resolved', message);
          requeueAfterMs = 0;
        } catch (err) {
          if (!(err instanceof ConfigProblem)) {
            // a store that does not answer: not terminal, looked at again
            message = `cannot read the store: ${(err as Error).message}`;
            step = { kind: 'WaitForSource', message };
            requeueAfterMs = 10_000;
            break;
          }
          step = { kind: 'Fail', reason: err.reason, message: err.message };
          message = err.message;
        }
        break;
      }
      case 'StopOldMembers': {
        const claimPrefix = `${claimTemplateOf(ec!.metadata.annotations)}-${names.statefulSet({ name: clusterName, namespace })}-`;
        const claims = await this.kube.list<{ metadata: { name: string } }>(`/api/v1/namespaces/${namespace}/persistentvolumeclaims`, selectorOf(clusterName));
        status.replacedClaims = claims.map((c) => c.metadata.name).filter((n) => n.startsWith(claimPrefix)).sort();
        if (step.replacedClusterId) status.replacedClusterId = step.replacedClusterId;
        await this.kube.mergePatch(`/apis/apps/v1/namespaces/${namespace}/statefulsets/${names.statefulSet({ name: clusterName, namespace })}`, { spec: { replicas: 0 } });
        message = `stopping the members of the EtcdCluster ${clusterName} it replaces (its claims stay until the restored cluster is Available)`;
        await this.event(er, 'Normal', 'StoppingOldMembers', message);
        requeueAfterMs = 2000;
        break;
      }
      case 'DeleteOldCluster': {
        // the claims must outlive their cluster: Retain, whatever the old spec said
        const stsPath = `/apis/apps/v1/namespaces/${namespace}/statefulsets/${names.statefulSet({ name: clusterName, namespace })}`;
        if (sts) await this.kube.mergePatch(stsPath, { spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' } } });
        await this.kube.request('DELETE', `${API}/namespaces/${namespace}/etcdclusters/${clusterName}`, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' });
        message = `deleted the EtcdCluster ${clusterName} it replaces; its claims ${(status.replacedClaims ?? []).join(', ') || '(none)'} stay`;
        await this.event(er, 'Normal', 'OldClusterDeleted', message);
        requeueAfterMs = 2000;
        break;
      }
      case 'CreateCluster': {
        if (!plan) {
          step = { kind: 'WaitForSource', message: 'the source is not readable yet' };
          requeueAfterMs = 5000;
          break;
        }
        const init = restoreInitFor({ name, uid: er.metadata.uid ?? '' }, plan, step.resolution);
        const annotations: Record<string, string> = { [RESTORE_ANNOTATION]: JSON.stringify(init) };
        // a replaced cluster's claims still exist under the usual names: the new members' claims get others
        if (spec!.replaceExisting) annotations[CLAIM_TEMPLATE_ANNOTATION] = `data-r${randomBytes(3).toString('hex')}`;
        await this.kube.create(`${API}/namespaces/${namespace}/etcdclusters`, {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'EtcdCluster',
          metadata: { name: clusterName, namespace, annotations, labels: { 'etcdts.dev/restored-by': name } },
          spec: spec!.cluster.spec,
        });
        message = `created the EtcdCluster ${clusterName}: its ${spec!.cluster.spec.replicas} members restore ${init.chain ? `revision ${init.chain.revision}` : `snapshot ${init.object!}`}`;
        await this.event(er, 'Normal', 'ClusterCreated', message);
        requeueAfterMs = 2000;
        break;
      }
      case 'WaitForCluster': {
        const failing = await this.failingInits(namespace, clusterName);
        const worst = failing.sort((a, b) => b.restarts - a.restarts)[0];
        if (worst && worst.restarts >= MAX_INIT_FAILURES) {
          // no member ever started on restored data: the cluster holds nothing worth keeping
          await this.kube.delete(`${API}/namespaces/${namespace}/etcdclusters/${clusterName}`).catch((err: unknown) => {
            if (!(err instanceof KubeError && err.status === 404)) throw err;
          });
          step = {
            kind: 'Fail',
            reason: 'RestoreFailed',
            message: `member ${worst.pod}: the restore failed ${worst.restarts + 1} times (exit ${worst.exitCode})${worst.why ? `: ${worst.why}` : ''}; the EtcdCluster ${clusterName} it created was deleted`,
          };
          message = step.message;
          break;
        }
        const ready = ec?.status?.readyMembers ?? 0;
        const degraded = ec?.status?.conditions?.find((c) => c.type === 'Degraded' && c.status === 'True');
        message = degraded
          ? `the EtcdCluster ${clusterName} is Degraded (${degraded.reason}): ${degraded.message}`
          : worst
          ? `member ${worst.pod}: the restore failed (exit ${worst.exitCode}, ${worst.restarts} restarts)${worst.why ? `: ${worst.why}` : ''}; retrying`
          : `waiting for the EtcdCluster ${clusterName} to be Available: ${ready} of ${spec?.cluster.spec.replicas ?? '?'} members ready`;
        requeueAfterMs = 2000;
        break;
      }
      case 'Succeed': {
        status.completionTime = iso(Date.now());
        message = `the EtcdCluster ${clusterName} is Available${status.restoredRevision ? ` at revision ${status.restoredRevision}` : ''}`;
        for (const c of status.replacedClaims ?? []) {
          await this.kube.delete(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${c}`).catch((err: unknown) => {
            if (!(err instanceof KubeError && err.status === 404)) throw err;
          });
        }
        if ((status.replacedClaims ?? []).length > 0) message += `; deleted the replaced cluster's claims ${status.replacedClaims!.join(', ')}`;
        await this.event(er, 'Normal', 'Restored', message);
        break;
      }
    }
    if (step.kind === 'Fail') await this.event(er, 'Warning', step.reason, step.message);
    status.phase = phaseAfter(step, phase);
    if (step.kind === 'Fail') status.completionTime = iso(Date.now());
    status.conditions = this.conditions(er, step, message);
    await this.writeStatus(er, status);
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  }

  private conditions(er: EtcdRestore, step: RestoreStep, message: string): Condition[] {
    const done = step.kind === 'Succeed';
    const failed = step.kind === 'Fail';
    const reason = failed ? step.reason : done ? 'Restored' : step.kind === 'WaitForSource' ? 'WaitingForSource' : step.kind;
    const next: Cond[] = [cond('Complete', done ? 'True' : 'False', reason, message), cond('Failed', failed ? 'True' : 'False', failed ? step.reason : 'AsExpected', failed ? message : '')];
    return settleConditions(next, er.status?.conditions ?? [], er.metadata.generation);
  }

  /** Members whose restore init container failed, with the restore's own last error line. */
  private async failingInits(namespace: string, cluster: string): Promise<Array<{ pod: string; restarts: number; exitCode: number; why: string | undefined }>> {
    const pods = await this.kube.list<Pod>(`/api/v1/namespaces/${namespace}/pods`, selectorOf(cluster));
    const out: Array<{ pod: string; restarts: number; exitCode: number; why: string | undefined }> = [];
    for (const p of pods) {
      const s = p.status?.initContainerStatuses?.find((c) => c.name === 'restore');
      const t = s?.lastState?.terminated;
      if (!s || t?.exitCode === undefined || t.exitCode === 0) continue;
      const why = restoreErrorLine(t.message ?? '');
      out.push({ pod: p.metadata.name, restarts: s.restartCount ?? 0, exitCode: t.exitCode, why });
    }
    return out;
  }

  private async event(er: EtcdRestore, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.events?.record({ apiVersion: `${GROUP}/${VERSION}`, kind: 'EtcdRestore', name: er.metadata.name, namespace: er.metadata.namespace, ...(er.metadata.uid ? { uid: er.metadata.uid } : {}) }, type, reason, message);
  }

  private async writeStatus(er: EtcdRestore, status: EtcdRestoreStatus): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(er.status)) return;
    await this.kube.mergePatch(`${API}/namespaces/${er.metadata.namespace}/etcdrestores/${er.metadata.name}/status`, { metadata: { resourceVersion: er.metadata.resourceVersion }, status });
  }
}

/** The cluster carries this restore's annotation (a malformed one is not ours: its controller reports it). */
function madeBy(ec: EtcdCluster, uid: string | undefined): boolean {
  try {
    return restoreInitOf(ec.metadata.annotations)?.uid === uid;
  } catch {
    return false;
  }
}

function selectorOf(cluster: string): string {
  return Object.entries(labels({ name: cluster, namespace: '' }))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function resolutionOf(s: EtcdRestoreStatus | undefined): Resolution | undefined {
  if (!s?.sourceObjects || s.sourceObjects.length === 0) return undefined;
  return { revision: s.restoredRevision ?? 0, time: s.restoredTime ? Date.parse(s.restoredTime) : 0, clusterId: s.sourceClusterId ?? '', objects: s.sourceObjects };
}
