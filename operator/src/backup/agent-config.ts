// An EtcdBackup resource → what its agent runs with: the cluster's members and TLS, the store and its
// credentials, the encryption keys, the schedule and the periods. What cannot work is a ConfigProblem
// with a CamelCase reason and a message naming the object at fault (a Secret, an entry, the spec field);
// the agent reports it as Degraded and looks again. A fingerprint of everything read tells the agent when
// to start over (a changed spec, a rotated key, new credentials).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { keyringFrom, KeyError, type BackupKeyring } from '../../../etcd-node/src/backup/keys.js';
import type { ChainLocation } from '../../../etcd-node/src/backup/names.js';
import type { S3StoreConfig, VolumeStoreConfig } from '../../../etcd-node/src/backup/store/store.js';
import { etcdBackupSpec, type EtcdBackup, type EtcdBackupSpec } from '../api/etcd-backup.js';
import { etcdClusterSpec, GROUP, VERSION } from '../api/etcd-cluster.js';
import { parseBytes, parseDuration } from '../api/units.js';
import { clusterAccess } from '../etcd/cluster-access.js';
import type { AdminTls } from '../etcd/admin.js';
import type { Kube } from '../runtime/kube.js';
import { parseSchedule, ScheduleError, type FullSchedule } from './schedule.js';

export class ConfigProblem extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigProblem';
  }
}

/** The Secret the operator generates a key into when the spec names none (owned by nothing, so deleting
 *  the EtcdBackup never deletes the only key). */
export const generatedKeySecret = (backupName: string): string => `${backupName}-encryption-key`;

export interface ResolvedAgent {
  endpoints: string[];
  tls: AdminTls | undefined;
  store: { s3: S3StoreConfig } | { volume: VolumeStoreConfig };
  location: ChainLocation;
  keys: BackupKeyring | undefined;
  keySecret: string | undefined;
  compression: EtcdBackupSpec['compression'];
  schedule: FullSchedule;
  deltaPeriodMs: number;
  deltaMaxBytes: number;
  retention: { fullSnapshots?: number; maxAgeMs?: number };
  /** changes when anything above does */
  fingerprint: string;
}

export type SecretData = Record<string, string>;

export async function secret(kube: Kube, namespace: string, name: string): Promise<SecretData> {
  const s = await kube.get<{ data?: SecretData }>(`/api/v1/namespaces/${namespace}/secrets/${name}`);
  if (!s) throw new ConfigProblem('SecretNotFound', `Secret ${namespace}/${name} not found`);
  return s.data ?? {};
}

export function entry(d: SecretData, namespace: string, name: string, key: string): Buffer {
  const v = d[key];
  if (v === undefined) throw new ConfigProblem('SecretInvalid', `Secret ${namespace}/${name} has no entry ${key}`);
  return Buffer.from(v, 'base64');
}

