// The EtcdCluster controller: gather what exists (objects, pods, claims, the member list), decide with
// the pure planner, take that one step, write status once (only when it changed), and tell the queue when
// to look again. Errors are thrown: the workqueue retries with backoff.
import { TerminalError, type Reconciler, type Result } from '../../runtime/reconciler.js';
import { status } from '@grpc/grpc-js';
import { etcdClusterSpec, type Condition, type EtcdCluster, type EtcdClusterStatus, type MemberStatus } from '../../api/etcd-cluster.js';
import { EtcdAdmin, EtcdCallError, type AdminTls, type MemberInfo } from '../../etcd/admin.js';
import { clusterAccess } from '../../etcd/cluster-access.js';
import { bootstrapConfig, versionOfImage, clientScheme, clientService, labels, pdb, peerScheme, peerService, statefulSet, TEMPLATE_HASH, type Owner } from '../../resources/builders.js';
import { restoreInitOf, type RestoreInit } from '../../resources/restore-init.js';
import { claimTemplateOf, CLIENT_PORT, clientURL, initialCluster, memberHost, names, ordinalOf, peerURL } from '../../resources/names.js';
import type { EventRecorder, InvolvedObject } from '../../runtime/events.js';
import { KubeError, type Kube, type Obj } from '../../runtime/kube.js';
import type { Logger } from '../../runtime/log.js';
import { plan, updatedMembers, type Observed, type ObservedPod, type Step } from './planner.js';
import { settleConditions } from '../../runtime/conditions.js';
import { MemberReporter, reportedVersions, type PodToAsk } from './member-reports.js';
import { blockedBy, type ObservedBackup } from './upgrade-backup.js';
import type { ObservedClaim } from './claim-growth.js';
import { parseBytes } from '../../api/units.js';
import { SNAPSHOT_NOW_ANNOTATION, type EtcdBackup } from '../../api/etcd-backup.js';

const API = '/apis/etcdts.dev/v1alpha1';

interface StatefulSetObj {
  metadata: { generation?: number; annotations?: Record<string, string> };
  spec: { replicas: number };
  status?: { observedGeneration?: number; updateRevision?: string };
}

interface Claim {
  metadata: { name: string; uid?: string; deletionTimestamp?: string };
  spec?: { storageClassName?: string; resources?: { requests?: { storage?: string } } };
  status?: { capacity?: { storage?: string } };
}

