// The restore engine: a backup chain (or one snapshot object) in a store → a new member's data dir at the
// target revision. Planning lists the store and reads at most one delta (the one a time target falls in);
// restoring reads the full snapshot and the deltas in order, verifying each object (checksum,
// authentication tag, header against name, contents against header: backup/read-objects.ts) and the
// chain's continuity as it replays (replay.ts). The data dir appears only complete (member-data-dir.ts):
// a failure at any object leaves no data dir behind, and the store is only ever read.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupDelta } from '../gen/etcdtspb/backup.js';
import { analyzeChain, type ChainView } from '../backup/chain.js';
import type { BackupKeyring } from '../backup/keys.js';
import { clusterRoot, parseName, type ChainLocation, type DeltaRef } from '../backup/names.js';
import { BackupObjectError, MAGIC } from '../backup/object-format.js';
import { checkSnapshotTrailer, readDelta, readFull } from '../backup/read-objects.js';
import { snapshotRevision } from '../backup/snapshot-revision.js';
import type { ObjectStore } from '../backup/store/store.js';
import { MvccStore } from '../mvcc/store.js';
import { RestoreError } from './errors.js';
import { importSnapshotInto } from './import-snapshot.js';
import { checkDataDirFree, writeMemberDataDir, type WrittenMember } from './member-data-dir.js';
import { markCompactedAt } from './restore-snapshot.js';
import type { NewCluster } from './new-cluster.js';
import { byChain, planLatest, planRevision, resolveTime, type RestorePlan, type RestoreTarget } from './plan.js';
import { AttachedLeases, LeaseLedger, replayRevisions } from './replay.js';

/** The TTL given to a lease a restored key refers to when no object recorded its TTL (seconds). */
const UNKNOWN_LEASE_TTL = 3600n;

export interface ChainSource {
  store: ObjectStore;
  keys: BackupKeyring | undefined;
  location: ChainLocation;
  /** the chain to restore; default: the one holding the most recently received revision */
  clusterId?: string;
}

export interface ResolvedPlan extends RestorePlan {
  /** when the target revision was received by the agent (a full's revision: when it was taken), unix ms */
  time: number;
  /** the deltas already read while planning (the one a time target or a mid-delta revision falls in) */
  read: Map<string, BackupDelta>;
}

function objectError(err: unknown): never {
  if (err instanceof BackupObjectError) throw new RestoreError('Corrupt', err.message);
  throw err;
}

async function readDeltaChecked(src: ChainSource, d: DeltaRef, cache: Map<string, BackupDelta>): Promise<BackupDelta> {
  const hit = cache.get(d.name);
  if (hit) return hit;
  try {
    const delta = await readDelta(src.store, d, src.keys);
    cache.set(d.name, delta);
    return delta;
  } catch (err) {
    return objectError(err);
  }
}

async function chainView(src: ChainSource): Promise<{ clusterId: string; view: ChainView }> {
  const root = clusterRoot(src.location);
  const refs = (await src.store.list(root)).flatMap((o) => parseName(o.name, o.size) ?? []);
  const chains = byChain(refs);
  if (src.clusterId !== undefined) {
    const mine = chains.get(src.clusterId);
    if (!mine) {
      throw new RestoreError(
        'Unreachable',
        `${src.store.description}: no chain of cluster ${src.clusterId} under ${root}${chains.size > 0 ? ` (chains there: ${[...chains.keys()].join(', ')})` : ''}`,
      );
    }
    return { clusterId: src.clusterId, view: analyzeChain(mine) };
  }
  let best: { clusterId: string; view: ChainView } | undefined;
  for (const [clusterId, list] of chains) {
    const view = analyzeChain(list);
    if (view.latest && (!best || view.latest.time > best.view.latest!.time)) best = { clusterId, view };
  }
  if (!best) throw new RestoreError('Unreachable', `${src.store.description}: no restorable chain under ${root} (${refs.length} backup objects, no full snapshot)`);
  return best;
}

/** Resolves the target to one revision of one chain and the objects that reach it. Reads no full. */
export async function planBackupRestore(src: ChainSource, target: RestoreTarget): Promise<ResolvedPlan> {
  const { clusterId, view } = await chainView(src);
  const read = new Map<string, BackupDelta>();
  let plan: RestorePlan;
  if (target.kind === 'latest') plan = planLatest(view, clusterId);
  else if (target.kind === 'revision') plan = planRevision(view, clusterId, target.revision);
  else {
    const at = await resolveTime(view, clusterId, target.time, (d) => readDeltaChecked(src, d, read));
    plan = planRevision(view, clusterId, at.revision);
  }
  const last = plan.deltas[plan.deltas.length - 1];
  let time: number;
  if (!last) time = plan.full.time;
  else if (last.to === plan.revision) time = last.time;
  else {
    const r = (await readDeltaChecked(src, last, read)).revisions.find((x) => Number(x.revision) === plan.revision);
    if (!r) throw new RestoreError('Corrupt', `${last.name}: revision ${plan.revision} is not in it`);
    time = Number(r.timeMs);
  }
  return { ...plan, time, read };
}

