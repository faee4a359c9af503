// A volume store is a claim only pods can mount: the operator resolves an EtcdRestore's target there with
// a pod of its own (`<restore>-resolve`, owned by the EtcdRestore) that mounts the claim read-only and runs
// `etcd-node backup restore --dry-run --plan-file /dev/termination-log`. The kubelet puts that file in the
// container's terminated state, so the plan (or the typed error) reaches the operator through the API
// alone; the pod needs no API access and the operator no volume. Pure functions here; the controller's
// source.ts does the I/O.
import type { EtcdClusterSpec } from '../api/etcd-cluster.js';
import type { EtcdRestoreSpec } from '../api/etcd-restore.js';
import { memberImage } from '../resources/builders.js';
import { restoreErrorLine, storeAccess, storeArgs, type RestoreInit } from '../resources/restore-init.js';

type Obj = Record<string, unknown>;

export const TERMINATION_LOG = '/dev/termination-log';

export interface ResolveOwner {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

export const resolvePodName = (restore: string): string => `${restore.slice(0, 240)}-resolve`;

export interface ResolveWhat {
  readonly volume: NonNullable<RestoreInit['volume']>;
  readonly keySecret: string | undefined;
  readonly chain?: { namespace: string; cluster: string; clusterId?: string };
  readonly object?: string;
}

/** The resolve pod of an EtcdRestore whose store is a volume. */
export function resolvePod(o: ResolveOwner, spec: EtcdRestoreSpec, what: ResolveWhat): Obj {
  const access = storeAccess({ volume: what.volume, keySecret: what.keySecret });
  const t = spec.target;
  const target = t.revision !== undefined ? [`--to-revision=${t.revision}`] : t.time !== undefined ? [`--to-time=${t.time}`] : [];
  const which = what.chain
    ? [`--namespace=${what.chain.namespace}`, `--cluster=${what.chain.cluster}`, ...(what.chain.clusterId ? [`--cluster-id=${what.chain.clusterId}`] : []), ...target]
    : [`--object=${what.object!}`];
  const cluster: EtcdClusterSpec = spec.cluster.spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: resolvePodName(o.name),
      namespace: o.namespace,
      labels: { 'app.kubernetes.io/name': 'etcd-restore-resolve', 'app.kubernetes.io/instance': o.name, 'app.kubernetes.io/managed-by': 'etcd-ts-operator' },
      ownerReferences: [{ apiVersion: 'etcdts.dev/v1alpha1', kind: 'EtcdRestore', name: o.name, uid: o.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      // a claim that cannot be mounted leaves the pod Pending: the EtcdRestore says so, and this ends it
      activeDeadlineSeconds: 600,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      ...(cluster.pod?.nodeSelector ? { nodeSelector: cluster.pod.nodeSelector } : {}),
      ...(cluster.pod?.tolerations ? { tolerations: cluster.pod.tolerations } : {}),
      containers: [
        {
          name: 'resolve',
          image: memberImage(cluster),
          command: ['etcd-node'],
          args: ['backup', 'restore', ...storeArgs({ volume: what.volume }), access.keyArg, ...which, '--dry-run', '-w', 'json', `--plan-file=${TERMINATION_LOG}`],
          terminationMessagePath: TERMINATION_LOG,
          // a flag the command refuses before it writes the file: its message is in the log
          terminationMessagePolicy: 'FallbackToLogsOnError',
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '512Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          volumeMounts: access.mounts,
        },
      ],
      volumes: access.volumes,
    },
  };
}

export interface ResolvePodStatus {
  metadata: { name: string; ownerReferences?: Array<{ uid: string }> };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: Array<{ state?: { waiting?: { reason?: string; message?: string }; terminated?: { exitCode?: number; message?: string } } }>;
  };
}

/** `backup restore --dry-run -w json`'s plan: a chain's, or a snapshot object's */
export interface PlanJson {
  clusterId?: string;
  revision?: number;
  time?: string;
  full?: string;
  deltas?: string[];
  object?: string;
}

export type ResolveOutcome =
  | { kind: 'pending'; message: string }
  | { kind: 'plan'; plan: PlanJson }
  | { kind: 'error'; code: string; message: string };

/** What a resolve pod says: still going, the plan, or why there is none. */
export function readResolvePod(p: ResolvePodStatus): ResolveOutcome {
  const phase = p.status?.phase ?? 'Pending';
  const c = p.status?.containerStatuses?.[0]?.state;
  if (phase !== 'Succeeded' && phase !== 'Failed') {
    const waiting = c?.waiting?.reason ? ` (${c.waiting.reason}${c.waiting.message ? `: ${c.waiting.message}` : ''})` : '';
    return { kind: 'pending', message: `resolving the target in pod ${p.metadata.name}: ${phase}${waiting}` };
  }
  const text = c?.terminated?.message ?? '';
  let json: unknown;
  try {
    json = JSON.parse(text.trim());
  } catch {
    json = undefined;
  }
  if (json && typeof json === 'object') {
    const e = (json as { error?: { code?: unknown; message?: unknown } }).error;
    if (e) return { kind: 'error', code: typeof e.code === 'string' ? e.code : 'Error', message: typeof e.message === 'string' ? e.message : text };
    if (phase === 'Succeeded') return { kind: 'plan', plan: json };
  }
  const line = restoreErrorLine(text);
  const exit = c?.terminated?.exitCode;
  const why = line ?? (p.status?.message || text.trim().split('\n').pop() || 'no message');
  return { kind: 'error', code: 'Error', message: `pod ${p.metadata.name} ${phase === 'Succeeded' ? 'gave no plan' : `failed${exit !== undefined ? ` (exit ${exit})` : ''}`}: ${why}` };
}
