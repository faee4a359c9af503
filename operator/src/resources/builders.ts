// The objects an EtcdCluster owns, as pure functions of the cluster: the headless peer Service, the
// client Service, the bootstrap ConfigMap, the StatefulSet and the PodDisruptionBudget. Every one
// carries the owner reference (garbage-collected with the cluster) and the cluster's labels.
import { createHash } from 'node:crypto';
import type { EtcdClusterSpec } from '../api/etcd-cluster.js';
import { CLIENT_PORT, initialCluster, names, PEER_PORT, quorum, type ClusterRef } from './names.js';
import { restoreInitContainer, type RestoreInit } from './restore-init.js';

export interface Owner extends ClusterRef {
  readonly uid: string;
}

/** The etcd-node image when the spec names only a version. */
export const IMAGE_REPOSITORY = 'ghcr.io/etcd-ts/etcd-node';

type Obj = Record<string, unknown>;

/** The image of a cluster's members (and of the pods that restore their data). */
export function memberImage(spec: Pick<EtcdClusterSpec, 'image' | 'version'>): string {
  return spec.image ?? `${IMAGE_REPOSITORY}:${spec.version ?? 'latest'}`;
}

/** An image's tag (`…/etcd-node:0.2.0` → `0.2.0`), or the whole reference when it has none (or a digest). */
export function versionOfImage(image: string): string {
  const at = image.indexOf('@');
  if (at >= 0) return image;
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? image.slice(colon + 1) : image;
}

export function labels(c: ClusterRef): Record<string, string> {
  return { 'app.kubernetes.io/name': 'etcd', 'app.kubernetes.io/instance': c.name, 'app.kubernetes.io/managed-by': 'etcd-ts-operator' };
}

function meta(o: Owner, name: string, extra: Obj = {}): Obj {
  return {
    name,
    namespace: o.namespace,
    labels: labels(o),
    ownerReferences: [{ apiVersion: 'etcdts.dev/v1alpha1', kind: 'EtcdCluster', name: o.name, uid: o.uid, controller: true, blockOwnerDeletion: true }],
    ...extra,
  };
}

export function peerService(o: Owner): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(o, names.peerService(o)),
    spec: {
      clusterIP: 'None',
      // members must find each other before they are ready (a joining member is not ready yet)
      publishNotReadyAddresses: true,
      selector: labels(o),
      ports: [
        { name: 'client', port: CLIENT_PORT },
        { name: 'peer', port: PEER_PORT },
      ],
    },
  };
}

export function clientService(o: Owner): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(o, names.clientService(o)),
    spec: { selector: labels(o), ports: [{ name: 'client', port: CLIENT_PORT }] },
  };
}

/** https when the spec gives the peers (or clients) a TLS Secret. */
export const peerScheme = (spec: EtcdClusterSpec): 'http' | 'https' => (spec.tls?.peer ? 'https' : 'http');
export const clientScheme = (spec: EtcdClusterSpec): 'http' | 'https' => (spec.tls?.client ? 'https' : 'http');

/** The pods read --initial-cluster and --initial-cluster-state from here (flipped to existing after bootstrap). */
export function bootstrapConfig(o: Owner, spec: EtcdClusterSpec, initialMembers: number, state: 'new' | 'existing'): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(o, names.bootstrap(o)),
    data: { 'initial-cluster': initialCluster(o, initialMembers, peerScheme(spec)), 'initial-cluster-state': state },
  };
}

const TLS_DIR = '/etc/etcd/tls';

/** `voters`: the voting members the PDB must keep a quorum of (at creation: the initial members). */
export function pdb(o: Owner, voters: number): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(o, names.pdb(o)),
    spec: { minAvailable: quorum(voters), selector: { matchLabels: labels(o) } },
  };
}

function optionArgs(spec: EtcdClusterSpec): string[] {
  const o = spec.options ?? {};
  const out: string[] = [];
  if (o.snapshotCount !== undefined) out.push(`--snapshot-count=${o.snapshotCount}`);
  if (o.quotaBackendBytes !== undefined) out.push(`--quota-backend-bytes=${o.quotaBackendBytes}`);
  if (o.autoCompactionRetention !== undefined) out.push(`--auto-compaction-retention=${o.autoCompactionRetention}`);
  if (o.heartbeatInterval !== undefined) out.push(`--heartbeat-interval=${o.heartbeatInterval}`);
  if (o.electionTimeout !== undefined) out.push(`--election-timeout=${o.electionTimeout}`);
  return out;
}

/** Secret volumes and etcd-node's TLS flags for the spec's client and peer Secrets (tls.crt, tls.key,
 *  ca.crt). Peers verify each other's certificates (--peer-client-cert-auth); clients are not required to
 *  present one (the probes and clients without certificates still connect; auth can name users). */
