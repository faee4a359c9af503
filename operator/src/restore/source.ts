// An EtcdRestore's source, as the controller reads it: which store (from the EtcdBackup named, or given
// inline), which Secrets it needs (credentials, CA, key), which chain or object; then, with those Secrets,
// the target resolved once (in the operator's process, with the restore engine's planner) to one revision
// of one chain and the objects that reach it. A volume store is read by a pod of the operator's making
// (resolve-pod.ts): its claim is mounted by pods only.
import { keyringFrom, KeyError, type BackupKeyring } from '../../../etcd-node/src/backup/keys.js';
import { openStore } from '../../../etcd-node/src/backup/store/open-store.js';
import { StoreError } from '../../../etcd-node/src/backup/store/store.js';
import { planBackupRestore } from '../../../etcd-node/src/restore/backup-restore.js';
import { RestoreError } from '../../../etcd-node/src/restore/errors.js';
import type { RestoreTarget } from '../../../etcd-node/src/restore/plan.js';
import { parseRfc3339 } from '../../../etcd-node/src/util/rfc3339.js';
import { etcdBackupSpec, type EtcdBackupSpec } from '../api/etcd-backup.js';
import { GROUP, VERSION } from '../api/etcd-cluster.js';
import type { EtcdRestoreSpec } from '../api/etcd-restore.js';
import { ConfigProblem, generatedKeySecret, s3Config, secret } from '../backup/agent-config.js';
import { trimSlashes } from '../resources/names.js';
import type { RestoreInit } from '../resources/restore-init.js';
import { KubeError, type Kube } from '../runtime/kube.js';
import { readResolvePod, resolvePod, resolvePodName, type ResolveOwner, type ResolvePodStatus } from './resolve-pod.js';

type S3 = NonNullable<EtcdBackupSpec['store']['s3']>;

type Volume = NonNullable<EtcdBackupSpec['store']['volume']>;

/** What the source is, before any Secret is read: exactly one of s3 or volume. */
export interface SourcePlan {
  s3?: S3;
  volume?: Volume;
  keySecret: string | undefined;
  chain?: { namespace: string; cluster: string; clusterId?: string };
  object?: string;
}

/** The Resolution the planner records (restore controller's planner.ts). */
export interface Resolved {
  revision: number;
  time: number;
  clusterId: string;
  objects: string[];
}

