// One delta object: the tail's batch of whole revisions plus the leases seen since the last object,
// encoded (etcdtspb.BackupDelta), compressed, encrypted and written in one put. Before it is written the
// chain is checked in the store: no delta that this agent did not write may have appeared after its last
// one (another writer, or a listing that is not what this agent thinks), else nothing is written.
import { deltaName, parseName, chainRoot, clusterIdHex, type ChainLocation, type DeltaRef } from '../../../etcd-node/src/backup/names.js';
import type { BackupKeyring } from '../../../etcd-node/src/backup/keys.js';
import { encodeObject, type Compression } from '../../../etcd-node/src/backup/object-format.js';
import type { ObjectStore } from '../../../etcd-node/src/backup/store/store.js';
import { BackupDelta } from '../../../etcd-node/src/gen/etcdtspb/backup.js';
import type { LeaseTracker } from './lease-tracker.js';
import type { TailBatch } from './tail.js';

export interface DeltaContext {
  store: ObjectStore;
  location: ChainLocation;
  keys: BackupKeyring | undefined;
  compression: Compression;
  leases: LeaseTracker;
}

/** The chain in the store is not the one this agent writes: it writes nothing more until it has listed it again. */
export class ChainConflictError extends Error {
  readonly code = 'ChainConflict';
  constructor(message: string) {
    super(message);
    this.name = 'ChainConflictError';
  }
}

export async function writeDelta(ctx: DeltaContext, clusterId: bigint, batch: TailBatch, previous: DeltaRef | undefined): Promise<DeltaRef> {
  const id = clusterIdHex(clusterId);
  const dir = `${chainRoot(ctx.location, id)}delta/`;
  const newer = await ctx.store.list(dir, previous ? { startAfter: previous.name } : {});
  for (const o of newer) {
    const ref = parseName(o.name);
    if (ref?.kind === 'delta' && ref.to >= batch.from) {
      throw new ChainConflictError(`${o.name} (revisions ${ref.from}–${ref.to}) is in the store, but this agent did not write it: another agent writes this chain`);
    }
  }
  const referenced = new Set<bigint>();
  for (const r of batch.revisions) for (const e of r.events) if (e.kv && e.kv.lease !== 0n) referenced.add(e.kv.lease);
  const diff = await ctx.leases.diff(referenced);
  const payload = Buffer.from(
    BackupDelta.encode(BackupDelta.fromPartial({ clusterId, fromRevision: BigInt(batch.from), toRevision: BigInt(batch.to), revisions: batch.revisions, leases: diff.leases })).finish(),
  );
  const first = batch.revisions[0]!;
  const last = batch.revisions[batch.revisions.length - 1]!;
  const time = Number(last.timeMs);
  const { bytes } = encodeObject(
    { kind: 'delta', clusterId: id, fromRevision: batch.from, toRevision: batch.to, time, firstTime: Number(first.timeMs) },
    payload,
    { compression: ctx.compression, key: ctx.keys?.active },
  );
  const name = deltaName(ctx.location, id, batch.from, batch.to, time, ctx.compression, ctx.keys !== undefined);
  const { size } = await ctx.store.put(name, bytes);
  diff.commit();
  return { kind: 'delta', name, clusterId: id, from: batch.from, to: batch.to, time, compressed: ctx.compression === 'gzip', encrypted: ctx.keys !== undefined, size };
}
