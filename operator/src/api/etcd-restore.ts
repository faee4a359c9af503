// EtcdRestore (etcdts.dev/v1alpha1): a new EtcdCluster whose members start from restored data. The same
// schema gives the type, the validation and the CRD (npm run gen:crds). The whole spec is immutable (a CEL
// rule in crds.ts): a restore is one event, and another one is another EtcdRestore.
//
// source: exactly one of
//   backupName  an EtcdBackup in this namespace: its store, credentials, key and chain location;
//   store       the same store shape as EtcdBackup's (s3 with its prefix, or a volume with its path) for a
//               cluster whose EtcdBackup is gone, with the chain's place (clusterNamespace, clusterName,
//               optionally clusterId) and its key (encryption.keySecret or encryption.disabled);
//   snapshot    one snapshot object in a store: a plain etcd snapshot (etcdctl snapshot save) or one of
//               our fulls; restored as it is, so no target.
// target: exactly one of latest: {}, revision: N, time: RFC 3339 (Z or any offset); latest by default.
// cluster: the EtcdCluster to create, by name, from the spec given inline.
import { z } from 'zod';
import { parseRfc3339, RFC3339 } from '../../../etcd-node/src/util/rfc3339.js';
import { s3Store, volumeStore } from './etcd-backup.js';
import { condition, etcdClusterSpec, GROUP, VERSION } from './etcd-cluster.js';

const name = z.string().min(1).max(253);

/** The store shape of EtcdBackup (reused, so a source written from a backup's spec reads the same). */
export const restoreStore = z
  .object({ s3: s3Store.optional(), volume: volumeStore.optional() })
  .strict()
  .refine((s) => (s.s3 === undefined) !== (s.volume === undefined), { message: 'exactly one of s3 or volume is required' })
  .describe('Where the objects are: exactly one of s3 (prefix included) or volume (path included).');

const encryption = z
  .object({
    keySecret: name.optional().describe('Secret with the key in entry "key" (older keys in "key.<name>"), e.g. <backup>-encryption-key.'),
    disabled: z.boolean().optional().describe('The objects are plaintext.'),
  })
  .strict()
  .refine((e) => (e.keySecret !== undefined) !== (e.disabled === true), { message: 'exactly one of keySecret or disabled: true' });

export const restoreSource = z
  .object({
    backupName: name.optional().describe('An EtcdBackup in this namespace: its store, credentials, key and chain.'),
    store: z
      .object({
        store: restoreStore,
        clusterNamespace: name.optional().describe('The namespace part of the chain\'s objects (default: this namespace).'),
        clusterName: name.describe('The cluster part of the chain\'s objects: the EtcdCluster that was backed up.'),
        clusterId: z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits').optional().describe('The chain of this etcd cluster id (default: the one holding the newest revision).'),
        encryption,
      })
      .strict()
      .optional()
      .describe('A chain in a store, for a cluster whose EtcdBackup is gone.'),
    snapshot: z
      .object({
        store: restoreStore,
        object: z.string().min(1).max(1024).describe('The object\'s name in the bucket or volume (with the s3 prefix or volume path in front).'),
        encryption: encryption.optional().describe('Only for one of our (encrypted) full snapshot objects; a plain etcd snapshot needs none.'),
      })
      .strict()
      .optional()
      .describe('One etcd snapshot file (etcdctl snapshot save, e.g. from a real etcd: migration), restored as it is.'),
  })
  .strict()
  .refine((s) => [s.backupName, s.store, s.snapshot].filter((x) => x !== undefined).length === 1, { message: 'exactly one of backupName, store or snapshot' });

const rfc3339 = z
  .string()
  .regex(RFC3339, 'an RFC 3339 time with Z or an offset, e.g. 2026-12-02T16:30:00+01:00')
  .refine((s) => parseRfc3339(s) !== undefined, { message: 'not a date and time that exists' });

export const restoreTarget = z
  .object({
    latest: z.object({}).strict().optional().describe('The newest revision the chain holds (when the EtcdRestore is resolved).'),
    revision: z.number().int().min(1).optional().describe('Exactly this revision.'),
    time: rfc3339.optional().describe('RFC 3339 (Z or any offset): the last revision received at or before it.'),
  })
  .strict()
  .refine((t) => [t.latest, t.revision, t.time].filter((x) => x !== undefined).length === 1, { message: 'exactly one of latest, revision or time' });

export const etcdRestoreSpec = z
  .object({
    source: restoreSource,
    target: restoreTarget.default({ latest: {} }),
    cluster: z
      .object({
        name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label').max(52).describe('The EtcdCluster to create in this namespace.'),
        spec: etcdClusterSpec.describe('Its spec (replicas, version or image, storage, …): the members all start from the restored data.'),
      })
      .strict(),
    replaceExisting: z.boolean().default(false).describe('Replace an EtcdCluster of that name: its members stop, its claims stay until the new cluster is Available.'),
  })
  .strict()
  .refine((s) => s.source.snapshot === undefined || s.target.latest !== undefined, { message: 'a snapshot source is restored as it is: target must be latest', path: ['target'] });

export type EtcdRestoreSpec = z.output<typeof etcdRestoreSpec>;

export const RESTORE_PHASES = ['Pending', 'Resolving', 'Restoring', 'Succeeded', 'Failed'] as const;
export type RestorePhase = (typeof RESTORE_PHASES)[number];

export const etcdRestoreStatus = z.object({
  observedGeneration: z.number().int().optional(),
  phase: z.enum(RESTORE_PHASES).optional(),
  restoredRevision: z.number().int().optional().describe('The revision every member restores (resolved once, so a growing chain changes nothing).'),
  restoredTime: z.string().optional().describe('When that revision was received by the backup agent.'),
  sourceObjects: z.array(z.string()).optional().describe('The objects the restore reads: the full snapshot, then the deltas.'),
  sourceClusterId: z.string().optional().describe('The etcd cluster id of the chain restored from.'),
  replacedClusterId: z.string().optional().describe('With replaceExisting: the cluster id of the cluster replaced.'),
  replacedClaims: z.array(z.string()).optional().describe('With replaceExisting: the claims of the cluster replaced, deleted once the restored cluster is Available.'),
  clusterName: z.string().optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  conditions: z.array(condition).optional(),
});

export type EtcdRestoreStatus = z.infer<typeof etcdRestoreStatus>;

export interface EtcdRestore {
  apiVersion: `${typeof GROUP}/${typeof VERSION}`;
  kind: 'EtcdRestore';
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string; deletionTimestamp?: string };
  spec: EtcdRestoreSpec;
  status?: EtcdRestoreStatus;
}
