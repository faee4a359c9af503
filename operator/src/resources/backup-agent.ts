// What an EtcdBackup owns, as pure functions of it: the agent's Deployment (one pod, Recreate, so two
// agents never overlap; the Lease guards the rest), its ServiceAccount, and a Role that lets it read its
// EtcdBackup, its cluster and exactly the Secrets it needs, write its status, hold its Lease and record
// Events. Every object carries the owner reference (garbage-collected with the EtcdBackup) and the hash
// of what was applied, so a changed spec is applied again. The generated encryption key Secret is not
// owned: deleting the EtcdBackup must never delete the only key to its objects.
import { createHash } from 'node:crypto';
import type { EtcdBackupSpec } from '../api/etcd-backup.js';
import type { EtcdClusterSpec } from '../api/etcd-cluster.js';
import { trimSlashes } from './names.js';

type Obj = Record<string, unknown>;

export const APPLIED_HASH = 'etcdts.dev/applied-hash';
export const AGENT_PORT = 8080;
export const SCRATCH_MOUNT = '/scratch';
export const VOLUME_MOUNT = '/backup';

export interface BackupOwner {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

export const agentNames = {
  deployment: (b: { name: string }): string => `${b.name}-backup-agent`,
  serviceAccount: (b: { name: string }): string => `${b.name}-backup-agent`,
  role: (b: { name: string }): string => `${b.name}-backup-agent`,
};

/**
 * The Lease an agent holds while it writes: one per chain (store, prefix, namespace, cluster), not per
 * EtcdBackup, so two EtcdBackups that would write the same chain never write at once.
 */
export function chainLease(spec: Pick<EtcdBackupSpec, 'store' | 'clusterName'>, namespace: string): string {
  const where = spec.store.s3
    ? { endpoint: spec.store.s3.endpoint ?? '', bucket: spec.store.s3.bucket, prefix: trimSlashes(spec.store.s3.prefix) }
    : { claimName: spec.store.volume?.claimName ?? '', path: trimSlashes(spec.store.volume?.path ?? '') };
  return `etcd-backup-${hashOf([where, namespace, spec.clusterName])}`;
}

export function agentLabels(b: { name: string }): Record<string, string> {
  return { 'app.kubernetes.io/name': 'etcd-backup-agent', 'app.kubernetes.io/instance': b.name, 'app.kubernetes.io/managed-by': 'etcd-ts-operator' };
}

export function hashOf(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
}

function meta(b: BackupOwner, name: string, hash: string): Obj {
  return {
    name,
    namespace: b.namespace,
    labels: agentLabels(b),
    annotations: { [APPLIED_HASH]: hash },
    ownerReferences: [{ apiVersion: 'etcdts.dev/v1alpha1', kind: 'EtcdBackup', name: b.name, uid: b.uid, controller: true, blockOwnerDeletion: true }],
  };
}

export function serviceAccount(b: BackupOwner): Obj {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(b, agentNames.serviceAccount(b), hashOf('sa')) };
}

/** The Secrets the agent reads: the store's credentials and CA, the key, the cluster's client TLS. */
export function agentSecrets(spec: EtcdBackupSpec, cluster: Pick<EtcdClusterSpec, 'tls'> | undefined, keySecret: string | undefined): string[] {
  const s = new Set<string>();
  if (spec.store.s3) {
    s.add(spec.store.s3.credentialsSecret);
    if (spec.store.s3.caSecret) s.add(spec.store.s3.caSecret);
  }
  if (keySecret) s.add(keySecret);
  if (cluster?.tls?.client) s.add(cluster.tls.client.secretName);
  if (cluster?.tls?.operator) s.add(cluster.tls.operator.secretName);
  return [...s].sort();
}

