// What a delta records of leases, so that a restore can re-create them: the first object an agent writes
// lists every lease alive then (with its granted TTL); each later one, the leases granted and gone since
// the one before. The keys a lease holds need no record: every event carries its key's lease id. Leases
// are listed with Lease.Leases and their TTLs asked with Lease.TimeToLive (new ones only), so this works
// against any etcd.
import { BackupLease, BackupLeases } from '../../../etcd-node/src/gen/etcdtspb/backup.js';
import type { EtcdSource } from './etcd-source.js';

/** TimeToLive calls in flight at once when many leases are new (the first listing) */
const PARALLEL = 16;

export interface LeaseDiff {
  leases: BackupLeases;
  /** call once the object holding `leases` is written: the next diff is relative to it */
  commit(): void;
}

export class LeaseTracker {
  /** lease id → granted TTL, as of the last committed object; undefined before the first */
  private known: Map<bigint, number> | undefined;

  constructor(private readonly source: EtcdSource) {}

  /** Leases now against the last committed object; `referenced` are lease ids the object's events carry. */
  async diff(referenced: ReadonlySet<bigint>): Promise<LeaseDiff> {
    const ids = await this.source.leases();
    const now = new Set(ids);
    const before = this.known;
    const fresh = ids.filter((id) => !before?.has(id));
    // a lease an event carries that is gone already (granted and revoked between two objects): record
    // it with TTL 0, so a restore between its grant and its revoke still finds it
    for (const id of referenced) if (id !== 0n && !now.has(id) && !before?.has(id)) fresh.push(id);
    const ttls = new Map<bigint, number>();
    for (let i = 0; i < fresh.length; i += PARALLEL) {
      const chunk = fresh.slice(i, i + PARALLEL);
      const got = await Promise.all(chunk.map((id) => (now.has(id) ? this.source.grantedTtl(id) : Promise.resolve(undefined))));
      chunk.forEach((id, j) => ttls.set(id, got[j] ?? 0));
    }
    const next = new Map<bigint, number>();
    for (const id of ids) next.set(id, before?.get(id) ?? ttls.get(id) ?? 0);
    const complete = before === undefined;
    const granted = (complete ? [...next.keys(), ...fresh.filter((id) => !now.has(id))] : fresh).map((id) => BackupLease.fromPartial({ id, ttl: BigInt(next.get(id) ?? ttls.get(id) ?? 0) }));
    const revoked = complete ? [] : [...before.keys()].filter((id) => !now.has(id));
    // a lease both granted and gone since the last object is recorded as granted and revoked
    for (const id of fresh) if (!now.has(id)) revoked.push(id);
    return {
      leases: BackupLeases.fromPartial({ complete, granted, revoked }),
      commit: () => {
        this.known = next;
      },
    };
  }

  /** Forget what was recorded: the next object lists every lease again (a new chain, a restart of the tail). */
  reset(): void {
    this.known = undefined;
  }
}
