// The revision an etcd snapshot file holds (etcd's Snapshot stream does not say it): as etcd computes its
// current revision when it opens a database, the larger of the newest revision in the `key` bucket and
// the finished compaction's revision (a compaction may have removed the newest revision's tombstone);
// 1 for a database without any.
import { BboltReader } from '../storage/bbolt/reader.js';
import { bytesToRev, REV_BYTES } from '../mvcc/revision.js';

export function snapshotRevisionSync(file: string): number {
  const db = BboltReader.open(file);
  try {
    let rev = 1;
    const last = db.bucket('key')?.lastKey();
    if (last && last.length >= REV_BYTES) rev = Math.max(rev, bytesToRev(last).main);
    const compacted = db.bucket('meta')?.get('finishedCompactRev');
    if (compacted && compacted.length >= REV_BYTES) rev = Math.max(rev, bytesToRev(compacted).main);
    return rev;
  } finally {
    db.close();
  }
}

export async function snapshotRevision(file: string): Promise<number> {
  return snapshotRevisionSync(file);
}
