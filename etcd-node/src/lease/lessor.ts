// The lessor: leases, their TTLs and the keys attached to them.
//
// What is replicated and what is not, as etcd does it:
//   - Grant and Revoke are log entries (applied on every member in log order, through `grant`/`revoke`),
//     so every member holds the same leases and the same key attachments.
//   - Time is not replicated. Only the primary (the member that is Raft leader) keeps real expiry times;
//     on the others every lease lives "forever". When a member becomes primary it gives every lease its
//     full TTL again, plus an extension (the election timeout) so that clients have time to find the new
//     leader and renew (`promote`). Keep-alives are answered by the primary alone (`renew`).
//   - Expiry is a proposal: the primary reports expired leases (`expired`), the server proposes a revoke
//     for each, and the revoke deletes the keys on every member when it applies.
// So a restart (or a leader change) resets each lease's remaining TTL to its granted TTL, as etcd
// documents for leases without checkpoints.
import { LeaseRecord } from '../gen/etcdtspb/internal.js';
import type { Backend } from '../storage/backend/backend.js';
import { Errors } from '../server/errors.js';

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds (about 285 years). */
export const MAX_LEASE_TTL = 9_000_000_000;

/** How long a reported expiry waits before it is reported again if the revoke did not apply (etcd: 3 s). */
const EXPIRED_RETRY_MS = 3000;

export interface Lease {
  readonly id: bigint;
  /** granted TTL, seconds (Invariant: ≥ the lessor's minimum TTL) */
  ttl: number;
  /** wall-clock ms when the lease expires on the primary; Infinity on other members (never expires) */
  expiry: number;
  /** attached keys, as latin1 strings of their bytes (reversible) */
  readonly keys: Set<string>;
  /** when the primary last reported it expired (0: not reported) */
  reportedAt: number;
}

export interface LessorOptions {
  /** the minimum TTL in seconds; shorter grants are raised to it */
  readonly minTtl: number;
  /** the clock (ms); tests inject their own */
  readonly now?: () => number;
}

export class Lessor {
  private readonly leases = new Map<bigint, Lease>();
  /** Invariant: while false, every lease's expiry is Infinity. */
  private primary = false;
  private readonly now: () => number;
  readonly minTtl: number;

  constructor(
    private readonly backend: Backend,
    opts: LessorOptions,
  ) {
    this.minTtl = opts.minTtl;
    this.now = opts.now ?? Date.now;
    this.reload();
  }

  /** Reads the leases from the backend (again, after a snapshot from the leader replaced it); keys are
   *  attached by the caller, from the store. */
  reload(): void {
    this.leases.clear();
    for (const { value } of this.backend.lease.getRange({})) {
      const r = LeaseRecord.decode(value);
      const id = BigInt(r.id);
      const l: Lease = { id, ttl: Number(r.ttl), expiry: Infinity, keys: new Set(), reportedAt: 0 };
      if (this.primary) l.expiry = this.now() + l.ttl * 1000;
      this.leases.set(id, l);
    }
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  exists(id: bigint): boolean {
    return this.leases.has(id);
  }

  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  // ---- applied from the log (deterministic on every member) ----

  /** Grants a lease; the TTL is raised to the minimum. Throws LeaseExist / LeaseTTLTooLarge. */
  grant(id: bigint, ttl: number): Lease {
    if (ttl > MAX_LEASE_TTL) throw Errors.LeaseTTLTooLarge;
    if (this.leases.has(id)) throw Errors.LeaseExist;
    const l: Lease = { id, ttl: Math.max(ttl, this.minTtl), expiry: Infinity, keys: new Set(), reportedAt: 0 };
    if (this.primary) l.expiry = this.now() + l.ttl * 1000;
    this.leases.set(id, l);
    this.persist(l);
    return l;
  }

  /**
   * Removes a lease and hands back its keys (sorted, as etcd deletes them: the same order on every
   * member) for the caller to delete in the same revision. Throws LeaseNotFound.
   */
  revoke(id: bigint): Buffer[] {
    const l = this.leases.get(id);
    if (!l) throw Errors.LeaseNotFound;
    const keys = [...l.keys].sort().map((k) => Buffer.from(k, 'latin1'));
    this.leases.delete(id);
    this.backend.lease.removeSync(idKey(id));
    return keys;
  }

  /** A key written with `lease` (called by the store as it writes; unknown leases are ignored). */
  attach(id: bigint, key: Buffer): void {
    this.leases.get(id)?.keys.add(key.toString('latin1'));
  }

  detach(id: bigint, key: Buffer): void {
    this.leases.get(id)?.keys.delete(key.toString('latin1'));
  }

  // ---- local to this member (time) ----

  /** This member became leader: every lease gets its full TTL again, plus `extendMs`. */
  promote(extendMs: number): void {
    this.primary = true;
    const base = this.now() + extendMs;
    for (const l of this.leases.values()) {
      l.expiry = base + l.ttl * 1000;
      l.reportedAt = 0;
    }
  }

  /** This member is no longer leader: leases never expire here until it leads again. */
  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) {
      l.expiry = Infinity;
      l.reportedAt = 0;
    }
  }

  /**
   * A keep-alive: the lease's TTL starts again. Returns its TTL, or undefined when the lease does not
   * exist or has already expired (its revoke is on the way). Only the primary renews.
   */
  renew(id: bigint): number | undefined {
    const l = this.leases.get(id);
    if (!l) return undefined;
    const now = this.now();
    if (l.expiry <= now) return undefined;
    l.expiry = now + l.ttl * 1000;
    l.reportedAt = 0;
    return l.ttl;
  }

  /** Seconds left (truncated, as etcd reports them); -1 for an unknown lease. */
  remaining(id: bigint): number {
    const l = this.leases.get(id);
    if (!l) return -1;
    // etcd reports a lease that never expires here (a follower's view) as math.MaxInt64 nanoseconds
    if (l.expiry === Infinity) return 9_223_372_036;
    return Math.trunc((l.expiry - this.now()) / 1000);
  }

  /**
   * Expired leases not reported in the last few seconds, at most `limit` (etcd revokes at most 1000 a
   * second), oldest expiry first. Marks them reported.
   */
  expired(limit: number): bigint[] {
    if (!this.primary) return [];
    const now = this.now();
    const due: Lease[] = [];
    for (const l of this.leases.values()) {
      if (l.expiry <= now && (l.reportedAt === 0 || now - l.reportedAt >= EXPIRED_RETRY_MS)) due.push(l);
    }
    due.sort((a, b) => a.expiry - b.expiry || (a.id < b.id ? -1 : 1));
    const out = due.slice(0, limit);
    for (const l of out) l.reportedAt = now;
    return out.map((l) => l.id);
  }

  /** Every lease, soonest expiry first (as etcd lists them). */
  list(): Lease[] {
    return [...this.leases.values()].sort((a, b) => a.expiry - b.expiry || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private persist(l: Lease): void {
    this.backend.lease.putSync(idKey(l.id), Buffer.from(LeaseRecord.encode({ id: l.id, ttl: BigInt(l.ttl), remainingTtl: 0n }).finish()));
  }
}

function idKey(id: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, id));
  return b;
}

/** etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds. */
export function minLeaseTtl(electionTimeoutMs: number): number {
  return Math.ceil((1.5 * electionTimeoutMs) / 1000);
}