/** The spec alone: what a schema or cron-parser can judge (also used by the controller, at once). */
export function checkSpec(eb: EtcdBackup): { spec: EtcdBackupSpec; schedule: FullSchedule; deltaPeriodMs: number; deltaMaxBytes: number; maxAgeMs?: number } {
  const parsed = etcdBackupSpec.safeParse(eb.spec);
  if (!parsed.success) throw new ConfigProblem('InvalidSpec', parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '));
  const spec = parsed.data;
  let schedule: FullSchedule;
  try {
    schedule = parseSchedule(spec.fullSchedule, spec.timeZone ?? 'UTC');
  } catch (err) {
    if (err instanceof ScheduleError) throw new ConfigProblem('InvalidSchedule', `spec.fullSchedule: ${err.message}`);
    throw err;
  }
  const deltaPeriodMs = parseDuration(spec.deltaPeriod);
  if (deltaPeriodMs < 1000 || deltaPeriodMs > 3_600_000) throw new ConfigProblem('InvalidSpec', `spec.deltaPeriod: ${spec.deltaPeriod} is not between 1s and 1h`);
  const deltaMaxBytes = parseBytes(spec.deltaMaxBytes);
  if (deltaMaxBytes < 1024) throw new ConfigProblem('InvalidSpec', `spec.deltaMaxBytes: ${spec.deltaMaxBytes} is less than 1Ki`);
  return { spec, schedule, deltaPeriodMs, deltaMaxBytes, ...(spec.retention.maxAge ? { maxAgeMs: parseDuration(spec.retention.maxAge) } : {}) };
}

/** An S3 store's connection settings from its spec and its Secrets (credentials, CA), and what was read
 *  (so a caller can tell when it changed). */
export async function s3Config(kube: Kube, ns: string, s3: NonNullable<EtcdBackupSpec['store']['s3']>): Promise<{ config: S3StoreConfig; read: unknown[] }> {
  const creds = await secret(kube, ns, s3.credentialsSecret);
  const ca = s3.caSecret ? entry(await secret(kube, ns, s3.caSecret), ns, s3.caSecret, 'ca.crt') : undefined;
  const sessionToken = creds['sessionToken'] === undefined ? undefined : Buffer.from(creds['sessionToken'], 'base64').toString();
  return {
    config: {
      ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
      bucket: s3.bucket,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      accessKeyId: entry(creds, ns, s3.credentialsSecret, 'accessKeyId').toString(),
      secretAccessKey: entry(creds, ns, s3.credentialsSecret, 'secretAccessKey').toString(),
      ...(sessionToken ? { sessionToken } : {}),
      ...(ca ? { ca } : {}),
    },
    read: [creds, ca?.toString('base64')],
  };
}

export async function resolveAgent(kube: Kube, eb: EtcdBackup, volumeMount: string): Promise<ResolvedAgent> {
  const ns = eb.metadata.namespace;
  const { spec, schedule, deltaPeriodMs, deltaMaxBytes, maxAgeMs } = checkSpec(eb);
  const ec = await kube.get<{ spec: unknown }>(`/apis/${GROUP}/${VERSION}/namespaces/${ns}/etcdclusters/${spec.clusterName}`);
  if (!ec) throw new ConfigProblem('ClusterNotFound', `EtcdCluster ${ns}/${spec.clusterName} not found`);
  const cluster = etcdClusterSpec.safeParse(ec.spec);
  if (!cluster.success) throw new ConfigProblem('ClusterInvalid', `EtcdCluster ${ns}/${spec.clusterName} has an invalid spec`);
  const access = await clusterAccess(kube, { name: spec.clusterName, namespace: ns }, cluster.data);
  if (access.problems.length > 0) throw new ConfigProblem('SecretNotFound', `EtcdCluster ${ns}/${spec.clusterName}: ${access.problems.join('; ')}`);
  const read: unknown[] = [spec, access.endpoints, access.tls?.ca.toString('base64'), access.tls?.cert?.toString('base64')];

  let store: ResolvedAgent['store'];
  let location: ChainLocation;
  if (spec.store.s3) {
    const s3 = spec.store.s3;
    const c = await s3Config(kube, ns, s3);
    store = { s3: c.config };
    read.push(...c.read);
    location = { prefix: s3.prefix, namespace: ns, cluster: spec.clusterName };
  } else {
    const v = spec.store.volume!;
    store = { volume: { root: join(volumeMount, v.path) } };
    location = { prefix: '', namespace: ns, cluster: spec.clusterName };
  }

  let keys: BackupKeyring | undefined;
  let keySecret: string | undefined;
  if (spec.encryption.disabled !== true) {
    keySecret = spec.encryption.keySecret ?? generatedKeySecret(eb.metadata.name);
    const d = await kube.get<{ data?: SecretData }>(`/api/v1/namespaces/${ns}/secrets/${keySecret}`);
    if (!d) {
      throw new ConfigProblem(
        'EncryptionKeyNotFound',
        spec.encryption.keySecret
          ? `spec.encryption.keySecret: Secret ${ns}/${keySecret} not found`
          : `Secret ${ns}/${keySecret} (the generated encryption key) not found yet: the operator creates it`,
      );
    }
    try {
      keys = keyringFrom(
        Object.fromEntries(Object.entries(d.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        `Secret ${ns}/${keySecret}`,
      );
    } catch (err) {
      if (err instanceof KeyError) throw new ConfigProblem('EncryptionKeyInvalid', err.message);
      throw err;
    }
    read.push([...keys.byId.keys()]);
  }
  const retention = spec.retention.maxAge ? { maxAgeMs: maxAgeMs! } : { fullSnapshots: spec.retention.fullSnapshots ?? 48 };
  return {
    endpoints: access.endpoints,
    tls: access.tls,
    store,
    location,
    keys,
    keySecret,
    compression: spec.compression,
    schedule,
    deltaPeriodMs,
    deltaMaxBytes,
    retention,
    fingerprint: createHash('sha256').update(JSON.stringify(read)).digest('hex'),
  };
}
