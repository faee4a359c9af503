// `etcd-node snapshot restore`: an etcd snapshot file (etcd 3.4–3.6 or etcd-node) → the data dir of one
// member of a new cluster, as etcdutl's `snapshot restore` makes one. Every check that can refuse the
// file runs before anything is written (trailer, bbolt, etcd's buckets, the data dir), and the data dir
// itself is built beside the target and renamed into place (member-data-dir.ts): a failure leaves
// nothing behind.
//
// --bump-revision N --mark-compacted: the restored members continue from the snapshot's revision + N,
// with everything up to there marked compacted. Clients and watchers that remember revisions of the
// old cluster (kube-apiserver's resourceVersions, a watch resumed from the last revision seen) then see
// "required revision has been compacted" and start over, instead of being handed different data under
// revisions they already know. etcdutl writes an empty placeholder entry at the new revision to move
// the current revision; etcd-node's MVCC takes the larger of its newest key revision and the compaction
// mark when it opens (mvcc/store.ts, as etcd does), so the two marks alone put the current revision there
// and no placeholder that is not a KeyValue lands in the key bucket.
import path from 'node:path';
import { revToBytes } from '../mvcc/revision.js';
import type { Backend } from '../storage/backend/backend.js';
import { MetaKey } from '../storage/etcd-snapshot/layout.js';
import { RestoreError } from './errors.js';
import { importSnapshotInto, openSnapshot, type ImportedSnapshot } from './import-snapshot.js';
import { checkDataDirFree, writeMemberDataDir, type WrittenMember } from './member-data-dir.js';
import { planNewCluster, type NewCluster, type NewClusterFlags } from './new-cluster.js';
import { checkNoTrailer, verifySnapshotTrailer, type SnapshotFileInfo } from './snapshot-file.js';

export interface SnapshotRestoreOptions extends NewClusterFlags {
  file: string;
  /** default `<name>.etcd`, as etcdutl */
  dataDir?: string;
  skipHashCheck: boolean;
  /** 0: no bump */
  bumpRevision: number;
  markCompacted: boolean;
}

export interface SnapshotRestoreResult {
  /** the snapshot file */
  source: string;
  dataDir: string;
  cluster: NewCluster;
  member: WrittenMember;
  file: SnapshotFileInfo;
  imported: ImportedSnapshot;
  /** the snapshot's revision */
  snapshotRevision: number;
  /** the restored members' current revision (snapshot's + bump) */
  revision: number;
  /** the compaction mark the members start with (0: none) */
  compacted: number;
}

/** etcdutl's rule: --mark-compacted exactly when --bump-revision > 0. */
export function checkBumpFlags(bump: number, markCompacted: boolean): void {
  if (!Number.isSafeInteger(bump) || bump < 0) throw new RestoreError('BadFlag', `--bump-revision: ${bump} is not a non-negative integer`);
  if (bump > 0 && !markCompacted) {
    throw new RestoreError(
      'BadFlag',
      '--mark-compacted is required with --bump-revision: without it, revisions between the old and the new current revision would look readable and hold nothing',
    );
  }
  if (bump === 0 && markCompacted) throw new RestoreError('BadFlag', '--mark-compacted is only allowed with --bump-revision greater than 0');
}

/** Refuses what etcdutl refuses, before writing anything. */
async function checkSource(file: string, skip: boolean): Promise<SnapshotFileInfo> {
  const info = await verifySnapshotTrailer(file, skip);
  const db = openSnapshot(file);
  try {
    if (!db.bucket('key') || !db.bucket('meta')) {
      throw new RestoreError('NotASnapshot', `${file}: a bbolt database without etcd's "key" and "meta" buckets is not an etcd snapshot`);
    }
  } finally {
    db.close();
  }
  checkNoTrailer(file, info, skip);
  return info;
}

export async function restoreSnapshot(opts: SnapshotRestoreOptions): Promise<SnapshotRestoreResult> {
  checkBumpFlags(opts.bumpRevision, opts.markCompacted);
  const cluster = planNewCluster(opts);
  const dataDir = opts.dataDir !== undefined && opts.dataDir !== '' ? opts.dataDir : `${opts.name}.etcd`;
  await checkDataDirFree(dataDir);
  const info = await checkSource(opts.file, opts.skipHashCheck);

  let imported: ImportedSnapshot | undefined;
  let revision = 0;
  let compacted = 0;
  const member = await writeMemberDataDir(dataDir, cluster, (backend) => {
    imported = importSnapshotInto(backend, opts.file);
    revision = imported.revision;
    const finished = backend.meta.get(Buffer.from(MetaKey.finishedCompactRev));
    if (finished !== undefined && finished.length >= 8) compacted = Number(finished.readBigUInt64BE(0));
    if (opts.bumpRevision > 0) {
      revision += opts.bumpRevision;
      compacted = revision;
      markCompactedAt(backend, revision);
    }
  });
  if (!imported) throw new Error('restore: the snapshot was not imported');
  return { source: opts.file, dataDir: path.resolve(dataDir), cluster, member, file: info, imported, snapshotRevision: imported.revision, revision, compacted };
}

/**
 * --bump-revision's effect on a restored backend: both compaction marks at `revision` (the restored one
 * plus the bump), so etcd-node's store opens at it and every revision below reads as compacted.
 */
export function markCompactedAt(backend: Backend, revision: number): void {
  backend.batch(() => {
    const mark = revToBytes(revision, 0);
    backend.meta.putSync(Buffer.from(MetaKey.scheduledCompactRev), mark);
    backend.meta.putSync(Buffer.from(MetaKey.finishedCompactRev), mark);
  });
}