function tlsParts(spec: EtcdClusterSpec): { args: string[]; volumes: Obj[]; mounts: Obj[] } {
  const args: string[] = [];
  const volumes: Obj[] = [];
  const mounts: Obj[] = [];
  if (spec.tls?.client) {
    volumes.push({ name: 'client-tls', secret: { secretName: spec.tls.client.secretName } });
    mounts.push({ name: 'client-tls', mountPath: `${TLS_DIR}/client`, readOnly: true });
    args.push(`--cert-file=${TLS_DIR}/client/tls.crt`, `--key-file=${TLS_DIR}/client/tls.key`, `--trusted-ca-file=${TLS_DIR}/client/ca.crt`);
  }
  if (spec.tls?.peer) {
    volumes.push({ name: 'peer-tls', secret: { secretName: spec.tls.peer.secretName } });
    mounts.push({ name: 'peer-tls', mountPath: `${TLS_DIR}/peer`, readOnly: true });
    args.push(
      `--peer-cert-file=${TLS_DIR}/peer/tls.crt`,
      `--peer-key-file=${TLS_DIR}/peer/tls.key`,
      `--peer-trusted-ca-file=${TLS_DIR}/peer/ca.crt`,
      '--peer-client-cert-auth',
    );
  }
  return { args, volumes, mounts };
}

/** On the StatefulSet: the hash of the pod template the operator last applied. The API server adds
 *  defaults to a stored template, so the stored one is never equal to what was sent: this is compared. */
export const TEMPLATE_HASH = 'etcdts.dev/template-hash';

/** The hash of a StatefulSet object's pod template (as built here, before the API server's defaults). */
export function templateHash(sts: Obj): string {
  const template = (sts['spec'] as Obj)['template'];
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16);
}

/** `restore`: the cluster was created by an EtcdRestore; its members restore their data first. */
export function statefulSet(o: Owner, spec: EtcdClusterSpec, replicas: number, restore?: RestoreInit): Obj {
  const sts = statefulSetObject(o, spec, replicas, restore);
  ((sts['metadata'] as Obj)['annotations'] as Record<string, string>)[TEMPLATE_HASH] = templateHash(sts);
  return sts;
}

function statefulSetObject(o: Owner, spec: EtcdClusterSpec, replicas: number, restore?: RestoreInit): Obj {
  const host = `$(POD_NAME).${names.peerService(o)}.${o.namespace}.svc`;
  const cs = clientScheme(spec);
  const ps = peerScheme(spec);
  const tls = tlsParts(spec);
  const podLabels = { ...(spec.pod?.labels ?? {}), ...labels(o) };
  const configKey = (key: string): Obj => ({ configMapKeyRef: { name: names.bootstrap(o), key } });
  const image = memberImage(spec);
  const init = restore ? restoreInitContainer(o, spec, restore, image, ps) : undefined;
  const volumes = [...tls.volumes, ...(init?.volumes ?? [])];
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(o, names.statefulSet(o), { annotations: {} }),
    spec: {
      serviceName: names.peerService(o),
      replicas,
      // members start together at bootstrap; later ones are added one at a time by the operator anyway
      podManagementPolicy: 'Parallel',
      // a new template reaches a member only when the operator deletes its pod: one at a time, the leader
      // last, each once the one before is ready again (the planner's roll-out)
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: labels(o) },
      template: {
        metadata: { labels: podLabels, annotations: spec.pod?.annotations ?? {} },
        spec: {
          automountServiceAccountToken: false,
          ...(spec.pod?.nodeSelector ? { nodeSelector: spec.pod.nodeSelector } : {}),
          ...(spec.pod?.priorityClassName ? { priorityClassName: spec.pod.priorityClassName } : {}),
          ...(spec.pod?.affinity ? { affinity: spec.pod.affinity } : {}),
          ...(spec.pod?.tolerations ? { tolerations: spec.pod.tolerations } : {}),
          ...(init ? { initContainers: [init.container] } : {}),
          containers: [
            {
              name: 'etcd',
              image,
              command: ['etcd-node'],
              args: [
                '--name=$(POD_NAME)',
                '--data-dir=/var/lib/etcd/data',
                `--listen-client-urls=${cs}://$(POD_IP):${CLIENT_PORT}`,
                `--advertise-client-urls=${cs}://${host}:${CLIENT_PORT}`,
                `--listen-peer-urls=${ps}://$(POD_IP):${PEER_PORT}`,
                `--initial-advertise-peer-urls=${ps}://${host}:${PEER_PORT}`,
                `--initial-cluster-token=${o.namespace}-${o.name}-${o.uid}`,
                ...tls.args,
                ...optionArgs(spec),
              ],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'ETCD_INITIAL_CLUSTER', valueFrom: configKey('initial-cluster') },
                { name: 'ETCD_INITIAL_CLUSTER_STATE', valueFrom: configKey('initial-cluster-state') },
              ],
              ports: [
                { name: 'client', containerPort: CLIENT_PORT },
                { name: 'peer', containerPort: PEER_PORT },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: CLIENT_PORT, scheme: cs.toUpperCase() }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/livez', port: CLIENT_PORT, scheme: cs.toUpperCase() }, periodSeconds: 10, failureThreshold: 6 },
              ...(spec.pod?.resources ? { resources: spec.pod.resources } : {}),
              volumeMounts: [{ name: o.claimTemplate ?? 'data', mountPath: '/var/lib/etcd' }, ...tls.mounts],
            },
          ],
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: o.claimTemplate ?? 'data', labels: labels(o) },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(spec.storage.storageClassName ? { storageClassName: spec.storage.storageClassName } : {}),
            resources: { requests: { storage: spec.storage.size } },
          },
        },
      ],
    },
  };
}
