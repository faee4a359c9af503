// EtcdBackup (etcdts.dev/v1alpha1): the incremental backup of one EtcdCluster (a full snapshot on a cron
// schedule, the event tail every deltaPeriod) to an S3-compatible bucket or a volume, encrypted. The
// same schemas give the TypeScript types, the validation and the CRD; what a schema cannot judge (a cron
// expression cron-parser refuses, a Secret that does not exist) becomes a Degraded condition.
import { z } from 'zod';
import { condition, GROUP, VERSION } from './etcd-cluster.js';

/** What a full schedule must look like before cron-parser judges it (so `banana` is refused at apply time). */
export const SCHEDULE_PATTERN = '^(@(yearly|annually|monthly|weekly|daily|hourly)|([0-9A-Za-z*?,/#-]+[ \\t]+){4}[0-9A-Za-z*?,/#-]+)$';

/** Go's (and CEL's) duration syntax: 10s, 1m30s, 500ms, 2h. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
const duration = (what: string): z.ZodString => z.string().regex(DURATION_PATTERN, `a duration such as 10s, 1m30s or 2h (${what})`);

/** A byte quantity as Kubernetes writes them: 8Mi, 512Ki, 1G, 1048576. */
const byteQuantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'a quantity of bytes such as 8Mi');

const secretName = z.string().min(1).max(253);

export const s3Store = z
  .object({
    endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/.*)?$/, 'an http:// or https:// URL').optional().describe('S3-compatible endpoint (http or https); AWS S3 of the region when unset.'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a bucket name: 3-63 lower-case letters, digits, dots and hyphens'),
    prefix: z.string().max(512).default('').describe('Folder inside the bucket; objects go to <prefix>/<namespace>/<cluster>/<cluster-id>/.'),
    region: z.string().min(1).default('us-east-1'),
    forcePathStyle: z.boolean().default(true).describe('Path-style URLs (MinIO and most S3-compatible servers); false for virtual-hosted style.'),
    credentialsSecret: secretName.describe('Secret in this namespace with accessKeyId and secretAccessKey (and optionally sessionToken).'),
    caSecret: secretName.optional().describe('Secret with ca.crt: the CA an https endpoint\'s certificate is checked against (beside the system\'s).'),
  })
  .strict();

export const volumeStore = z
  .object({
    claimName: z.string().min(1).max(253).describe('A PersistentVolumeClaim in this namespace; the agent mounts it.'),
    path: z
      .string()
      .max(512)
      // RE2 (the API server's pattern engine) has no lookahead: a segment is ".", or any name but ".."
      .regex(/^\/?((\.|[^./][^/]*|\.[^./][^/]*|\.\.[^/]+)\/)*(\.|[^./][^/]*|\.[^./][^/]*|\.\.[^/]+)?$/, 'a folder inside the volume: no ".." segment')
      .default('')
      .describe('Folder inside the volume (made on first use).'),
  })
  .strict();

export const etcdBackupSpec = z
  .object({
    clusterName: z.string().min(1).max(253).describe('The EtcdCluster in this namespace to back up.'),
    store: z
      .object({ s3: s3Store.optional(), volume: volumeStore.optional() })
      .strict()
      .refine((s) => (s.s3 === undefined) !== (s.volume === undefined), { message: 'exactly one of s3 or volume is required' })
      .describe('Where the objects go: exactly one of s3 or volume.'),
    fullSchedule: z.string().regex(new RegExp(SCHEDULE_PATTERN), 'a cron expression of 5 fields (e.g. */30 * * * *) or a macro such as @hourly').default('*/30 * * * *').describe('When full snapshots are taken (cron).'),
    timeZone: z.string().min(1).optional().describe('Time zone of fullSchedule (e.g. Europe/Berlin); UTC when unset.'),
    deltaPeriod: duration('deltaPeriod').default('10s').describe('How often the event tail is written (1s to 1h); nothing is written for a quiet period.'),
    deltaMaxBytes: byteQuantity.default('8Mi').describe('The tail is written early once this much is buffered.'),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    encryption: z
      .object({
        keySecret: secretName.optional().describe('Secret with the AES-256 key in entry "key" (older keys in "key.<name>"); the operator generates one when unset.'),
        disabled: z.boolean().optional().describe('Store plaintext. The only way to do so.'),
      })
      .strict()
      .refine((e) => !(e.disabled === true && e.keySecret !== undefined), { message: 'keySecret and disabled: true exclude each other' })
      .default({}),
    retention: z
      .object({
        fullSnapshots: z.number().int().min(1).max(100000).optional().describe('Keep this many full snapshots (48 when neither is set).'),
        maxAge: duration('retention.maxAge').optional().describe('Keep full snapshots taken within this duration (the newest is always kept).'),
      })
      .strict()
      .refine((r) => r.fullSnapshots === undefined || r.maxAge === undefined, { message: 'at most one of fullSnapshots and maxAge' })
      .default({}),
    suspend: z.boolean().default(false).describe('While true no agent runs and nothing is written; the chain resumes where it ended.'),
    agent: z
      .object({
        resources: z.record(z.string(), z.unknown()).optional(),
        nodeSelector: z.record(z.string(), z.string()).optional(),
        tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
        priorityClassName: z.string().optional(),
      })
      .strict()
      .optional()
      .describe('Scheduling and resources of the agent pod.'),
  })
  .strict();

export type EtcdBackupSpec = z.output<typeof etcdBackupSpec>;

const revisionAt = z.object({ revision: z.number().int(), time: z.string() });

export const etcdBackupStatus = z.object({
  observedGeneration: z.number().int().optional(),
  clusterId: z.string().optional().describe('The etcd cluster id of the chain being written.'),
  encryptionKeySecret: z.string().optional().describe('The Secret holding the encryption key (generated when the spec names none).'),
  lastFullSnapshot: z.object({ revision: z.number().int(), time: z.string(), object: z.string(), size: z.number().int(), sha256: z.string() }).optional(),
  lastDelta: z.object({ fromRevision: z.number().int(), toRevision: z.number().int(), time: z.string(), object: z.string() }).optional(),
  latestRecoverable: revisionAt.optional().describe('The newest revision a restore can reach now, and when it was written.'),
  nextFullSnapshot: z.string().optional(),
  objects: z.number().int().optional(),
  bytes: z.number().int().optional(),
  gaps: z.array(z.object({ fromRevision: z.number().int(), toRevision: z.number().int() })).optional().describe('Revisions of the retained chain no restore can reach.'),
  tail: z.object({ endpoint: z.string().optional(), lagRevisions: z.number().int(), lagSeconds: z.number() }).optional(),
  lastOnDemandSnapshot: z.object({ request: z.string(), revision: z.number().int(), time: z.string() }).optional(),
  conditions: z.array(condition).optional(),
});

export type EtcdBackupStatus = z.infer<typeof etcdBackupStatus>;

/** The annotation that asks for a full snapshot now: set it to a new value (e.g. a timestamp) each time. */
export const SNAPSHOT_NOW_ANNOTATION = `${GROUP}/snapshot-now`;

export interface EtcdBackup {
  apiVersion: `${typeof GROUP}/${typeof VERSION}`;
  kind: 'EtcdBackup';
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string; deletionTimestamp?: string; annotations?: Record<string, string> };
  spec: EtcdBackupSpec;
  status?: EtcdBackupStatus;
}