/** The source's plan, or the objects it needs that do not exist (["EtcdBackup ns/x"]). */
export async function planSource(kube: Kube, namespace: string, spec: EtcdRestoreSpec): Promise<{ plan?: SourcePlan; missing: string[] }> {
  const src = spec.source;
  let plan: SourcePlan;
  if (src.backupName !== undefined) {
    const eb = await kube.get<{ spec: unknown }>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/etcdbackups/${src.backupName}`);
    if (!eb) return { missing: [`EtcdBackup ${namespace}/${src.backupName}`] };
    const parsed = etcdBackupSpec.safeParse(eb.spec);
    if (!parsed.success) throw new ConfigProblem('InvalidSource', `EtcdBackup ${namespace}/${src.backupName} has an invalid spec`);
    const b = parsed.data;
    plan = {
      ...storeOf(b.store),
      keySecret: b.encryption.disabled === true ? undefined : (b.encryption.keySecret ?? generatedKeySecret(src.backupName)),
      chain: { namespace, cluster: b.clusterName },
    };
  } else if (src.store !== undefined) {
    plan = {
      ...storeOf(src.store.store),
      keySecret: src.store.encryption.disabled === true ? undefined : src.store.encryption.keySecret,
      chain: { namespace: src.store.clusterNamespace ?? namespace, cluster: src.store.clusterName, ...(src.store.clusterId ? { clusterId: src.store.clusterId } : {}) },
    };
  } else {
    const snap = src.snapshot!;
    plan = { ...storeOf(snap.store), keySecret: snap.encryption?.disabled === true ? undefined : snap.encryption?.keySecret, object: snap.object };
  }
  const missing: string[] = [];
  for (const name of [plan.s3?.credentialsSecret, plan.s3?.caSecret, plan.keySecret]) {
    if (name !== undefined && !(await kube.get(`/api/v1/namespaces/${namespace}/secrets/${name}`))) missing.push(`Secret ${namespace}/${name}`);
  }
  if (plan.volume && !(await kube.get(`/api/v1/namespaces/${namespace}/persistentvolumeclaims/${plan.volume.claimName}`))) {
    missing.push(`PersistentVolumeClaim ${namespace}/${plan.volume.claimName}`);
  }
  return missing.length > 0 ? { missing } : { plan, missing };
}

function storeOf(store: { s3?: S3 | undefined; volume?: Volume | undefined }): { s3: S3 } | { volume: Volume } {
  return store.s3 ? { s3: store.s3 } : { volume: store.volume! };
}

function targetOf(spec: EtcdRestoreSpec): RestoreTarget {
  if (spec.target.revision !== undefined) return { kind: 'revision', revision: spec.target.revision };
  if (spec.target.time !== undefined) return { kind: 'time', time: parseRfc3339(spec.target.time)! };
  return { kind: 'latest' };
}

/**
 * Resolves the target with the Secrets' contents: a chain's revision, time and objects, or for a
 * snapshot object only its name (its revision is the snapshot's, read by the init containers).
 * An unreachable target or a corrupt chain is a ConfigProblem (terminal); a store that does not answer
 * is thrown as it is (the controller retries).
 */
export async function resolveSource(kube: Kube, restore: ResolveOwner, spec: EtcdRestoreSpec, plan: SourcePlan): Promise<Resolved | { pending: string }> {
  const namespace = restore.namespace;
  // the key is checked here whichever store it is for: a wrong Secret is named before any pod runs
  let keys: BackupKeyring | undefined;
  if (plan.keySecret) {
    const d = await secret(kube, namespace, plan.keySecret);
    try {
      keys = keyringFrom(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Buffer.from(v, 'base64')])), `Secret ${namespace}/${plan.keySecret}`);
    } catch (err) {
      if (err instanceof KeyError) throw new ConfigProblem('EncryptionKeyInvalid', err.message);
      throw err;
    }
  }
  if (plan.volume) return resolveInPod(kube, restore, spec, { ...plan, volume: plan.volume });
  const s3 = plan.s3!;
  const store = openStore({ s3: (await s3Config(kube, namespace, s3)).config });
  const prefix = trimSlashes(s3.prefix);
  try {
    if (plan.object !== undefined) {
      const name = prefix && !plan.object.startsWith(`${prefix}/`) ? `${prefix}/${plan.object}` : plan.object;
      const found = (await store.list(name)).find((o) => o.name === name);
      if (!found) throw new ConfigProblem('SnapshotNotFound', `${store.description}: no object ${name}`);
      return { revision: 0, time: 0, clusterId: '', objects: [name] };
    }
    const p = await planBackupRestore({ store, keys, location: { prefix, namespace: plan.chain!.namespace, cluster: plan.chain!.cluster }, ...(plan.chain!.clusterId ? { clusterId: plan.chain!.clusterId } : {}) }, targetOf(spec));
    return { revision: p.revision, time: p.time, clusterId: p.clusterId, objects: [p.full.name, ...p.deltas.map((d) => d.name)] };
  } catch (err) {
    if (err instanceof RestoreError) throw new ConfigProblem(reasonOf(err.code), err.message);
    if (err instanceof StoreError && STORE_TERMINAL.has(err.code)) throw new ConfigProblem(reasonOf(err.code), err.message);
    throw err;
  } finally {
    store.close();
  }
}

/** Store errors that no retry mends (others, such as an outage, are retried). */
const STORE_TERMINAL = new Set(['NoSuchBucket', 'AccessDenied', 'InvalidConfig']);

/** The EtcdRestore's Failed reason for a restore engine's error code. */
function reasonOf(code: string): string {
  if (code === 'Unreachable') return 'TargetUnreachable';
  if (code === 'NotFound') return 'SnapshotNotFound';
  if (STORE_TERMINAL.has(code)) return `Store${code}`;
  if (code === 'Corrupt' || code === 'HashMismatch' || code === 'NotASnapshot') return 'ChainCorrupt';
  return 'ResolveFailed';
}

/** A volume store's target, resolved by the EtcdRestore's resolve pod: made when missing, read when
 *  done, deleted after. Every outcome of a finished pod is terminal: a volume has no outage to wait out. */
async function resolveInPod(kube: Kube, restore: ResolveOwner, spec: EtcdRestoreSpec, plan: SourcePlan & { volume: Volume }): Promise<Resolved | { pending: string }> {
  const path = `/api/v1/namespaces/${restore.namespace}/pods/${resolvePodName(restore.name)}`;
  const pod = await kube.get<ResolvePodStatus>(path);
  if (pod && !pod.metadata.ownerReferences?.some((r) => r.uid === restore.uid)) {
    // left by an earlier EtcdRestore of the same name: its answer is not this one's
    await kube.delete(path);
    return { pending: `removing the resolve pod an earlier EtcdRestore ${restore.name} left` };
  }
  if (!pod) {
    await kube.create(
      `/api/v1/namespaces/${restore.namespace}/pods`,
      resolvePod(restore, spec, { volume: plan.volume, keySecret: plan.keySecret, ...(plan.chain ? { chain: plan.chain } : {}), ...(plan.object !== undefined ? { object: plan.object } : {}) }),
    );
    return { pending: `resolving the target in pod ${resolvePodName(restore.name)} (it mounts the claim ${plan.volume.claimName} read-only)` };
  }
  const out = readResolvePod(pod);
  if (out.kind === 'pending') return { pending: out.message };
  await kube.delete(path).catch((err: unknown) => {
    if (!(err instanceof KubeError && err.status === 404)) throw err;
  });
  if (out.kind === 'error') throw new ConfigProblem(reasonOf(out.code), out.message);
  const p = out.plan;
  if (p.object !== undefined) return { revision: 0, time: 0, clusterId: '', objects: [p.object] };
  if (typeof p.revision !== 'number' || typeof p.full !== 'string' || typeof p.clusterId !== 'string') {
    throw new ConfigProblem('ResolveFailed', `pod ${resolvePodName(restore.name)} gave a plan without a revision, full snapshot or cluster id`);
  }
  return { revision: p.revision, time: p.time ? Date.parse(p.time) : 0, clusterId: p.clusterId, objects: [p.full, ...(p.deltas ?? [])] };
}

/** The EtcdCluster's restore annotation for a resolved source. */
export function restoreInitFor(restore: { name: string; uid: string }, plan: SourcePlan, r: Resolved): RestoreInit {
  const s3 = plan.s3;
  return {
    restore: restore.name,
    uid: restore.uid,
    ...(s3
      ? {
          s3: {
            ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
            bucket: s3.bucket,
            prefix: trimSlashes(s3.prefix),
            region: s3.region,
            forcePathStyle: s3.forcePathStyle,
            credentialsSecret: s3.credentialsSecret,
            ...(s3.caSecret ? { caSecret: s3.caSecret } : {}),
          },
        }
      : { volume: { claimName: plan.volume!.claimName, path: trimSlashes(plan.volume!.path) } }),
    ...(plan.keySecret ? { keySecret: plan.keySecret } : {}),
    ...(plan.object !== undefined ? { object: r.objects[0]! } : { chain: { namespace: plan.chain!.namespace, cluster: plan.chain!.cluster, clusterId: r.clusterId, revision: r.revision } }),
  };
}
