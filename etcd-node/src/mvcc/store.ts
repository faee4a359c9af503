// The revisioned key space (etcd's mvcc store), over the lmdb backend.
//
// Every change is a new revision (main, sub): main goes up by one per write transaction that changed
// something, sub counts the changes inside it from 0. An empty store is at revision 1, as etcd is, so
// the first write is revision 2. The backend `key` database maps revision bytes (see revision.ts) to
// the encoded mvccpb.KeyValue; a delete writes a tombstone (the revision key plus 't', a KeyValue with
// only `key`). The in-memory key index (key_index.ts) maps each key to its revisions, so a read at
// any revision finds the right backend entry with one lookup per key.
//
// Compaction (compact(rev)) records the compact revision at once — reads below it fail from then on —
// and deletes the dropped revisions in small backend batches, yielding to the event loop between
// them. The scheduled and finished compact revisions live in the `meta` database; opening a store
// whose scheduled compaction did not finish runs it again.

import { encodeKeyValue } from '../util/fast-encode.js';
import { Event, Event_EventType, KeyValue } from '../gen/mvccpb/kv.js';
import type { Backend } from '../storage/backend/backend.js';
import { crc32c } from '../util/crc32c.js';
import { fromKey, toKey } from './btree.js';
import { TreeIndex, type IndexUndo } from './key_index.js';
import { bytesToRev, isTombstoneKey, revId, revToBytes, type Revision } from './revision.js';

export class CompactedError extends Error {
  readonly code = 'COMPACTED';
  constructor() {
    super('mvcc: required revision has been compacted');
    this.name = 'CompactedError';
  }
}

export class FutureRevError extends Error {
  readonly code = 'FUTURE_REV';
  constructor() {
    super('mvcc: required revision is a future revision');
    this.name = 'FutureRevError';
  }
}

export interface RangeOptions {
  /** at most this many kvs (0/undefined: no limit); `count` still counts them all */
  limit?: number;
  /** read at this revision (<= 0/undefined: current) */
  rev?: number;
  /** only count: kvs empty */
  countOnly?: boolean;
}

export interface RangeResult {
  /** in key order, at most `limit` */
  kvs: KeyValue[];
  /** number of keys in the range at the revision read (ignores limit) */
  count: number;
  /** the store's current revision (etcd's response header revision), whatever revision was read */
  rev: number;
}

export interface DeleteResult {
  deleted: number;
  prevKvs: KeyValue[];
}

export interface WriteTxn {
  /** current revision before this txn (its reads see this plus its own writes) */
  readonly rev: number;
  /** sees this txn's earlier writes; opts.rev may ask for an older revision, as in etcd */
  range(key: Buffer, end: Buffer | undefined, opts?: RangeOptions): RangeResult;
  /** returns the previous kv (undefined if the key did not exist) */
  put(key: Buffer, value: Buffer, lease: bigint): KeyValue | undefined;
  deleteRange(key: Buffer, end: Buffer | undefined): DeleteResult;
  /** finishes the txn: the store's current revision after it (rev + 1 if anything changed, else rev) */
  end(): number;
}

export interface StoreOptions {
  /** work per compaction batch: keys visited plus revisions deleted (default 1000, like etcd) */
  compactionBatchLimit?: number;
}

export interface KeyValueHash {
  hash: number;
  /** the compact revision the hash was taken under (-1 if the store was never compacted, as etcd) */
  compactRevision: number;
  hashRevision: number;
}

/** Called after a write txn's batch commits: its revision and its changes (with prevKv), in order. */
export type CommitListener = (rev: number, events: Event[]) => void;

/** Told, synchronously as a write happens, which keys gain or lose a lease (the lessor). */
export interface LeaseAttachments {
  attach(lease: bigint, key: Buffer): void;
  detach(lease: bigint, key: Buffer): void;
}

const SCHEDULED_COMPACT = Buffer.from('scheduledCompactRev');
const FINISHED_COMPACT = Buffer.from('finishedCompactRev');
const KEY_BUCKET_NAME = Buffer.from('key');
const DEFAULT_COMPACTION_BATCH = 1000;

const encodeKv = encodeKeyValue;

function tombstoneKv(key: Buffer): KeyValue {
  return { key, createRevision: 0n, modRevision: 0n, version: 0n, value: Buffer.alloc(0), lease: 0n };
}

