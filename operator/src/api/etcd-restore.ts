// EtcdRestore (etcdts.dev/v1alpha1): its spec (the controller comes with the restore issue). The same
// schema gives the type, the validation and the CRD.
import { z } from 'zod';
import { parseRfc3339, RFC3339 } from '../../../etcd-node/src/util/rfc3339.js';

export const etcdRestoreSpec = z
  .object({
    clusterName: z.string().min(1).describe('The EtcdCluster to create from the backup (must not exist).'),
    backupName: z.string().min(1).describe('The EtcdBackup whose objects to restore from.'),
    targetRevision: z.number().int().min(1).optional(),
    targetTime: z
      .string()
      .regex(RFC3339, 'an RFC 3339 time with Z or an offset, e.g. 2026-12-02T16:30:00+01:00')
      .refine((s) => parseRfc3339(s) !== undefined, { message: 'not a date and time that exists' })
      .optional()
      .describe('RFC 3339 time (Z or any offset, e.g. 2026-12-02T16:30:00+01:00); the last revision at or before it.'),
  })
  .strict()
  .refine((s) => s.targetRevision === undefined || s.targetTime === undefined, { message: 'at most one of targetRevision and targetTime' });

export type EtcdRestoreSpec = z.output<typeof etcdRestoreSpec>;
