// What went wrong, as the agent reports it: an area (so one success clears what it proves works again)
// and a CamelCase reason by error class and code, never by message text.
import { KeyError } from '../../../etcd-node/src/backup/keys.js';
import { BackupObjectError } from '../../../etcd-node/src/backup/object-format.js';
import { StoreError, type StoreErrorCode } from '../../../etcd-node/src/backup/store/store.js';
import { ChainConflictError } from './delta-writer.js';
import { EtcdSourceError } from './etcd-source.js';
import { ScheduleError } from './schedule.js';

export type ProblemArea = 'resume' | 'store' | 'etcd' | 'snapshot' | 'delta' | 'chain' | 'tail' | 'config';

export interface Problem {
  area: ProblemArea;
  reason: string;
  message: string;
  /** unix ms when it began */
  since: number;
}

const STORE_REASON: Record<StoreErrorCode, string> = {
  NotFound: 'StoreError',
  NoSuchBucket: 'BucketNotFound',
  AccessDenied: 'StoreAccessDenied',
  Unreachable: 'StoreUnreachable',
  InvalidConfig: 'StoreConfigInvalid',
  Aborted: 'StoreError',
  Failed: 'StoreError',
};

const FALLBACK: Record<ProblemArea, string> = {
  resume: 'ResumeFailed',
  store: 'StoreError',
  etcd: 'EtcdError',
  snapshot: 'SnapshotFailed',
  delta: 'DeltaFailed',
  chain: 'ChainConflict',
  tail: 'EtcdUnreachable',
  config: 'InvalidConfig',
};

export function problemOf(err: unknown, area: ProblemArea, now = Date.now()): Problem {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof StoreError) return { area: 'store', reason: STORE_REASON[err.code], message, since: now };
  if (err instanceof EtcdSourceError) {
    const unreachable = err.code === undefined || err.code === 14 || err.code === 4;
    return { area: area === 'snapshot' ? 'snapshot' : 'etcd', reason: unreachable ? 'EtcdUnreachable' : 'EtcdError', message, since: now };
  }
  if (err instanceof KeyError) return { area: 'config', reason: 'EncryptionKeyInvalid', message, since: now };
  if (err instanceof ScheduleError) return { area: 'config', reason: 'InvalidSchedule', message, since: now };
  if (err instanceof BackupObjectError) return { area, reason: 'ObjectUnreadable', message, since: now };
  if ((err as { code?: unknown }).code === 'EncryptionKeyMismatch') return { area: 'config', reason: 'EncryptionKeyMismatch', message, since: now };
  if (err instanceof ChainConflictError) return { area: 'chain', reason: 'ChainConflict', message, since: now };
  return { area, reason: FALLBACK[area], message, since: now };
}
