// An etcd snapshot file (bbolt, from etcd 3.4–3.6 or etcd-node) into an etcd-node backend: etcd's buckets
// mapped to etcd-node's (storage/etcd-snapshot/import.ts), written in batches so a large database never
// sits in one transaction's memory. Reads through our own bbolt reader, which refuses what is not a
// well-formed bbolt file.
import { BboltReader } from '../storage/bbolt/reader.js';
import { BboltError } from '../storage/bbolt/errors.js';
import type { Backend } from '../storage/backend/backend.js';
import { importEtcdBuckets, type ImportReport } from '../storage/etcd-snapshot/import.js';
import { snapshotRevisionSync } from '../backup/snapshot-revision.js';
import { RestoreError } from './errors.js';

const BATCH_ENTRIES = 10_000;

export interface ImportedSnapshot {
  report: ImportReport;
  /** the revision the snapshot holds */
  revision: number;
  /** entries written per etcd-node bucket */
  entries: Record<string, number>;
}

export function openSnapshot(file: string): BboltReader {
  try {
    return BboltReader.open(file);
  } catch (err) {
    if (err instanceof BboltError) throw new RestoreError('NotASnapshot', `${file}: not an etcd snapshot (${err.message})`);
    throw err;
  }
}

export function importSnapshotInto(backend: Backend, file: string): ImportedSnapshot {
  const db = openSnapshot(file);
  try {
    if (!db.bucket('key') || !db.bucket('meta')) {
      throw new RestoreError('NotASnapshot', `${file}: a bbolt database without etcd's "key" and "meta" buckets is not an etcd snapshot`);
    }
    const plan = importEtcdBuckets({ bucketNames: () => db.bucketNames().map((n) => n.toString()), entries: (name) => db.bucket(name)?.entries() });
    const entries: Record<string, number> = {};
    for (const b of plan.buckets) {
      const target = backend.bucket(b.name);
      const it = b.entries[Symbol.iterator]();
      let n = 0;
      let done = false;
      while (!done) {
        backend.batch(() => {
          for (let i = 0; i < BATCH_ENTRIES; i++) {
            const next = it.next();
            if (next.done) {
              done = true;
              return;
            }
            target.putSync(Buffer.from(next.value[0]), Buffer.from(next.value[1]));
            n++;
          }
        });
      }
      entries[b.name] = n;
    }
    return { report: plan.report, revision: snapshotRevisionSync(file), entries };
  } catch (err) {
    if (err instanceof BboltError) throw new RestoreError('NotASnapshot', `${file}: ${err.message}`);
    throw err;
  } finally {
    db.close();
  }
}
