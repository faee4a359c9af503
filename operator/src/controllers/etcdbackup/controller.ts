// The EtcdBackup controller: gather (the EtcdBackup, its cluster, the key Secret, the owned objects),
// decide with the pure planner, make the owned objects what they should be (created, or replaced when the
// hash of what was applied differs), and write the controller's part of the status: observedGeneration,
// the key Secret's name, and the conditions when the agent must not run. The agent writes the rest.
import type { Reconciler, Result } from '../../runtime/reconciler.js';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, etcdClusterSpec, type Condition } from '../../api/etcd-cluster.js';
import { type EtcdBackup } from '../../api/etcd-backup.js';
import { checkSpec, ConfigProblem, generatedKeySecret } from '../../backup/agent-config.js';
import { agentDeployment, agentSecrets, APPLIED_HASH, keySecret, role, roleBinding, serviceAccount, type BackupOwner } from '../../resources/backup-agent.js';
import type { EventRecorder } from '../../runtime/events.js';
import { KubeError, type Kube, type Obj } from '../../runtime/kube.js';
import type { Logger } from '../../runtime/log.js';
import { decide } from './planner.js';
import { settleConditions } from '../../runtime/conditions.js';

const API = `/apis/${GROUP}/${VERSION}`;

export type { Result } from '../../runtime/reconciler.js';

export class EtcdBackupController implements Reconciler {
  constructor(
    private readonly kube: Kube,
    private readonly log: Logger,
    /** the image the agent runs (the operator's own) */
    private readonly agentImage: string,
    private readonly events?: EventRecorder,
  ) {}

  async reconcile(namespace: string, name: string): Promise<Result> {
    const path = `${API}/namespaces/${namespace}/etcdbackups/${name}`;
    const eb = await this.kube.get<EtcdBackup>(path);
    if (!eb || eb.metadata.deletionTimestamp) return {}; // owned objects go with it; the key Secret stays
    const log = this.log.with({ etcdbackup: `${namespace}/${name}` });
    const owner: BackupOwner = { name, namespace, uid: eb.metadata.uid ?? '' };
    let spec;
    let specProblem: { reason: string; message: string } | undefined;
    try {
      spec = checkSpec(eb).spec;
    } catch (err) {
      if (!(err instanceof ConfigProblem)) throw err;
      specProblem = { reason: err.reason, message: err.message };
    }
    const ns = `/api/v1/namespaces/${namespace}`;
    const cluster = spec ? await this.kube.get<{ spec: unknown }>(`${API}/namespaces/${namespace}/etcdclusters/${spec.clusterName}`) : undefined;
    const keyName = spec && spec.encryption.disabled !== true ? (spec.encryption.keySecret ?? generatedKeySecret(name)) : undefined;
    const keyExists = keyName ? (await this.kube.get(`${ns}/secrets/${keyName}`)) !== undefined : false;
    const d = decide({
      ...(specProblem ? { specProblem } : {}),
      suspend: spec?.suspend ?? false,
      clusterExists: cluster !== undefined,
      clusterName: spec?.clusterName ?? '',
      namespace,
      keySecret: keyName,
      keySecretGenerated: spec !== undefined && spec.encryption.keySecret === undefined,
      keySecretExists: keyExists,
      currentReasons: (eb.status?.conditions ?? []).map((c) => c.reason),
    });

    if (d.createKeySecret) {
      await this.kube.create(`${ns}/secrets`, keySecret(eb.metadata, d.createKeySecret, randomBytes(32)));
      log.info('generated the encryption key', { secret: d.createKeySecret });
      await this.events?.record(this.involved(eb), 'Normal', 'KeyGenerated', `generated the encryption key into Secret ${d.createKeySecret} (not owned by the EtcdBackup: keep it to restore)`);
      return { requeueAfterMs: 0 };
    }
    if (spec) {
      const clusterSpec = cluster ? etcdClusterSpec.safeParse(cluster.spec) : undefined;
      await this.apply(`${ns}/serviceaccounts`, serviceAccount(owner));
      await this.apply(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, role(owner, spec, agentSecrets(spec, clusterSpec?.success ? clusterSpec.data : undefined, keyName)));
      await this.apply(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, roleBinding(owner));
      await this.apply(`/apis/apps/v1/namespaces/${namespace}/deployments`, agentDeployment(owner, spec, this.agentImage, d.replicas));
    } else {
      await this.scaleToZero(owner);
    }
    await this.writeStatus(eb, keyName, d.conditions, log);
    if (d.conditions && d.conditions[1]?.status === 'True' && !(eb.status?.conditions ?? []).some((c) => c.reason === d.conditions![1]!.reason)) {
      await this.events?.record(this.involved(eb), 'Warning', d.conditions[1].reason, d.conditions[1].message);
    }
    log.debug('reconciled', { replicas: d.replicas, ...(d.conditions ? { reason: d.conditions[0]!.reason } : {}) });
    return { requeueAfterMs: d.replicas === 0 && !spec?.suspend ? 10_000 : 60_000 };
  }

  private involved(eb: EtcdBackup): { apiVersion: string; kind: string; name: string; namespace: string; uid?: string } {
    return { apiVersion: `${GROUP}/${VERSION}`, kind: 'EtcdBackup', name: eb.metadata.name, namespace: eb.metadata.namespace, ...(eb.metadata.uid ? { uid: eb.metadata.uid } : {}) };
  }

  /** Creates the object, or replaces it when what was applied (its hash annotation) differs. */
  private async apply(collection: string, desired: Obj): Promise<void> {
    const meta = desired.metadata as { name: string; annotations: Record<string, string> };
    const current = await this.kube.get<Obj & { metadata: { resourceVersion?: string; annotations?: Record<string, string> } }>(`${collection}/${meta.name}`);
    if (!current) {
      await this.kube.create(collection, desired);
      return;
    }
    if (current.metadata.annotations?.[APPLIED_HASH] === meta.annotations[APPLIED_HASH]) return;
    await this.kube.request('PUT', `${collection}/${meta.name}`, { ...desired, metadata: { ...current.metadata, ...(desired.metadata as Obj), resourceVersion: current.metadata.resourceVersion } });
  }

  private async scaleToZero(b: BackupOwner): Promise<void> {
    const p = `/apis/apps/v1/namespaces/${b.namespace}/deployments/${b.name}-backup-agent`;
    if (await this.kube.get(p)) await this.kube.mergePatch(p, { spec: { replicas: 0 } });
  }

  private async writeStatus(eb: EtcdBackup, keyName: string | undefined, conds: Array<Omit<Condition, 'lastTransitionTime'>> | undefined, log: Logger): Promise<void> {
    const patch: Record<string, unknown> = { observedGeneration: eb.metadata.generation };
    if (keyName) patch['encryptionKeySecret'] = keyName;
    if (conds) {
      patch['conditions'] = settleConditions(conds, eb.status?.conditions ?? [], eb.metadata.generation);
    }
    const changed = Object.entries(patch).some(([k, v]) => JSON.stringify((eb.status as Record<string, unknown> | undefined)?.[k]) !== JSON.stringify(v));
    if (!changed) return;
    try {
      // the resourceVersion makes this conditional: the agent may have written meanwhile
      await this.kube.mergePatch(`${API}/namespaces/${eb.metadata.namespace}/etcdbackups/${eb.metadata.name}/status`, {
        metadata: { resourceVersion: eb.metadata.resourceVersion },
        status: patch,
      });
    } catch (err) {
      if (err instanceof KubeError && err.conflict) {
        log.debug('status changed meanwhile; looking again');
        throw err;
      }
      throw err;
    }
  }
}
