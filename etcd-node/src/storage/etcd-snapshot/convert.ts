// An etcd snapshot file from a copy of etcd-node's backend: opens the lmdb copy, maps its buckets to
// etcd's (export.ts) and writes them as a bbolt database (storage/bbolt/writer.ts). Synchronous reads
// and writes from start to end, so it belongs off the main event loop: convert-worker.ts runs it on a
// worker thread for the Snapshot RPC.

import { Backend, type BucketName } from '../backend/backend.js';
import { writeBboltFile } from '../bbolt/writer.js';
import { exportEtcdBuckets, type ExportOptions, type NodeBucketSource } from './export.js';

export interface ConvertOptions extends ExportOptions {
  /** bbolt page size; default 4096 (etcd's on Linux) */
  readonly pageSize?: number;
}

export interface ConvertResult {
  /** bytes of the bbolt file (pages × page size; no trailer) */
  readonly size: number;
  readonly pages: number;
  /** what the export left out (see export.ts) */
  readonly notes: string[];
  /** users whose password is an etcd-node scrypt hash, which etcd cannot verify */
  readonly scryptUsers: number;
}

/** Reads etcd-node's buckets of an open backend, in key order. */
export function backendSource(backend: Backend): NodeBucketSource {
  return {
    *entries(bucket: BucketName, range?: { start?: Buffer; end?: Buffer }) {
      const opts: { start?: Buffer; end?: Buffer } = {};
      if (range?.start !== undefined) opts.start = range.start;
      if (range?.end !== undefined) opts.end = range.end;
      for (const { key, value } of backend.bucket(bucket).getRange(opts)) yield [key, value] as const;
    },
  };
}

/**
 * Writes `outFile`, a bbolt database in etcd's layout, from the lmdb backend file `lmdbFile` (a copy:
 * it is opened, read and closed, never written). The file is removed again if anything fails.
 */
export async function convertBackendFile(lmdbFile: string, outFile: string, opts: ConvertOptions): Promise<ConvertResult> {
  const backend = Backend.open(lmdbFile);
  try {
    const plan = exportEtcdBuckets(backendSource(backend), opts);
    const res = writeBboltFile(outFile, plan.buckets, { pageSize: opts.pageSize ?? 4096 });
    return { size: res.size, pages: res.pages, notes: plan.notes, scryptUsers: plan.scryptUsers() };
  } finally {
    await backend.close();
  }
}
