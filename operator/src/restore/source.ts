// An EtcdRestore's source, as the controller reads it: which store (from the EtcdBackup named, or given
// inline), which Secrets it needs (credentials, CA, key), which chain or object; then, with those Secrets,
// the target resolved once (in the operator's process, with the restore engine's planner) to one revision
// of one chain and the objects that reach it. A volume store cannot be read by the operator (its claim
// is mounted by pods only): such a source is refused with a message saying how to restore it by hand.
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
import { ConfigProblem, entry, generatedKeySecret, secret } from '../backup/agent-config.js';
import type { RestoreInit } from '../resources/restore-init.js';
import type { Kube } from '../runtime/kube.js';

type S3 = NonNullable<EtcdBackupSpec['store']['s3']>;

/** What the source is, before any Secret is read. */
export interface SourcePlan {
  s3: S3;
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

const VOLUME_BY_HAND =
  'a volume store is read by pods only (the operator cannot mount its claim): restore it with `etcd-node backup restore --store <folder>` in a pod that mounts the claim, or copy the objects to S3';

/**
 * The source's plan, or the objects it needs that do not exist (["EtcdBackup ns/x"]). A source the
 * operator cannot restore (a volume store) is a ConfigProblem.
 */
export async function planSource(kube: Kube, namespace: string, spec: EtcdRestoreSpec): Promise<{ plan?: SourcePlan; missing: string[] }> {
  const src = spec.source;
  let plan: SourcePlan;
  if (src.backupName !== undefined) {
    const eb = await kube.get<{ spec: unknown }>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/etcdbackups/${src.backupName}`);
    if (!eb) return { missing: [`EtcdBackup ${namespace}/${src.backupName}`] };
    const parsed = etcdBackupSpec.safeParse(eb.spec);
    if (!parsed.success) throw new ConfigProblem('InvalidSource', `EtcdBackup ${namespace}/${src.backupName} has an invalid spec`);
    const b = parsed.data;
    if (!b.store.s3) throw new ConfigProblem('UnsupportedSource', `EtcdBackup ${namespace}/${src.backupName}: ${VOLUME_BY_HAND}`);
    plan = {
      s3: b.store.s3,
      keySecret: b.encryption.disabled === true ? undefined : (b.encryption.keySecret ?? generatedKeySecret(src.backupName)),
      chain: { namespace, cluster: b.clusterName },
    };
  } else if (src.store !== undefined) {
    if (!src.store.store.s3) throw new ConfigProblem('UnsupportedSource', `spec.source.store: ${VOLUME_BY_HAND}`);
    plan = {
      s3: src.store.store.s3,
      keySecret: src.store.encryption.disabled === true ? undefined : src.store.encryption.keySecret,
      chain: { namespace: src.store.clusterNamespace ?? namespace, cluster: src.store.clusterName, ...(src.store.clusterId ? { clusterId: src.store.clusterId } : {}) },
    };
  } else {
    const snap = src.snapshot!;
    if (!snap.store.s3) throw new ConfigProblem('UnsupportedSource', `spec.source.snapshot: ${VOLUME_BY_HAND}`);
    plan = { s3: snap.store.s3, keySecret: snap.encryption?.disabled === true ? undefined : snap.encryption?.keySecret, object: snap.object };
  }
  const missing: string[] = [];
  for (const name of [plan.s3.credentialsSecret, plan.s3.caSecret, plan.keySecret]) {
    if (name !== undefined && !(await kube.get(`/api/v1/namespaces/${namespace}/secrets/${name}`))) missing.push(`Secret ${namespace}/${name}`);
  }
  return missing.length > 0 ? { missing } : { plan, missing };
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
export async function resolveSource(kube: Kube, namespace: string, spec: EtcdRestoreSpec, plan: SourcePlan): Promise<Resolved> {
  const creds = await secret(kube, namespace, plan.s3.credentialsSecret);
  const ca = plan.s3.caSecret ? entry(await secret(kube, namespace, plan.s3.caSecret), namespace, plan.s3.caSecret, 'ca.crt') : undefined;
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
  const store = openStore({
    s3: {
      ...(plan.s3.endpoint ? { endpoint: plan.s3.endpoint } : {}),
      bucket: plan.s3.bucket,
      region: plan.s3.region,
      forcePathStyle: plan.s3.forcePathStyle,
      accessKeyId: entry(creds, namespace, plan.s3.credentialsSecret, 'accessKeyId').toString(),
      secretAccessKey: entry(creds, namespace, plan.s3.credentialsSecret, 'secretAccessKey').toString(),
      ...(creds['sessionToken'] ? { sessionToken: Buffer.from(creds['sessionToken'], 'base64').toString() } : {}),
      ...(ca ? { ca } : {}),
    },
  });
  const prefix = plan.s3.prefix.replace(/^\/+|\/+$/g, '');
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
    if (err instanceof RestoreError) throw new ConfigProblem(err.code === 'Unreachable' ? 'TargetUnreachable' : 'ChainCorrupt', err.message);
    if (err instanceof StoreError && (err.code === 'NoSuchBucket' || err.code === 'AccessDenied' || err.code === 'InvalidConfig')) throw new ConfigProblem(`Store${err.code}`, err.message);
    throw err;
  } finally {
    store.close();
  }
}

/** The EtcdCluster's restore annotation for a resolved source. */
export function restoreInitFor(restore: { name: string; uid: string }, plan: SourcePlan, r: Resolved): RestoreInit {
  return {
    restore: restore.name,
    uid: restore.uid,
    s3: {
      ...(plan.s3.endpoint ? { endpoint: plan.s3.endpoint } : {}),
      bucket: plan.s3.bucket,
      prefix: plan.s3.prefix.replace(/^\/+|\/+$/g, ''),
      region: plan.s3.region,
      forcePathStyle: plan.s3.forcePathStyle,
      credentialsSecret: plan.s3.credentialsSecret,
      ...(plan.s3.caSecret ? { caSecret: plan.s3.caSecret } : {}),
    },
    ...(plan.keySecret ? { keySecret: plan.keySecret } : {}),
    ...(plan.object !== undefined ? { object: r.objects[0]! } : { chain: { namespace: plan.chain!.namespace, cluster: plan.chain!.cluster, clusterId: r.clusterId, revision: r.revision } }),
  };
}