function readMark(meta: Backend['meta'], key: Buffer): number | undefined {
  const v = meta.get(key);
  return v && v.length >= 8 ? bytesToRev(v).main : undefined;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface CompactionJob {
  rev: number;
  cancelled: boolean;
}

export class MvccStore {
  private index = new TreeIndex();
  private currentRev = 1;
  /** main revision of the latest compaction scheduled; -1 when never compacted */
  private compactMainRev = -1;
  private activeTxn: StoreWriteTxn | null = null;
  private compactionQueue: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly listeners = new Set<CommitListener>();
  private restoredLeases: Array<{ key: Buffer; lease: bigint }> = [];
  /** the lessor, once the server has one (writes keep its key attachments current) */
  leaseAttachments: LeaseAttachments | undefined;

  private constructor(
    readonly backend: Backend,
    private readonly batchLimit: number,
  ) {}

  /** Rebuilds the key index from the backend and resumes an unfinished compaction. */
  static open(backend: Backend, opts: StoreOptions = {}): MvccStore {
    const s = new MvccStore(backend, Math.max(1, opts.compactionBatchLimit ?? DEFAULT_COMPACTION_BATCH));
    s.restore();
    return s;
  }

  get currentRevision(): number {
    return this.currentRev;
  }

  /** The latest compaction scheduled (0 if none). */
  get compactRevision(): number {
    return Math.max(0, this.compactMainRev);
  }

  /** Number of keys the index holds (live or with history left). */
  get indexedKeys(): number {
    return this.index.size;
  }

  range(key: Buffer, end: Buffer | undefined, opts: RangeOptions = {}): RangeResult {
    return this.rangeAt(key, end, opts, this.currentRev);
  }

  /** Opens the write txn. Only inside backend.batch(), one at a time; call end() before the batch returns. */
  write(): WriteTxn {
    if (this.closed) throw new Error('mvcc: store is closed');
    if (!this.backend.inBatch) throw new Error('MvccStore.write: only inside backend.batch()');
    if (this.activeTxn) throw new Error('MvccStore.write: another write txn is open');
    const txn = new StoreWriteTxn(this, this.currentRev);
    this.activeTxn = txn;
    this.backend.onRollback(() => txn.rollback());
    this.backend.onCommit(() => txn.committed());
    return txn;
  }

  /**
   * Compacts away history before `rev`. Throws CompactedError if rev <= compactRevision and
   * FutureRevError if rev > currentRevision; otherwise the compact revision is recorded at once and the
   * promise resolves when the old revisions are physically deleted (or the store is closed first: the
   * rest then runs on the next open).
   */
  compact(rev: number): Promise<void> {
    if (this.closed) throw new Error('mvcc: store is closed');
    if (rev <= this.compactMainRev) throw new CompactedError();
    if (rev > this.currentRev) throw new FutureRevError();
    const job: CompactionJob = { rev, cancelled: false };
    const prev = this.compactMainRev;
    this.backend.batch(() => {
      this.backend.meta.putSync(SCHEDULED_COMPACT, revToBytes(rev, 0));
      this.backend.onRollback(() => {
        this.compactMainRev = prev;
        job.cancelled = true;
      });
    });
    this.compactMainRev = rev;
    return this.schedule(job);
  }

  /** Resolves once every compaction scheduled so far has finished (or stopped for close()). */
  compactionsDone(): Promise<void> {
    return this.compactionQueue;
  }

  /**
   * etcd's HashKV: CRC-32C of the bucket name "key", then of each backend (key, value) in key order
   * with main revision <= rev (0: current); a revision <= the compact revision counts only if a
   * compaction at `rev` would keep it, when there is anything to keep. Equal on members with equal
   * history and compact revision, whether or not their compaction has physically run.
   */
  hashKV(rev: number): KeyValueHash {
    const compactRev = this.compactMainRev;
    const cur = this.currentRev;
    // etcd 3.4 (our reference) refuses the compacted revision itself too: rev <= compactRev.
    if (rev > 0 && rev <= compactRev) throw new CompactedError();
    if (rev > cur) throw new FutureRevError();
    const at = rev <= 0 ? cur : rev;
    const keep = this.index.keep(at);
    let h = crc32c(KEY_BUCKET_NAME);
    for (const { key, value } of this.backend.key.getRange({ end: revToBytes(at + 1, 0) })) {
      const kr = bytesToRev(key);
      if (kr.main > at) continue;
      if (kr.main <= compactRev && keep.size > 0 && !keep.has(revId(kr))) continue;
      h = crc32c(key, h);
      h = crc32c(value, h);
    }
    return { hash: h, compactRevision: compactRev, hashRevision: at };
  }

  /**
   * The changes with fromRev <= main revision <= toRev (default: current), oldest first, at most
   * `limit` (0: all) — for watchers catching up. Delete events carry {key, modRevision}; prevKv is
   * not filled. Throws CompactedError if fromRev < compactRevision.
   */
  rangeEvents(fromRev: number, toRev = this.currentRev, limit = 0): Event[] {
    if (fromRev < this.compactMainRev) throw new CompactedError();
    const out: Event[] = [];
    if (toRev < fromRev) return out;
    const range = this.backend.key.getRange({ start: revToBytes(Math.max(fromRev, 0), 0), end: revToBytes(toRev + 1, 0) });
    for (const { key, value } of range) {
      const r = bytesToRev(key);
      if (r.main > toRev) break;
      const kv = KeyValue.decode(value);
      if (isTombstoneKey(key)) {
        kv.modRevision = BigInt(r.main);
        out.push({ type: Event_EventType.DELETE, kv, prevKv: undefined });
      } else {
        out.push({ type: Event_EventType.PUT, kv, prevKv: undefined });
      }
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /** Subscribes to committed write txns; returns the unsubscribe function. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * The live keys that had a lease when the store was opened, for the lessor to re-attach; handed out
   * once (later calls return an empty list).
   */
  takeRestoredLeases(): Array<{ key: Buffer; lease: bigint }> {
    const out = this.restoredLeases;
    this.restoredLeases = [];
    return out;
  }

  /** The backend was replaced (a snapshot from the leader): rebuild the index from it. */
  async reload(): Promise<void> {
    await this.compactionQueue;
    this.index = new TreeIndex();
    this.currentRev = 1;
    this.compactMainRev = -1;
    this.restoredLeases = [];
    this.restore();
  }

  /** Stops background compaction at its next batch boundary (it resumes on the next open). */
  async close(): Promise<void> {
    this.closed = true;
    await this.compactionQueue;
  }

  // ---- internals (used by StoreWriteTxn) ----

  /** @internal */
  rangeAt(key: Buffer, end: Buffer | undefined, opts: RangeOptions, curRev: number): RangeResult {
    let rev = opts.rev ?? 0;
    if (rev > curRev) throw new FutureRevError();
    if (rev <= 0) rev = curRev;
    if (rev < this.compactMainRev) throw new CompactedError();
    const k = toKey(key);
    const e = end === undefined ? undefined : toKey(end);
    if (opts.countOnly) return { kvs: [], count: this.index.count(k, e, rev), rev: curRev };
    const { revs, total } = this.index.revisions(k, e, rev, opts.limit ?? 0);
    const kvs = revs.map((r) => this.readKv(r.rev));
    return { kvs, count: total, rev: curRev };
  }

  /** @internal */
  readKv(rev: Revision): KeyValue {
    const v = this.backend.key.get(revToBytes(rev.main, rev.sub));
    if (v === undefined) throw new Error(`mvcc: revision ${rev.main}.${rev.sub} is in the index but not in the backend`);
    return KeyValue.decode(v);
  }

  /** @internal */
  get idx(): TreeIndex {
    return this.index;
  }

  /** @internal */
  txnEnded(txn: StoreWriteTxn, newRev: number): void {
    if (this.activeTxn === txn) this.activeTxn = null;
    this.currentRev = newRev;
  }

  /** @internal */
  txnRolledBack(txn: StoreWriteTxn, rev: number): void {
    if (this.activeTxn === txn) this.activeTxn = null;
    this.currentRev = rev;
  }

  /** @internal */
  notify(rev: number, events: Event[]): void {
    for (const l of this.listeners) l(rev, events);
  }

  private schedule(job: CompactionJob): Promise<void> {
    const run = this.compactionQueue.then(() => this.runCompaction(job));
    this.compactionQueue = run.catch(() => undefined);
    return run;
  }

  private async runCompaction(job: CompactionJob): Promise<void> {
    let after: string | undefined;
    for (;;) {
      if (job.cancelled || this.closed) return;
      let done = false;
      this.backend.batch(() => {
        const keyDb = this.backend.key;
        const next = this.index.compactStep(job.rev, after, this.batchLimit, (_k, rev, tombstone) => {
          keyDb.removeSync(revToBytes(rev.main, rev.sub, tombstone));
        });
        if (next === undefined) {
          this.backend.meta.putSync(FINISHED_COMPACT, revToBytes(job.rev, 0));
          done = true;
        }
        after = next;
      });
      if (done) return;
      await yieldToEventLoop();
    }
  }

  private restore(): void {
    const meta = this.backend.meta;
    const finished = readMark(meta, FINISHED_COMPACT);
    const scheduled = readMark(meta, SCHEDULED_COMPACT);
    if (finished !== undefined) this.compactMainRev = finished;

    const leases = new Map<string, { key: Buffer; lease: bigint }>();
    let maxRev = 1;
    for (const { key: bk, value } of this.backend.key.getRange({})) {
      const rev = bytesToRev(bk);
      const tomb = isTombstoneKey(bk);
      const kv = KeyValue.decode(value);
      const ks = toKey(kv.key);
      const { ki, isNew } = this.index.restoreEntry(ks);
      if (isNew) {
        if (tomb) ki.restoreTombstone(rev);
        else ki.restore(Number(kv.createRevision), rev, Number(kv.version));
      } else if (tomb) {
        ki.tombstone(rev);
      } else {
        ki.put(rev);
      }
      if (tomb || kv.lease === 0n) leases.delete(ks);
      else leases.set(ks, { key: kv.key, lease: kv.lease });
      maxRev = Math.max(maxRev, rev.main);
    }
    this.restoredLeases = [...leases.values()];
    this.currentRev = Math.max(maxRev, this.compactMainRev);

    if (scheduled !== undefined && scheduled > this.compactMainRev) {
      this.compactMainRev = scheduled;
      this.currentRev = Math.max(this.currentRev, scheduled);
      // resumed in the background; a failure here (e.g. the backend closed under it) is retried on the
      // next open, since the finished mark is not written
      this.schedule({ rev: scheduled, cancelled: false }).catch(() => undefined);
    }
  }
}

class StoreWriteTxn implements WriteTxn {
  private subs = 0;
  private readonly undos: IndexUndo[] = [];
  private readonly events: Event[] = [];
  private state: 'open' | 'ended' | 'rolledBack' = 'open';

  constructor(
    private readonly store: MvccStore,
    readonly rev: number,
  ) {}

  range(key: Buffer, end: Buffer | undefined, opts: RangeOptions = {}): RangeResult {
    this.assertOpen();
    return this.store.rangeAt(key, end, opts, this.subs > 0 ? this.rev + 1 : this.rev);
  }

  put(key: Buffer, value: Buffer, lease: bigint): KeyValue | undefined {
    this.assertOpen();
    const main = this.rev + 1;
    const sub = this.subs;
    const idx = this.store.idx;
    const k = toKey(key);
    const prev = idx.get(k, main);
    let created = main;
    let ver = 1;
    let prevKv: KeyValue | undefined;
    if (prev) {
      created = prev.created;
      ver = prev.ver + 1;
      prevKv = this.store.readKv(prev.modified);
    }
    const kv: KeyValue = {
      key: Buffer.from(key),
      createRevision: BigInt(created),
      modRevision: BigInt(main),
      version: BigInt(ver),
      value: Buffer.from(value),
      lease,
    };
    this.store.backend.key.putSync(revToBytes(main, sub), encodeKv(kv));
    this.undos.push(idx.put(k, { main, sub }));
    this.subs++;
    this.events.push({ type: Event_EventType.PUT, kv, prevKv });
    const la = this.store.leaseAttachments;
    const oldLease = prevKv?.lease ?? 0n;
    if (la && oldLease !== lease) {
      if (oldLease !== 0n) la.detach(oldLease, kv.key);
      if (lease !== 0n) la.attach(lease, kv.key);
    }
    return prevKv;
  }

  deleteRange(key: Buffer, end: Buffer | undefined): DeleteResult {
    this.assertOpen();
    const main = this.rev + 1;
    const idx = this.store.idx;
    const { revs } = idx.revisions(toKey(key), end === undefined ? undefined : toKey(end), this.subs > 0 ? main : this.rev, 0);
    const prevKvs: KeyValue[] = [];
    for (const { key: k, rev } of revs) {
      const prevKv = this.store.readKv(rev);
      const sub = this.subs;
      const dk = fromKey(k);
      this.store.backend.key.putSync(revToBytes(main, sub, true), encodeKv(tombstoneKv(dk)));
      const undo = idx.tombstone(k, { main, sub });
      if (!undo) throw new Error(`mvcc: tombstone on a key that is not live: ${dk.toString('hex')}`);
      this.undos.push(undo);
      this.subs++;
      const ev = tombstoneKv(dk);
      ev.modRevision = BigInt(main);
      this.events.push({ type: Event_EventType.DELETE, kv: ev, prevKv });
      if (prevKv.lease !== 0n) this.store.leaseAttachments?.detach(prevKv.lease, dk);
      prevKvs.push(prevKv);
    }
    return { deleted: revs.length, prevKvs };
  }

  end(): number {
    if (this.state !== 'open') return this.store.currentRevision;
    this.state = 'ended';
    const newRev = this.subs > 0 ? this.rev + 1 : this.rev;
    this.store.txnEnded(this, newRev);
    return newRev;
  }

  /** The batch committed (end() is implied if the caller forgot it). */
  committed(): void {
    if (this.state === 'open') this.end();
    if (this.state === 'ended' && this.subs > 0) this.store.notify(this.rev + 1, this.events);
  }

  /** The batch rolled back: undo the index changes and the revision bump. */
  rollback(): void {
    if (this.state === 'rolledBack') return;
    for (let i = this.undos.length - 1; i >= 0; i--) this.store.idx.undo(this.undos[i]!);
    this.undos.length = 0;
    this.state = 'rolledBack';
    this.store.txnRolledBack(this, this.rev);
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error('mvcc: write txn already ended');
  }
}
