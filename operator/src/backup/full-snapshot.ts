// One full snapshot: etcd's Snapshot RPC spooled to the scratch folder (its SHA-256 trailer checked), its
// revision read from the database file itself (etcd's stream does not say it), then compressed,
// encrypted and uploaded as one object, streamed so memory stays bounded whatever the size. The plaintext
// stored is the whole file `etcdctl snapshot save` would write, so a decrypted full is a snapshot etcd's
// own tools restore.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupKeyring } from '../../../etcd-node/src/backup/keys.js';
import { clusterIdHex, fullName, type ChainLocation, type FullRef } from '../../../etcd-node/src/backup/names.js';
import { encodeObjectStream, type Compression } from '../../../etcd-node/src/backup/object-format.js';
import type { ObjectStore } from '../../../etcd-node/src/backup/store/store.js';
import type { EtcdSource } from './etcd-source.js';

export interface FullContext {
  source: EtcdSource;
  store: ObjectStore;
  location: ChainLocation;
  keys: BackupKeyring | undefined;
  compression: Compression;
  scratchDir: string;
  /** the revision a snapshot file holds */
  snapshotRevision: (file: string) => Promise<number>;
  now: () => number;
}

export interface FullResult {
  ref: FullRef;
  /** SHA-256 of the snapshot file (the plaintext) */
  sha256: string;
  /** bytes of the snapshot file */
  snapshotBytes: number;
  endpoint: string;
}

export async function takeFullSnapshot(ctx: FullContext, clusterId: bigint, signal?: AbortSignal): Promise<FullResult> {
  const dir = await mkdtemp(join(ctx.scratchDir, 'full-'));
  try {
    const file = join(dir, 'snapshot.db');
    const time = ctx.now();
    const snap = await ctx.source.snapshotTo(file, signal);
    const revision = await ctx.snapshotRevision(file);
    const id = clusterIdHex(clusterId);
    const name = fullName(ctx.location, id, revision, time, ctx.compression, ctx.keys !== undefined);
    const { stream } = encodeObjectStream(
      { kind: 'full', clusterId: id, fromRevision: revision, toRevision: revision, time },
      () => createReadStream(file, { highWaterMark: 1024 * 1024 }),
      snap.sha256,
      snap.size,
      { compression: ctx.compression, key: ctx.keys?.active },
    );
    const { size } = await ctx.store.put(name, stream, signal ? { signal } : {});
    return {
      ref: { kind: 'full', name, clusterId: id, revision, time, compressed: ctx.compression === 'gzip', encrypted: ctx.keys !== undefined, size },
      sha256: snap.sha256,
      snapshotBytes: snap.size,
      endpoint: snap.endpoint,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