export interface RestoreResult extends WrittenMember {
  revision: number;
  /** where the restored members' revisions go on from: revision, or revision + --bump-revision */
  currentRevision: number;
  time: number;
  /** revisions replayed from deltas */
  replayed: number;
  leases: number;
  /** leases re-created for restored keys with a TTL no object recorded */
  leasesWithoutTtl: bigint[];
  /** the snapshot's report: users whose passwords etcd-node cannot verify */
  foreignPasswordUsers: string[];
}

export async function restoreBackup(
  src: ChainSource,
  plan: ResolvedPlan,
  dataDir: string,
  cluster: NewCluster,
  scratchDir: string,
  bumpRevision = 0,
): Promise<RestoreResult> {
  await checkDataDirFree(dataDir);
  const scratch = await mkdtemp(path.join(scratchDir, 'etcd-node-restore-'));
  try {
    const file = path.join(scratch, 'full.db');
    try {
      await readFull(src.store, plan.full, src.keys, file, snapshotRevision);
    } catch (err) {
      objectError(err);
    }
    let replayed = 0;
    let leases = 0;
    let leasesWithoutTtl: bigint[] = [];
    let foreign: string[] = [];
    const written = await writeMemberDataDir(dataDir, cluster, async (backend) => {
      foreign = importSnapshotInto(backend, file).report.foreignPasswordUsers;
      await rm(file, { force: true });
      const ledger = LeaseLedger.fromBackend(backend);
      const store = MvccStore.open(backend);
      const attached = new AttachedLeases(store.takeRestoredLeases());
      store.leaseAttachments = attached;
      try {
        if (store.currentRevision !== plan.full.revision) {
          throw new RestoreError('Corrupt', `${plan.full.name}: the snapshot opens at revision ${store.currentRevision}, its name says ${plan.full.revision}`);
        }
        for (const d of plan.deltas) {
          const delta = await readDeltaChecked(src, d, plan.read);
          plan.read.delete(d.name);
          // a delta may begin before the state (overlapping objects): its earlier revisions are already in
          const todo = delta.revisions.filter((r) => Number(r.revision) > store.currentRevision);
          replayed += replayRevisions(backend, store, todo, plan.revision, d.name);
          ledger.apply(delta.leases);
        }
        if (store.currentRevision !== plan.revision) {
          throw new RestoreError('Corrupt', `the chain's objects reach revision ${store.currentRevision}, not the planned ${plan.revision}`);
        }
        const written = ledger.write(backend, attached.leases(), UNKNOWN_LEASE_TTL);
        leases = written.written;
        leasesWithoutTtl = written.withoutTtl;
        if (bumpRevision > 0) markCompactedAt(backend, plan.revision + bumpRevision);
      } finally {
        await store.close();
      }
    });
    return { ...written, revision: plan.revision, currentRevision: plan.revision + bumpRevision, time: plan.time, replayed, leases, leasesWithoutTtl, foreignPasswordUsers: foreign };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export interface SnapshotObjectResult extends WrittenMember {
  revision: number;
  foreignPasswordUsers: string[];
}

/**
 * One snapshot object → a data dir: one of our full objects (decoded and checked), or a plain etcd
 * snapshot file (`etcdctl snapshot save`'s, whose SHA-256 trailer must verify unless skipHashCheck).
 */
export async function restoreSnapshotObject(
  store: ObjectStore,
  keys: BackupKeyring | undefined,
  name: string,
  dataDir: string,
  cluster: NewCluster,
  scratchDir: string,
  skipHashCheck: boolean,
): Promise<SnapshotObjectResult> {
  await checkDataDirFree(dataDir);
  const scratch = await mkdtemp(path.join(scratchDir, 'etcd-node-restore-'));
  try {
    const file = path.join(scratch, 'snapshot.db');
    const ref = parseName(name);
    let head: Buffer;
    try {
      head = (await store.getStream(name).then(async (s) => {
        for await (const chunk of s) {
          s.destroy();
          return chunk as Buffer;
        }
        return Buffer.alloc(0);
      })).subarray(0, MAGIC.length);
    } catch (err) {
      throw new RestoreError('Unreachable', `${store.description}: cannot read ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (head.equals(MAGIC)) {
      if (!ref || ref.kind !== 'full') throw new RestoreError('NotASnapshot', `${name}: a backup object that is not a full snapshot (a delta needs its chain: restore the chain instead)`);
      try {
        await readFull(store, ref, keys, file, snapshotRevision);
      } catch (err) {
        objectError(err);
      }
    } else {
      await pipeline(await store.getStream(name), createWriteStream(file));
      if (!skipHashCheck) {
        try {
          await checkSnapshotTrailer(file, name);
        } catch (err) {
          if (err instanceof BackupObjectError) {
            throw new RestoreError('HashMismatch', `${err.message} (a copy of a member's db file has no trailer: restore it with --skip-hash-check)`);
          }
          throw err;
        }
      }
    }
    let revision = 0;
    let foreign: string[] = [];
    const written = await writeMemberDataDir(dataDir, cluster, (backend) => {
      const r = importSnapshotInto(backend, file);
      revision = r.revision;
      foreign = r.report.foreignPasswordUsers;
    });
    return { ...written, revision, foreignPasswordUsers: foreign };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

