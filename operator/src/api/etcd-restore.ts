// EtcdRestore (etcdts.dev/v1alpha1): its spec (the controller comes with the restore issue). The same
// schema gives the type, the validation and the CRD.
import { z } from 'zod';

export const etcdRestoreSpec = z
  .object({
    clusterName: z.string().min(1).describe('The EtcdCluster to create from the backup (must not exist).'),
    backupName: z.string().min(1).describe('The EtcdBackup whose objects to restore from.'),
    targetRevision: z.number().int().min(1).optional(),
    targetTime: z.string().datetime().optional().describe('RFC 3339 time; the latest state at or before it.'),
  })
  .strict()
  .refine((s) => s.targetRevision === undefined || s.targetTime === undefined, { message: 'at most one of targetRevision and targetTime' });

export type EtcdRestoreSpec = z.output<typeof etcdRestoreSpec>;
