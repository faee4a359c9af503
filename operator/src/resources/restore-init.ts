// A restored EtcdCluster's members start from restored data: the EtcdRestore controller creates the
// EtcdCluster with an annotation saying what to restore (the store, the Secrets to read, the chain and the
// revision it resolved once, or one snapshot object), and the StatefulSet gets an init container that runs
// `etcd-node backup restore` with the member's own flags. It runs at every start of a pod and writes only
// when it must: a member that holds data already (`--skip-existing`) or joins a running cluster as a new
// member (`--initial-cluster-state existing`, after a scale-up or a lost claim) is left alone.
// The credentials come from the Secret as environment variables and the key Secret as a folder, as the
// kubelet gives them: the pods need no API access.
import { z } from 'zod';
import type { EtcdClusterSpec } from '../api/etcd-cluster.js';
import { names, PEER_PORT, trimSlashes, type ClusterRef } from './names.js';

const ERROR_PREFIX = 'etcd-node backup restore: ';

/** The restore command's own error line in a container's output (its last one), without the prefix. */
export function restoreErrorLine(output: string): string | undefined {
  return output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(ERROR_PREFIX))
    ?.slice(ERROR_PREFIX.length);
}

/** On the EtcdCluster: the RestoreInit as JSON. Set at creation, never changed. */
export const RESTORE_ANNOTATION = 'etcdts.dev/restore';

export const restoreInit = z
  .object({
    /** the EtcdRestore that created the cluster, and its uid */
    restore: z.string(),
    uid: z.string(),
    s3: z
      .object({
        endpoint: z.string().optional(),
        bucket: z.string(),
        prefix: z.string(),
        region: z.string(),
        forcePathStyle: z.boolean(),
        credentialsSecret: z.string(),
        caSecret: z.string().optional(),
      })
      .strict()
      .optional(),
    /** a volume store: the claim (in the cluster's namespace) and the folder in it; mounted read-only */
    volume: z.object({ claimName: z.string(), path: z.string() }).strict().optional(),
    /** undefined: the objects are plaintext */
    keySecret: z.string().optional(),
    chain: z.object({ namespace: z.string(), cluster: z.string(), clusterId: z.string(), revision: z.number().int().positive() }).strict().optional(),
    object: z.string().optional(),
  })
  .strict()
  .refine((r) => (r.chain === undefined) !== (r.object === undefined), { message: 'exactly one of chain or object' })
  .refine((r) => (r.s3 === undefined) !== (r.volume === undefined), { message: 'exactly one of s3 or volume' });

export type RestoreInit = z.infer<typeof restoreInit>;

/** The annotation's RestoreInit, or undefined when there is none; a malformed one is an error (never
 *  silently a cluster that starts empty). */
export function restoreInitOf(annotations: Record<string, string> | undefined): RestoreInit | undefined {
  const raw = annotations?.[RESTORE_ANNOTATION];
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`annotation ${RESTORE_ANNOTATION} is not JSON`);
  }
  const r = restoreInit.safeParse(json);
  if (!r.success) throw new Error(`annotation ${RESTORE_ANNOTATION}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

const KEY_DIR = '/etc/etcd/restore-key';
const CA_DIR = '/etc/etcd/restore-ca';
/** where a volume store's claim is mounted (read-only) in the restore's containers */
export const STORE_DIR = '/etc/etcd/restore-store';

type StoreOf = Pick<RestoreInit, 's3' | 'volume'>;

/** The `backup restore` flags that name the store (`--store` and the S3 flags). */
export function storeArgs(r: StoreOf): string[] {
  if (r.volume) return [`--store=${[STORE_DIR, trimSlashes(r.volume.path)].filter(Boolean).join('/')}`];
  const s3 = r.s3!;
  return [
    `--store=s3://${[s3.bucket, trimSlashes(s3.prefix)].filter(Boolean).join('/')}`,
    ...(s3.endpoint ? [`--s3-endpoint=${s3.endpoint}`] : []),
    `--s3-region=${s3.region}`,
    `--s3-path-style=${String(s3.forcePathStyle)}`,
    ...(s3.caSecret ? [`--s3-ca=${CA_DIR}/ca.crt`] : []),
  ];
}