/** Bytes of a quantity; a quantity this reader does not know counts as large enough (it is not judged). */
function parseBytesOr(q: string): number {
  try {
    return parseBytes(q);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

interface Pod {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  status?: { conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ name: string; image?: string; restartCount?: number }> };
}

/** What the next reconcile should wait for: a settled cluster is looked at again on the resync. */
export type { Result } from '../../runtime/reconciler.js';

export class EtcdClusterController implements Reconciler {
  /** One membership client per cluster (namespace/name), kept while its endpoints and TLS stay the same:
   *  a reconcile reuses the connections of the one before instead of dialling every member again. */
  private readonly admins = new Map<string, { fingerprint: string; admin: EtcdAdmin }>();
  private readonly reporter = new MemberReporter();
  /** the last step logged at info per cluster: a step repeated (a Wait every 2 s) goes to debug */
  private readonly lastStep = new Map<string, string>();

  constructor(
    private readonly kube: Kube,
    private readonly log: Logger,
    private readonly events?: EventRecorder,
  ) {}

  async reconcile(namespace: string, name: string): Promise<Result> {
    const ec = await this.kube.get<EtcdCluster>(`${API}/namespaces/${namespace}/etcdclusters/${name}`);
    if (!ec || ec.metadata.deletionTimestamp) {
      this.dropAdmin(`${namespace}/${name}`);
      this.lastStep.delete(`${namespace}/${name}`);
      return {}; // owned objects go with it (owner references)
    }
    const log = this.log.with({ etcdcluster: `${namespace}/${name}` });
    const parsed = etcdClusterSpec.safeParse(ec.spec);
    const claimTemplate = claimTemplateOf(ec.metadata.annotations);
    const owner: Owner = { name, namespace, uid: ec.metadata.uid ?? '', ...(claimTemplate !== 'data' ? { claimTemplate } : {}) };
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      await this.warnOnce(ec, 'InvalidSpec', message);
      await this.writeStatus(ec, { ...ec.status, observedGeneration: ec.metadata.generation, phase: 'Degraded' }, [cond('Degraded', 'True', 'InvalidSpec', message)]);
      return {};
    }
    const spec = parsed.data;
    // an even count is allowed (etcd allows it) but buys nothing: said once per spec change
    if (spec.replicas % 2 === 0 && ec.status?.observedGeneration !== ec.metadata.generation) {
      const n = spec.replicas;
      await this.events?.record(ref(ec), 'Warning', 'EvenReplicas', `replicas ${n}: ${n} members survive the loss of ${(n - 2) / 2}, as ${n - 1} do (a quorum is ${n / 2 + 1} of ${n}), and every write waits for one member more; an odd number is the better choice`);
    }
    let restore: RestoreInit | undefined;
    try {
      restore = restoreInitOf(ec.metadata.annotations);
    } catch (err) {
      await this.warnOnce(ec, 'InvalidRestoreAnnotation', (err as Error).message);
      await this.writeStatus(ec, { ...ec.status, observedGeneration: ec.metadata.generation, phase: 'Degraded' }, [cond('Degraded', 'True', 'InvalidRestoreAnnotation', (err as Error).message)]);
      return {};
    }
    const access = await clusterAccess(this.kube, owner, spec);
    const admin = this.adminFor(`${namespace}/${name}`, access.endpoints, access.tls);
    // the StatefulSet the spec asks for (its replicas are the planner's business, its template is compared)
    const desired = statefulSet(owner, spec, spec.replicas, restore);
    const o = await this.observe(owner, spec, admin, access, desired, ec.metadata.generation ?? 0);
    const step = plan(o.observed);
    const fields = {
      step: step.kind,
      ...('reason' in step ? { reason: step.reason } : {}),
      ...('ordinal' in step ? { ordinal: step.ordinal } : {}),
      ...('id' in step ? { member: step.id } : {}),
      ...('backup' in step ? { backup: step.backup } : {}),
      ...(o.leaderId ? { leader: o.leaderId } : {}),
    };
    const signature = JSON.stringify(fields);
    if (this.lastStep.get(`${namespace}/${name}`) === signature) {
      log.debug('reconcile', { ...fields, ...('message' in step ? { message: step.message } : {}) });
    } else {
      this.lastStep.set(`${namespace}/${name}`, signature);
      log.info('reconcile', { ...fields, ...('message' in step ? { message: step.message } : {}) });
    }
    // ready pods the operator cannot reach: its network, not the members (e.g. run outside the cluster)
    if (step.kind === 'Wait' && step.reason === 'NoMemberReachable' && o.observed.readyPods.size > 0) {
      log.warn('cannot reach the members although their pods are ready', { error: step.message });
    }
    let result: Result;
    try {
      result = await this.act(owner, spec, step, o, admin, restore, desired);
    } catch (err) {
      // the API server refuses what the spec made (an invalid pod resource, …): the same request would be
      // refused again, so it is Degraded until the spec changes, not retried
      if (!(err instanceof KubeError && (err.status === 422 || err.status === 400))) throw err;
      const refused: Step = { kind: 'Degraded', reason: 'RefusedByAPIServer', message: `${step.kind}: the API server refused it: ${err.apiMessage ?? err.message}` };
      await this.warnOnce(ec, refused.reason, refused.message);
      await this.writeStatus(ec, this.status(ec, owner, o, refused), conditionsFor(refused, o));
      throw new TerminalError(refused.message, { cause: err });
    }
    const what = eventFor(step);
    // a Degraded condition is told once, when it begins, not at every look
    const already = step.kind === 'Degraded' && ec.status?.conditions?.some((c) => c.type === 'Degraded' && c.status === 'True' && c.reason === step.reason);
    if (what && this.events && !already) await this.events.record(ref(ec), what[0], what[1], what[2]);
    await this.writeStatus(ec, this.status(ec, owner, o, step), conditionsFor(step, o));
    return result;
  }

  /** A Warning Event for a Degraded reason the cluster is not already in (told once, when it begins). */
  private async warnOnce(ec: EtcdCluster, reason: string, message: string): Promise<void> {
    if (ec.status?.conditions?.some((c) => c.type === 'Degraded' && c.status === 'True' && c.reason === reason)) return;
    await this.events?.record(ref(ec), 'Warning', reason, message);
  }

  /** The cluster's membership client; a new one (and the old one closed) when endpoints or TLS changed. */
  private adminFor(key: string, endpoints: string[], tls: AdminTls | undefined): EtcdAdmin {
    const fingerprint = JSON.stringify([endpoints, tls?.ca.toString('base64'), tls?.cert?.toString('base64'), tls?.key?.toString('base64')]);
    const cached = this.admins.get(key);
    if (cached?.fingerprint === fingerprint) return cached.admin;
    cached?.admin.close();
    const admin = new EtcdAdmin(endpoints, tls);
    this.admins.set(key, { fingerprint, admin });
    return admin;
  }

  private dropAdmin(key: string): void {
    this.admins.get(key)?.admin.close();
    this.admins.delete(key);
  }

  /** The EtcdBackups of this cluster that are not suspended, as the planner needs them. */
  private async backupsOf(owner: Owner): Promise<ObservedBackup[]> {
    const all = await this.kube.list<EtcdBackup>(`${API}/namespaces/${owner.namespace}/etcdbackups`);
    return all
      .filter((b) => b.spec?.clusterName === owner.name && b.spec.suspend !== true && !b.metadata.deletionTimestamp)
      .map((b) => {
        const requested = b.metadata.annotations?.[SNAPSHOT_NOW_ANNOTATION];
        const done = b.status?.lastOnDemandSnapshot?.request;
        const blocked = blockedBy(b.status?.conditions);
        return { name: b.metadata.name, ...(requested ? { requested } : {}), ...(done ? { done } : {}), ...(blocked ? { blocked } : {}) };
      });
  }

  /** Closes every membership client (the operator is stopping). */
  close(): void {
    for (const key of [...this.admins.keys()]) this.dropAdmin(key);
  }

  private async observe(owner: Owner, spec: Observed['spec'], admin: EtcdAdmin, access: { problems: string[]; endpoints: readonly string[]; tls: AdminTls | undefined }, desired: Obj, generation: number) {
    const { problems, endpoints } = access;
    const ns = `/api/v1/namespaces/${owner.namespace}`;
    const [peerSvc, clientSvc, config, sts, pdbObj] = await Promise.all([
      this.kube.get(`${ns}/services/${names.peerService(owner)}`),
      this.kube.get(`${ns}/services/${names.clientService(owner)}`),
      this.kube.get<Obj & { data?: Record<string, string> }>(`${ns}/configmaps/${names.bootstrap(owner)}`),
      this.kube.get<StatefulSetObj>(`/apis/apps/v1/namespaces/${owner.namespace}/statefulsets/${names.statefulSet(owner)}`),
      this.kube.get<{ spec?: { minAvailable?: number | string } }>(`/apis/policy/v1/namespaces/${owner.namespace}/poddisruptionbudgets/${names.pdb(owner)}`),
    ]);
    const selector = Object.entries(labels(owner))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = await this.kube.list<Pod>(`${ns}/pods`, selector);
    const claims = await this.kube.list<Claim>(`${ns}/persistentvolumeclaims`, selector);
    const ordinal = (n: string, prefix: string): number | undefined => {
      const m = new RegExp(`^${prefix}-(\\d+)$`).exec(n);
      return m ? Number(m[1]) : undefined;
    };
    const readyPods = new Set<number>();
    const podsByOrdinal = new Map<number, ObservedPod>();
    const toAsk: PodToAsk[] = [];
    // the revision the StatefulSet controller gives pods made from the latest template; unknown → none is stale
    const updateRevision = sts?.status?.updateRevision;
    const now = Date.now();
    for (const p of pods) {
      const ord = ordinal(p.metadata.name, names.statefulSet(owner));
      if (ord === undefined) continue;
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !p.metadata.deletionTimestamp;
      if (ready) readyPods.add(ord);
      const created = p.metadata.creationTimestamp ? Date.parse(p.metadata.creationTimestamp) : now;
      const restarts = p.status?.containerStatuses?.find((c) => c.name === 'etcd')?.restartCount ?? 0;
      toAsk.push({ ordinal: ord, incarnation: `${p.metadata.uid ?? p.metadata.name}/${restarts}`, ready });
      podsByOrdinal.set(ord, {
        updated: updateRevision === undefined || p.metadata.labels?.['controller-revision-hash'] === updateRevision,
        ready,
        terminating: p.metadata.deletionTimestamp !== undefined,
        ageMs: Math.max(0, now - created),
      });
    }
    // what the members say of themselves; their revisions only while a roll-out runs (the planner compares them)
    const size = sts?.spec.replicas ?? 0;
    const rolling = [...podsByOrdinal.entries()].some(([ord, p]) => ord < size && !p.updated);
    const reports = sts ? await this.reporter.ask(admin, access.tls, endpoints, toAsk, rolling) : new Map<number, never>();
    for (const [ord, r] of reports) {
      const p = podsByOrdinal.get(ord);
      if (p) podsByOrdinal.set(ord, { ...p, ...(r.revision !== undefined ? { revision: r.revision } : {}), ...(r.error ? { reportError: r.error } : {}) });
    }
    const desiredHash = ((desired['metadata'] as Obj)['annotations'] as Record<string, string>)[TEMPLATE_HASH];
    const claimOrdinals = new Set<number>();
    const claimUid = new Map<number, string>();
    const claimStorage = new Map<number, ObservedClaim>();
    const claimStatus: NonNullable<EtcdClusterStatus['claims']> = [];
    const want = parseBytes(spec.storage.size);
    const classes = new Map<string, boolean | undefined>();
    for (const c of claims) {
      const ord = ordinal(c.metadata.name, `${owner.claimTemplate ?? 'data'}-${names.statefulSet(owner)}`);
      if (ord === undefined) continue;
      const requested = c.spec?.resources?.requests?.storage;
      if (requested !== undefined && !c.metadata.deletionTimestamp) {
        const className = c.spec?.storageClassName || undefined;
        // the class is looked at only for a claim that must grow
        let allows: boolean | undefined;
        if (className !== undefined && parseBytesOr(requested) < want) {
          if (!classes.has(className)) {
            const sc = await this.kube.get<{ allowVolumeExpansion?: boolean }>(`/apis/storage.k8s.io/v1/storageclasses/${className}`);
            classes.set(className, sc === undefined ? undefined : sc.allowVolumeExpansion === true);
          }
          allows = classes.get(className);
        }
        claimStorage.set(ord, { name: c.metadata.name, requested, ...(className ? { storageClassName: className } : {}), ...(allows !== undefined ? { classAllowsExpansion: allows } : {}) });
        const capacity = c.status?.capacity?.storage;
        claimStatus.push({ name: c.metadata.name, requested, ...(capacity ? { capacity } : {}) });
      }
      // a claim being deleted stays while its finalizer runs: for the planner it is gone already (deleting
      // it again recorded a second ClaimDeleted); its uid still tells whose data it held
      if (!c.metadata.deletionTimestamp) claimOrdinals.add(ord);
      if (c.metadata.uid) claimUid.set(ord, c.metadata.uid);
    }
    let members: MemberInfo[] | undefined;
    let clusterId: string | undefined;
    let leaderId: string | undefined;
    let unreachable: string | undefined;
    if (sts) {
      try {
        const l = await admin.memberList();
        members = l.members;
        clusterId = l.clusterId;
        leaderId = await admin.leader().catch(() => undefined);
      } catch (err) {
        members = undefined;
        unreachable = `tried ${endpoints.join(', ')}; ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    // which claim each member's data is on (recorded in the bootstrap ConfigMap once its pod is ready): a
    // different claim now means the data was lost
    const recorded = config?.data ?? {};
    const lostData = new Set<number>();
    const record: Record<string, string> = {};
    for (const m of members ?? []) {
      const ord = ordinalOf(owner, m.peerURLs[0] ?? '');
      if (ord === undefined) continue;
      const was = recorded[`claim-${ord}`];
      const now = claimUid.get(ord);
      if (was !== undefined && was !== now) lostData.add(ord);
      else if (was === undefined && now !== undefined && readyPods.has(ord)) record[`claim-${ord}`] = now;
    }
    // what the members' pods run, as the kubelet reports it (never the spec's wish)
    const running = new Set<string>();
    for (const p of pods) {
      const image = p.status?.containerStatuses?.find((c) => c.name === 'etcd')?.image;
      if (image) running.add(versionOfImage(image));
    }
    const templateCurrent = sts ? sts.metadata.annotations?.[TEMPLATE_HASH] === desiredHash : undefined;
    // the cluster's EtcdBackups matter only to a template change (a version change snapshots first)
    const backups = templateCurrent === false ? await this.backupsOf(owner) : [];
    const observed: Observed = {
      cluster: owner,
      generation,
      backups,
      spec,
      problems,
      servicesExist: peerSvc !== undefined && clientSvc !== undefined,
      bootstrapConfigExists: config !== undefined,
      pdbExists: pdbObj !== undefined,
      ...(typeof pdbObj?.spec?.minAvailable === 'number' ? { pdbMinAvailable: pdbObj.spec.minAvailable } : {}),
      statefulSetReplicas: sts?.spec.replicas,
      readyPods,
      claims: claimOrdinals,
      claimStorage,
      lostData,
      members: members?.map((m) => ({ id: m.id, name: m.name, peerURL: m.peerURLs[0] ?? '', isLearner: m.isLearner })),
      ...(unreachable ? { unreachable } : {}),
      leaderId,
      runningVersions: [...running],
      ...(sts
        ? {
            templateCurrent: templateCurrent === true,
            statefulSetObserved: (sts.status?.observedGeneration ?? 0) >= (sts.metadata.generation ?? 0),
            pods: podsByOrdinal,
          }
        : {}),
    };
    const currentVersion = reportedVersions(reports);
    return { observed, members, clusterId, leaderId, bootstrapState: config?.data?.['initial-cluster-state'], record, currentVersion, reports, claimStatus, updatedMembers: updatedMembers(podsByOrdinal, sts?.spec.replicas ?? 0) };
  }

  private async act(owner: Owner, spec: Observed['spec'], step: Step, o: Awaited<ReturnType<EtcdClusterController['observe']>>, admin: EtcdAdmin, restore: RestoreInit | undefined, desired: Obj): Promise<Result> {
    const ns = `/api/v1/namespaces/${owner.namespace}`;
    const stsPath = `/apis/apps/v1/namespaces/${owner.namespace}/statefulsets/${names.statefulSet(owner)}`;
    const configPath = `${ns}/configmaps/${names.bootstrap(owner)}`;
    if (Object.keys(o.record).length > 0 && o.observed.bootstrapConfigExists) await this.kube.mergePatch(configPath, { data: o.record });
    switch (step.kind) {
      case 'Degraded':
      case 'Paused':
        return { requeueAfterMs: 10_000 };
      case 'CreateServices':
        await this.kube.create(`${ns}/services`, peerService(owner));
        await this.kube.create(`${ns}/services`, clientService(owner));
        return { requeueAfterMs: 0 };
      case 'CreateBootstrapConfig':
        await this.kube.create(`${ns}/configmaps`, bootstrapConfig(owner, spec, step.initialMembers, 'new'));
        return { requeueAfterMs: 0 };
      case 'RequestBackup':
        await this.kube.mergePatch(`${API}/namespaces/${owner.namespace}/etcdbackups/${step.backup}`, { metadata: { annotations: { [SNAPSHOT_NOW_ANNOTATION]: step.request } } });
        return { requeueAfterMs: 2_000 };
      case 'UpdateStatefulSet': {
        // the whole template replaced (a merge patch would keep fields the new one leaves out), then the
        // hash: an operator that stops in between applies it again
        const dspec = desired['spec'] as Obj;
        await this.kube.jsonPatch(stsPath, [
          { op: 'replace', path: '/spec/template', value: dspec['template'] },
          { op: 'replace', path: '/spec/updateStrategy', value: dspec['updateStrategy'] },
        ]);
        await this.kube.mergePatch(stsPath, { metadata: { annotations: (desired['metadata'] as Obj)['annotations'] as Obj } });
        return { requeueAfterMs: 500 };
      }
      case 'RestartMember':
        await this.kube.delete(`${ns}/pods/${names.statefulSet(owner)}-${step.ordinal}`);
        return { requeueAfterMs: 1000 };
      case 'CreateStatefulSet': {
        const sts = statefulSet(owner, spec, step.replicas, restore);
        (sts['spec'] as Obj)['persistentVolumeClaimRetentionPolicy'] = { whenDeleted: spec.pvcRetentionPolicy, whenScaled: 'Retain' };
        await this.kube.create(`/apis/apps/v1/namespaces/${owner.namespace}/statefulsets`, sts);
        return { requeueAfterMs: 2000 };
      }
      case 'CreatePDB':
        await this.kube.create(`/apis/policy/v1/namespaces/${owner.namespace}/poddisruptionbudgets`, pdb(owner, spec.replicas));
        return { requeueAfterMs: 0 };
      case 'UpdatePDB':
        await this.kube.mergePatch(`/apis/policy/v1/namespaces/${owner.namespace}/poddisruptionbudgets/${names.pdb(owner)}`, { spec: { minAvailable: step.minAvailable } });
        return { requeueAfterMs: 0 };
      case 'Wait':
        return { requeueAfterMs: 2000 };
      case 'AddLearner': {
        // a member that joins reads `existing` and the cluster it joins from the bootstrap ConfigMap
        const size = Math.max(step.ordinal + 1, o.observed.statefulSetReplicas ?? 0);
        // the new member's claim is recorded once its pod is ready (a stale record would call it lost)
        await this.kube.mergePatch(configPath, {
          data: { 'initial-cluster': initialCluster(owner, size, peerScheme(spec)), 'initial-cluster-state': 'existing', [`claim-${step.ordinal}`]: null },
        });
        await admin.memberAdd(peerURL(owner, step.ordinal, peerScheme(spec)), true);
        // for the e2e test of an operator that dies between MemberAdd and the StatefulSet change
        if (process.env['ETCD_TS_OPERATOR_CRASH_AFTER'] === 'MemberAdd') process.kill(process.pid, 'SIGKILL');
        return { requeueAfterMs: 0 };
      }
      case 'ScaleStatefulSet':
        await this.kube.mergePatch(stsPath, { spec: { replicas: step.replicas } });
        return { requeueAfterMs: 2000 };
      case 'PromoteLearner':
        try {
          await admin.memberPromote(step.id);
          return { requeueAfterMs: 0 };
        } catch (err) {
          // not caught up yet: look again soon
          if (err instanceof EtcdCallError && err.code === status.FAILED_PRECONDITION) return { requeueAfterMs: 1000 };
          throw err;
        }
      case 'RemoveMember':
        await admin.memberRemove(step.id);
        return { requeueAfterMs: 0 };
      case 'MoveLeader': {
        const leader = o.members?.find((m) => m.id === step.from);
        const ord = leader ? ordinalOf(owner, leader.peerURLs[0] ?? '') : undefined;
        if (ord === undefined) return { requeueAfterMs: 1000 };
        await admin.moveLeader(`${memberHost(owner, ord)}:${CLIENT_PORT}`, step.to);
        return { requeueAfterMs: 0 };
      }
      case 'ExpandClaim':
        await this.kube.mergePatch(`${ns}/persistentvolumeclaims/${step.claim}`, { spec: { resources: { requests: { storage: step.size } } } });
        return { requeueAfterMs: 500 };
      case 'DeleteClaim':
        await this.kube.delete(`${ns}/persistentvolumeclaims/${names.pvc(owner, step.ordinal)}`);
        await this.kube.mergePatch(configPath, { data: { [`claim-${step.ordinal}`]: null } });
        return { requeueAfterMs: 1000 };
      case 'Settled':
        // bootstrap is over once every initial member is up: a pod that starts later joins an existing cluster
        if (o.bootstrapState === 'new') await this.kube.mergePatch(`${ns}/configmaps/${names.bootstrap(owner)}`, { data: { 'initial-cluster-state': 'existing' } });
        return { requeueAfterMs: 30_000 };
    }
  }

  private status(ec: EtcdCluster, owner: Owner, o: Awaited<ReturnType<EtcdClusterController['observe']>>, step: Step): EtcdClusterStatus {
    const members: MemberStatus[] = (o.members ?? []).map((m) => {
      const ord = ordinalOf(owner, m.peerURLs[0] ?? '');
      const version = ord === undefined ? undefined : o.reports.get(ord)?.version;
      return {
        id: m.id,
        name: m.name,
        peerURL: m.peerURLs[0] ?? '',
        clientURL: m.clientURLs[0] ?? (ord !== undefined ? clientURL(owner, ord, clientScheme(ec.spec)) : ''),
        isLearner: m.isLearner,
        isLeader: m.id === o.leaderId,
        healthy: ord !== undefined && o.observed.readyPods.has(ord),
        ...(version !== undefined ? { version } : {}),
      };
    });
    const size = o.observed.statefulSetReplicas ?? 0;
    const rolling = step.kind === 'UpdateStatefulSet' || step.kind === 'RestartMember' || (o.updatedMembers < size && size === o.observed.spec.replicas);
    const phase: EtcdClusterStatus['phase'] =
      step.kind === 'Degraded'
        ? 'Degraded'
        : step.kind === 'Paused'
          ? 'Paused'
          : step.kind === 'Settled'
            ? 'Running'
            : o.observed.members === undefined
              ? 'Creating'
              : rolling
                ? 'Updating'
                : 'Scaling';
    return {
      observedGeneration: ec.metadata.generation,
      phase,
      readyMembers: members.filter((m) => m.healthy && !m.isLearner).length,
      updatedMembers: o.updatedMembers,
      leaderId: o.leaderId,
      clusterId: o.clusterId,
      ...(o.currentVersion ? { currentVersion: o.currentVersion } : {}),
      clientEndpoint: `${names.clientService(owner)}.${owner.namespace}.svc:${CLIENT_PORT}`,
      members,
      ...(o.claimStatus.length > 0 ? { claims: [...o.claimStatus].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })) } : {}),
    };
  }

  /** One status write per reconcile, and none when nothing changed (conditions keep their transition time). */
  private async writeStatus(ec: EtcdCluster, status: EtcdClusterStatus, conds: Array<Omit<Condition, 'lastTransitionTime'>>): Promise<void> {
    const conditions = settleConditions(conds, ec.status?.conditions ?? [], ec.metadata.generation);
    const next = { ...status, conditions };
    if (JSON.stringify(next) === JSON.stringify(ec.status)) return;
    try {
      await this.kube.mergePatch(`${API}/namespaces/${ec.metadata.namespace}/etcdclusters/${ec.metadata.name}/status`, { status: next });
    } catch (err) {
      // deleted while this reconcile ran: there is no status to write, and nothing failed
      if (err instanceof KubeError && err.notFound) return;
      throw err;
    }
  }
}

function ref(ec: EtcdCluster): InvolvedObject {
  return { apiVersion: 'etcdts.dev/v1alpha1', kind: 'EtcdCluster', name: ec.metadata.name, namespace: ec.metadata.namespace ?? '', uid: ec.metadata.uid };
}

/** The Event a step is worth: [type, reason, message]; waiting and settled steps record nothing. */
function eventFor(step: Step): ['Normal' | 'Warning', string, string] | undefined {
  switch (step.kind) {
    case 'CreateStatefulSet':
      return ['Normal', 'Bootstrapping', `created the StatefulSet: ${step.replicas} members bootstrap together`];
    case 'AddLearner':
      return ['Normal', 'MemberAdded', `added ordinal ${step.ordinal} as a learner`];
    case 'PromoteLearner':
      return ['Normal', 'MemberPromoted', `promoted learner ${step.id} (ordinal ${step.ordinal}) to voter`];
    case 'RemoveMember':
      return ['Normal', 'MemberRemoved', `removed member ${step.id}: ${step.reason}`];
    case 'MoveLeader':
      return ['Normal', 'LeaderMoved', `moved leadership from ${step.from} to ${step.to}`];
    case 'ScaleStatefulSet':
      return ['Normal', 'Scaled', `StatefulSet replicas set to ${step.replicas}`];
    case 'UpdatePDB':
      return ['Normal', 'PDBUpdated', `PodDisruptionBudget minAvailable set to ${step.minAvailable} (a quorum of the voting members)`];
    case 'ExpandClaim':
      return ['Normal', 'ClaimExpanding', `asked claim ${step.claim} to grow from ${step.from} to ${step.size} (storage.size); the storage system grows it, no member restarts`];
    case 'DeleteClaim':
      return ['Normal', 'ClaimDeleted', `deleted the claim of removed ordinal ${step.ordinal}`];
    case 'RequestBackup':
      return ['Normal', 'BackupRequested', `asked EtcdBackup ${step.backup} for a full snapshot before the version change (etcdts.dev/snapshot-now=${step.request}); the roll-out waits for it`];
    case 'UpdateStatefulSet':
      return ['Normal', 'TemplateUpdated', 'applied the pod template the spec asks for: members restart one at a time, the leader last'];
    case 'RestartMember':
      return ['Normal', 'MemberRestarted', `restarted ${step.id !== undefined ? `member ${step.id} (ordinal ${step.ordinal})` : `ordinal ${step.ordinal}`}: ${step.reason}`];
    case 'Degraded':
      return ['Warning', step.reason, step.message];
    default:
      return undefined;
  }
}

function cond(type: string, status: 'True' | 'False', reason: string, message: string): Omit<Condition, 'lastTransitionTime'> {
  return { type, status, reason, message };
}

function conditionsFor(step: Step, o: { observed: Observed }): Array<Omit<Condition, 'lastTransitionTime'>> {
  const voters = (o.observed.members ?? []).filter((m) => !m.isLearner);
  const readyVoters = voters.filter((m) => {
    const ord = ordinalOf(o.observed.cluster, m.peerURL);
    return ord !== undefined && o.observed.readyPods.has(ord);
  }).length;
  const available = voters.length > 0 && readyVoters >= Math.floor(voters.length / 2) + 1;
  const progressing = !['Settled', 'Degraded', 'Paused'].includes(step.kind);
  return [
    cond('Available', available ? 'True' : 'False', available ? 'QuorumReady' : 'NoQuorum', `${readyVoters} of ${voters.length} voting members ready`),
    cond('Progressing', progressing ? 'True' : 'False', progressing ? step.kind : step.kind === 'Paused' ? 'Paused' : 'Settled', 'message' in step ? step.message : step.kind),
    cond('Degraded', step.kind === 'Degraded' ? 'True' : 'False', step.kind === 'Degraded' ? step.reason : 'AsExpected', step.kind === 'Degraded' ? step.message : ''),
  ];
}