export function role(b: BackupOwner, spec: EtcdBackupSpec, secrets: string[]): Obj {
  const rules: Obj[] = [
    { apiGroups: ['etcdts.dev'], resources: ['etcdbackups'], resourceNames: [b.name], verbs: ['get', 'watch'] },
    { apiGroups: ['etcdts.dev'], resources: ['etcdbackups/status'], resourceNames: [b.name], verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['etcdts.dev'], resources: ['etcdclusters'], resourceNames: [spec.clusterName], verbs: ['get'] },
    // a Lease cannot be created by name; only its own one may be read and renewed
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [chainLease(spec, b.namespace)], verbs: ['get', 'update'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
  if (secrets.length > 0) rules.push({ apiGroups: [''], resources: ['secrets'], resourceNames: secrets, verbs: ['get'] });
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(b, agentNames.role(b), hashOf(rules)), rules };
}

export function roleBinding(b: BackupOwner): Obj {
  const body = {
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: agentNames.role(b) },
    subjects: [{ kind: 'ServiceAccount', name: agentNames.serviceAccount(b), namespace: b.namespace }],
  };
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(b, agentNames.role(b), hashOf(body)), ...body };
}

export function agentDeployment(b: BackupOwner, spec: EtcdBackupSpec, image: string, replicas: 0 | 1): Obj {
  const volumes: Obj[] = [{ name: 'scratch', emptyDir: {} }];
  const mounts: Obj[] = [{ name: 'scratch', mountPath: SCRATCH_MOUNT }];
  if (spec.store.volume) {
    volumes.push({ name: 'backup', persistentVolumeClaim: { claimName: spec.store.volume.claimName } });
    mounts.push({ name: 'backup', mountPath: VOLUME_MOUNT });
  }
  const field = (name: string, fieldPath: string): Obj => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  // generous: a busy agent (a large full being compressed and encrypted) may answer slowly, and
  // restarting it only delays the next write
  const probe = { httpGet: { path: '/healthz', port: AGENT_PORT }, periodSeconds: 10, timeoutSeconds: 5 };
  const liveness = { ...probe, initialDelaySeconds: 10, failureThreshold: 6 };
  const podSpec: Obj = {
    serviceAccountName: agentNames.serviceAccount(b),
    securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    // the agent flushes its tail and gives its Lease up on SIGTERM
    terminationGracePeriodSeconds: 30,
    containers: [
      {
        name: 'agent',
        image,
        command: ['etcd-operator'],
        args: [
          'backup-agent',
          `--backup=${b.name}`,
          '--namespace=$(POD_NAMESPACE)',
          `--metrics-address=$(POD_IP):${AGENT_PORT}`,
          `--scratch-dir=${SCRATCH_MOUNT}`,
          `--volume-mount=${VOLUME_MOUNT}`,
        ],
        env: [field('POD_NAMESPACE', 'metadata.namespace'), field('POD_NAME', 'metadata.name'), field('POD_IP', 'status.podIP')],
        ports: [{ name: 'metrics', containerPort: AGENT_PORT }],
        readinessProbe: probe,
        livenessProbe: liveness,
        resources: spec.agent?.resources ?? { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '1Gi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: mounts,
      },
    ],
    volumes,
    ...(spec.agent?.nodeSelector ? { nodeSelector: spec.agent.nodeSelector } : {}),
    ...(spec.agent?.tolerations ? { tolerations: spec.agent.tolerations } : {}),
    ...(spec.agent?.priorityClassName ? { priorityClassName: spec.agent.priorityClassName } : {}),
  };
  const body = {
    replicas,
    strategy: { type: 'Recreate' },
    selector: { matchLabels: agentLabels(b) },
    template: { metadata: { labels: agentLabels(b) }, spec: podSpec },
  };
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(b, agentNames.deployment(b), hashOf(body)), spec: body };
}

/** The generated key's Secret: owned by nothing, labelled so a user finds it. */
export function keySecret(b: { name: string; namespace: string }, name: string, key: Buffer): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace: b.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'etcd-ts-operator', 'etcdts.dev/backup': b.name },
      annotations: { 'etcdts.dev/note': 'The key of the EtcdBackup\'s objects. Keep it: without it the backups cannot be restored. Deleting the EtcdBackup does not delete it.' },
    },
    data: { key: key.toString('base64') },
  };
}