/** The volumes, mounts and variables a container running `backup restore` needs for the store and key. */
export function storeAccess(r: StoreOf & { keySecret?: string | undefined }): { volumes: Obj[]; mounts: Obj[]; env: Obj[]; keyArg: string } {
  const volumes: Obj[] = [];
  const mounts: Obj[] = [];
  const env: Obj[] = [];
  if (r.keySecret) {
    volumes.push({ name: 'restore-key', secret: { secretName: r.keySecret } });
    mounts.push({ name: 'restore-key', mountPath: KEY_DIR, readOnly: true });
  }
  if (r.s3?.caSecret) {
    volumes.push({ name: 'restore-ca', secret: { secretName: r.s3.caSecret } });
    mounts.push({ name: 'restore-ca', mountPath: CA_DIR, readOnly: true });
  }
  if (r.volume) {
    volumes.push({ name: 'restore-store', persistentVolumeClaim: { claimName: r.volume.claimName, readOnly: true } });
    mounts.push({ name: 'restore-store', mountPath: STORE_DIR, readOnly: true });
  }
  if (r.s3) {
    const secretKey = (key: string, optional = false): Obj => ({ secretKeyRef: { name: r.s3!.credentialsSecret, key, ...(optional ? { optional: true } : {}) } });
    env.push(
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: secretKey('accessKeyId') },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: secretKey('secretAccessKey') },
      { name: 'AWS_SESSION_TOKEN', valueFrom: secretKey('sessionToken', true) },
    );
  }
  return { volumes, mounts, env, keyArg: r.keySecret ? `--key-file=${KEY_DIR}` : '--no-encryption' };
}

type Obj = Record<string, unknown>;

/** The init container and the volumes it needs beside the data volume. */
export function restoreInitContainer(o: ClusterRef & { uid: string }, spec: EtcdClusterSpec, r: RestoreInit, image: string, peerScheme: string): { container: Obj; volumes: Obj[] } {
  const host = `$(POD_NAME).${names.peerService(o)}.${o.namespace}.svc`;
  const access = storeAccess(r);
  const args = [
    'backup',
    'restore',
    ...storeArgs(r),
    access.keyArg,
    ...(r.chain ? [`--namespace=${r.chain.namespace}`, `--cluster=${r.chain.cluster}`, `--cluster-id=${r.chain.clusterId}`, `--to-revision=${r.chain.revision}`] : [`--object=${r.object!}`]),
    '--data-dir=/var/lib/etcd/data',
    '--scratch-dir=/var/lib/etcd',
    '--name=$(POD_NAME)',
    '--initial-cluster=$(ETCD_INITIAL_CLUSTER)',
    `--initial-cluster-token=${o.namespace}-${o.name}-${o.uid}`,
    `--initial-advertise-peer-urls=${peerScheme}://${host}:${PEER_PORT}`,
    '--initial-cluster-state=$(ETCD_INITIAL_CLUSTER_STATE)',
    '--skip-existing',
  ];
  const configKey = (key: string): Obj => ({ configMapKeyRef: { name: names.bootstrap(o), key } });
  return {
    container: {
      name: 'restore',
      image,
      command: ['etcd-node'],
      args,
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'ETCD_INITIAL_CLUSTER', valueFrom: configKey('initial-cluster') },
        { name: 'ETCD_INITIAL_CLUSTER_STATE', valueFrom: configKey('initial-cluster-state') },
        ...access.env,
      ],
      // a failed restore's last lines (the object or revision at fault) reach the pod's status, which the
      // EtcdRestore controller reports
      terminationMessagePolicy: 'FallbackToLogsOnError',
      ...(spec.pod?.resources ? { resources: spec.pod.resources } : {}),
      volumeMounts: [{ name: o.claimTemplate ?? 'data', mountPath: '/var/lib/etcd' }, ...access.mounts],
    },
    volumes: access.volumes,
  };
}
