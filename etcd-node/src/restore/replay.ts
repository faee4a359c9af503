// The event tail replayed onto a restored backend: one MVCC write transaction per recorded revision, so
// the store gives every event the revision, create revision and version the source gave it. Each is
// checked as it is made — the store must stand at the revision before, a put must come out with the
// recorded create revision and version, a delete must find its key — so a delta that does not continue
// the state it is applied to (a wrong full, a lost object, an edited event) stops the restore with the
// object and revision named, instead of producing a cluster whose history differs from the source's.
//
// Leases: the full snapshot's lease bucket, then each delta object's record (the complete list the agent
// wrote first, then grants and revocations since its previous object), so the restored cluster has the
// leases of the target's object; any lease a restored key still refers to is kept or re-created.
import { LeaseRecord } from '../gen/etcdtspb/internal.js';
import type { BackupLeases, BackupRevision } from '../gen/etcdtspb/backup.js';
import { Event_EventType } from '../gen/mvccpb/kv.js';
import type { MvccStore } from '../mvcc/store.js';
import type { Backend } from '../storage/backend/backend.js';
import { RestoreError } from './errors.js';

/** revisions applied per backend transaction (each is still its own MVCC transaction) */
const REVISIONS_PER_BATCH = 1000;

const show = (k: Uint8Array): string => JSON.stringify(Buffer.from(k).toString('utf8'));

/** Applies `revisions` (in order) up to and including `upTo`; returns how many were applied. */
export function replayRevisions(backend: Backend, store: MvccStore, revisions: readonly BackupRevision[], upTo: number, object: string): number {
  let applied = 0;
  let i = 0;
  while (i < revisions.length && Number(revisions[i]!.revision) <= upTo) {
    backend.batch(() => {
      for (let n = 0; n < REVISIONS_PER_BATCH && i < revisions.length && Number(revisions[i]!.revision) <= upTo; n++, i++) {
        applyRevision(store, revisions[i]!, object);
        applied++;
      }
    });
  }
  return applied;
}

function applyRevision(store: MvccStore, r: BackupRevision, object: string): void {
  const rev = Number(r.revision);
  const bad = (what: string): RestoreError => new RestoreError('Corrupt', `${object}: revision ${rev}: ${what}`);
  if (store.currentRevision !== rev - 1) {
    throw bad(`the restored state is at revision ${store.currentRevision}, so revision ${rev} does not follow it (revisions ${store.currentRevision + 1}–${rev - 1} are missing)`);
  }
  const txn = store.write();
  for (const e of r.events) {
    const kv = e.kv!;
    if (e.type === Event_EventType.PUT) {
      const prev = txn.put(Buffer.from(kv.key), Buffer.from(kv.value), kv.lease);
      const created = prev ? prev.createRevision : BigInt(rev);
      const version = prev ? prev.version + 1n : 1n;
      if (created !== kv.createRevision || version !== kv.version) {
        throw bad(`key ${show(kv.key)} comes out with create revision ${created} and version ${version}, the backup recorded ${kv.createRevision} and ${kv.version}`);
      }
    } else {
      const { deleted } = txn.deleteRange(Buffer.from(kv.key), undefined);
      if (deleted !== 1) throw bad(`deletes key ${show(kv.key)}, which the restored state does not hold`);
    }
  }
  const end = txn.end();
  if (end !== rev) throw bad(`the transaction ended at revision ${end}`);
}

/** Leases as a restore accumulates them: id → granted TTL (seconds). */
export class LeaseLedger {
  private readonly live = new Map<bigint, bigint>();
  /** every TTL ever seen, to re-create a lease a key still refers to */
  private readonly known = new Map<bigint, bigint>();

  static fromBackend(backend: Backend): LeaseLedger {
    const l = new LeaseLedger();
    for (const { value } of backend.lease.getRange({})) {
      const rec = LeaseRecord.decode(value);
      l.live.set(rec.id, rec.ttl);
      l.known.set(rec.id, rec.ttl);
    }
    return l;
  }

  apply(leases: BackupLeases | undefined): void {
    if (!leases) return;
    if (leases.complete) this.live.clear();
    for (const g of leases.granted) {
      if (g.ttl > 0n) {
        this.live.set(g.id, g.ttl);
        this.known.set(g.id, g.ttl);
      }
    }
    for (const id of leases.revoked) this.live.delete(id);
  }

  /**
   * Writes the lease bucket: the ledger's leases, plus any lease a restored key is attached to (with the
   * last TTL seen for it, else `fallbackTtl`). Returns how many leases it wrote, and the ids re-created
   * without a known TTL.
   */
  write(backend: Backend, attached: Iterable<bigint>, fallbackTtl: bigint): { written: number; withoutTtl: bigint[] } {
    const out = new Map(this.live);
    const unknown: bigint[] = [];
    for (const id of attached) {
      if (out.has(id)) continue;
      const ttl = this.known.get(id);
      if (ttl === undefined) unknown.push(id);
      out.set(id, ttl ?? fallbackTtl);
    }
    backend.batch(() => {
      for (const { key } of backend.lease.getRange({})) backend.lease.removeSync(key);
      for (const [id, ttl] of out) {
        const k = Buffer.alloc(8);
        k.writeBigUInt64BE(BigInt.asUintN(64, id));
        backend.lease.putSync(k, Buffer.from(LeaseRecord.encode({ id, ttl, remainingTtl: 0n }).finish()));
      }
    });
    return { written: out.size, withoutTtl: unknown };
  }
}

/** Which lease each live key is attached to, kept current by the store as events are replayed. */
export class AttachedLeases {
  private readonly byKey = new Map<string, bigint>();

  constructor(initial: Iterable<{ key: Buffer; lease: bigint }>) {
    for (const { key, lease } of initial) this.byKey.set(key.toString('latin1'), lease);
  }

  attach(lease: bigint, key: Buffer): void {
    this.byKey.set(key.toString('latin1'), lease);
  }

  detach(lease: bigint, key: Buffer): void {
    const k = key.toString('latin1');
    if (this.byKey.get(k) === lease) this.byKey.delete(k);
  }

  leases(): Set<bigint> {
    return new Set(this.byKey.values());
  }
}
