// EtcdBackup and EtcdRestore (etcdts.dev/v1alpha1): their specs (the controllers come with the backup
// issue). The same schemas give the types, the validation and the CRDs.
import { z } from 'zod';

const store = z
  .object({
    s3: z
      .object({
        endpoint: z.string().url().describe('S3-compatible endpoint URL.'),
        bucket: z.string().min(3).max(63),
        region: z.string().default('us-east-1'),
        prefix: z.string().default(''),
        forcePathStyle: z.boolean().default(true),
        credentialsSecret: z.string().min(1).describe('Secret with accessKeyId and secretAccessKey.'),
      })
      .strict()
      .optional(),
    filesystem: z.object({ claimName: z.string().min(1).describe('A PersistentVolumeClaim to write to.'), path: z.string().default('/') }).strict().optional(),
  })
  .strict()
  .refine((s) => (s.s3 === undefined) !== (s.filesystem === undefined), { message: 'exactly one of s3 or filesystem is required' });

export const etcdBackupSpec = z
  .object({
    clusterName: z.string().min(1).describe('The EtcdCluster in this namespace to back up.'),
    schedule: z.string().default('*/30 * * * *').describe('Cron schedule of full snapshots.'),
    tailFlushSeconds: z.number().int().min(1).max(3600).default(10).describe('How often the event tail is flushed.'),
    retention: z.object({ fullSnapshots: z.number().int().min(1).default(48) }).strict().default({ fullSnapshots: 48 }),
    compress: z.boolean().default(true),
    store,
  })
  .strict();

export const etcdRestoreSpec = z
  .object({
    clusterName: z.string().min(1).describe('The EtcdCluster to create from the backup (must not exist).'),
    backupName: z.string().min(1).describe('The EtcdBackup whose objects to restore from.'),
    targetRevision: z.number().int().min(1).optional(),
    targetTime: z.string().datetime().optional().describe('RFC 3339 time; the latest state at or before it.'),
  })
  .strict()
  .refine((s) => s.targetRevision === undefined || s.targetTime === undefined, { message: 'at most one of targetRevision and targetTime' });

export type EtcdBackupSpec = z.output<typeof etcdBackupSpec>;
export type EtcdRestoreSpec = z.output<typeof etcdRestoreSpec>;
