// The backend: our bbolt, on lmdb. One lmdb environment in a single file (<data-dir>/member/snap/db)
// with named databases in the role of etcd's buckets. Keys and values are raw bytes (Buffer).
//
// Durability: lmdb is opened with noSync. A committed transaction is in the OS page cache at once (a
// process kill -9 keeps it); a machine crash can lose the tail, which the WAL replays from the stored
// consistent index. `sync()` flushes when the server wants a durable point (snapshots, shutdown).
//
// Writes: `batch(fn)` runs fn in one synchronous lmdb write transaction (transactionSync); puts inside
// must be the synchronous ones (`putSync`/`removeSync`) so reads in the same transaction see them.
// Every write must happen inside batch(): defragment() relies on it.

import fs from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { crc32c } from '../../util/crc32c.js';

export type Bucket = Database<Buffer, Buffer>;

/** Bucket names, in the (byte) order hash() visits them. */
export const BUCKET_NAMES = ['auth', 'key', 'lease', 'members', 'meta'] as const;
export type BucketName = (typeof BUCKET_NAMES)[number];

export interface BackendOptions {
  /**
   * Initial lmdb map size in bytes (virtual address space, not disk). lmdb grows it when a write needs
   * more. Default 10 GiB: etcd's default quota is 2 GiB and its recommended maximum 8 GiB.
   */
  mapSize?: number;
}

const DEFAULT_MAP_SIZE = 10 * 1024 ** 3;
const META_CONSISTENT_INDEX = Buffer.from('consistent_index');
const META_TERM = Buffer.from('term');

type Dbs = Record<BucketName, Bucket>;

/** Per nesting level of batch(): callbacks to run if it rolls back / after the outermost commit. */
interface Frame {
  rollbacks: Array<() => void>;
  commits: Array<() => void>;
}

const DEFRAG_CHUNK_ENTRIES = 5_000;
const DEFRAG_CHUNK_BYTES = 4 * 1024 * 1024;
/** journaled keys left for the final, synchronous replay of a defragment */
const DEFRAG_FINAL_REPLAY_MAX = 2_000;

/** Keys written while a defragment copy runs; replayed onto the copy before the swap. */
interface Journal {
  keys: Map<BucketName, Map<string, Buffer>>;
  cleared: Set<BucketName>;
}

type JournalState = Array<{ name: BucketName; clear: boolean; entries: Array<[Buffer, Buffer | undefined]> }>;

function journalSize(j: Journal): number {
  let n = 0;
  for (const m of j.keys.values()) n += m.size;
  return n + j.cleared.size * DEFRAG_FINAL_REPLAY_MAX;
}

/** The parts of lmdb's runtime API its typings leave out. */
interface RootExtras {
  sync(cb: (err?: Error | null) => void): void;
  status?: string;
}

interface PageStats {
  pageSize?: number;
  treeBranchPageCount?: number;
  treeLeafPageCount?: number;
  overflowPages?: number;
}

interface EnvStats extends PageStats {
  lastPageNumber?: number;
  free?: PageStats;
}

function pagesOf(s: PageStats | undefined): number {
  if (!s) return 0;
  return (s.treeBranchPageCount ?? 0) + (s.treeLeafPageCount ?? 0) + (s.overflowPages ?? 0);
}

function rmIfExists(file: string): void {
  fs.rmSync(file, { force: true });
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export class Backend {
  readonly path: string;
  private readonly mapSize: number;
  private env: RootDatabase<Buffer, Buffer>;
  /** size() as of the last commit or reopen; undefined once either happened since */
  private sizeCache: number | undefined;
  private dbs: Dbs;
  private frames: Frame[] = [];
  private journal: Journal | null = null;
  private defragging: Promise<void> | null = null;
  /** native operations (copies, syncs) running on the environment; a swap or close waits for them */
  private pendingIo = new Set<Promise<unknown>>();
  private state: 'open' | 'swapping' | 'closed' = 'open';
  private closing: Promise<void> | null = null;

  private constructor(file: string, mapSize: number) {
    this.path = file;
    this.mapSize = mapSize;
    this.env = this.openEnv(file);
    this.dbs = this.openDbs(this.env);
  }

  /** Opens (creating it and its parent directories if needed) the backend file at `file`. */
  static open(file: string, opts: BackendOptions = {}): Backend {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return new Backend(file, opts.mapSize ?? DEFAULT_MAP_SIZE);
  }

  get key(): Bucket {
    return this.dbs.key;
  }
  get meta(): Bucket {
    return this.dbs.meta;
  }
  get lease(): Bucket {
    return this.dbs.lease;
  }
  get members(): Bucket {
    return this.dbs.members;
  }
  get auth(): Bucket {
    return this.dbs.auth;
  }
  bucket(name: BucketName): Bucket {
    return this.dbs[name];
  }

  /** True while inside batch(). */
  get inBatch(): boolean {
    return this.frames.length > 0;
  }

  /**
   * Runs fn in one write transaction; everything it writes commits atomically when it returns, and
   * nothing is written if it throws (the error is rethrown). fn must be synchronous. A nested batch()
   * is a child transaction: if it throws, only its own writes are undone.
   */
  /** Told how long each outermost batch took, writes and commit (etcd_disk_backend_commit_duration_seconds). */
  onCommitted: ((seconds: number) => void) | undefined;

  batch<T>(fn: () => T): T {
    this.assertOpen();
    const frame: Frame = { rollbacks: [], commits: [] };
    this.frames.push(frame);
    let result: T;
    const outermost = this.frames.length === 1;
    const t0 = outermost && this.onCommitted ? process.hrtime.bigint() : 0n;
    try {
      result = this.env.transactionSync(() => {
        const r = fn();
        if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
          throw new TypeError('Backend.batch: fn must be synchronous (it returned a promise)');
        }
        return r;
      });
    } catch (err) {
      this.frames.pop();
      runAll(frame.rollbacks.reverse());
      throw err;
    }
    this.frames.pop();
    const parent = this.frames[this.frames.length - 1];
    if (parent) {
      parent.rollbacks.push(...frame.rollbacks);
      parent.commits.push(...frame.commits);
    } else {
      this.sizeCache = undefined;
      // the whole write transaction (its writes and the commit: lmdb does both in transactionSync)
      if (this.onCommitted) this.onCommitted(Number(process.hrtime.bigint() - t0) / 1e9);
      // the commit is done and cannot be undone: a failing callback must not make batch() look failed
      try {
        runAll(frame.commits);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    return result;
  }

  /** Inside batch(): fn runs if this batch (or an enclosing one) rolls back. Newest first. */
  onRollback(fn: () => void): void {
    this.currentFrame('onRollback').rollbacks.push(fn);
  }

  /**
   * Inside batch(): fn runs after the outermost batch has committed. An error it throws is rethrown
   * from a microtask (an uncaught exception), not from batch(), since the commit already happened.
   */
  onCommit(fn: () => void): void {
    this.currentFrame('onCommit').commits.push(fn);
  }

  /** The raft index and term of the last entry whose effects are in this backend (0/0 when new). */
  consistentIndex(): { index: number; term: number } {
    const ci = this.dbs.meta.get(META_CONSISTENT_INDEX);
    const t = this.dbs.meta.get(META_TERM);
    return {
      index: ci && ci.length >= 8 ? Number(ci.readBigUInt64BE(0)) : 0,
      term: t && t.length >= 8 ? Number(t.readBigUInt64BE(0)) : 0,
    };
  }

  /** Only inside batch(), so it commits together with the data it covers. */
  setConsistentIndex(index: number, term: number): void {
    this.currentFrame('setConsistentIndex');
    this.dbs.meta.putSync(META_CONSISTENT_INDEX, u64(index));
    this.dbs.meta.putSync(META_TERM, u64(term));
  }

  /** Bytes the database file occupies (etcd's dbSize). */
  size(): number {
    // Asked on every write request (the quota check): the file only changes size when a transaction
    // commits or the environment is replaced, so one stat per commit serves them all.
    this.sizeCache ??= fs.statSync(this.path).size;
    return this.sizeCache;
  }

  /** Bytes of pages in use: meta pages plus every database's tree pages, free pages excluded. */
  sizeInUse(): number {
    const stats = this.env.getStats() as EnvStats;
    const pageSize = stats.pageSize ?? 4096;
    let pages = 2 + pagesOf(stats) + pagesOf(stats.free);
    for (const name of BUCKET_NAMES) pages += pagesOf(this.dbs[name].getStats());
    return pages * pageSize;
  }

  /**
   * Rewrites the file compactly (free pages dropped), swaps it in and reopens. The copy proceeds in
   * chunks between event-loop turns; writes made meanwhile are journaled and replayed onto the copy
   * before the swap, so nothing is lost and batch() keeps working throughout. Bucket handles change:
   * use the getters, do not keep them.
   */
  defragment(): Promise<void> {
    this.assertOpen();
    if (this.defragging) return this.defragging;
    const p = this.doDefragment().finally(() => {
      this.defragging = null;
    });
    this.defragging = p;
    return p;
  }

  /**
   * Replaces the whole database with the lmdb file `file` (a snapshot received from the leader), which
   * is fsynced and moved into place. Waits for a running defragment and native work on the current file;
   * the caller must not write meanwhile. Bucket handles change (read them through the getters).
   */
  async replaceWith(file: string): Promise<void> {
    this.assertOpen();
    if (this.defragging) await this.defragging.catch(() => undefined);
    while (this.pendingIo.size > 0) await Promise.allSettled([...this.pendingIo]);
    fsyncFileSync(file);
    this.state = 'swapping';
    try {
      const closingOld = closeNow(this.env);
      if (closingOld) await closingOld;
      fs.renameSync(file, this.path);
      const dir = fs.openSync(path.dirname(this.path), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    } finally {
      this.env = this.openEnv(this.path);
      this.dbs = this.openDbs(this.env);
      this.state = 'open';
    }
  }

  /**
   * A consistent point-in-time copy of the whole database into `file`: an lmdb file (same layout,
   * free pages included, like etcd's snapshot of its bolt file), fsynced, then renamed into place.
   * Made by lmdb's native copy on a worker thread under one read transaction; writes go on meanwhile.
   */
  async copyTo(file: string): Promise<void> {
    this.assertOpen();
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    rmIfExists(tmp);
    try {
      // not lmdb's compacting copy: lmdb-js 3.x writes files that later fail on write (lmdb-js#198)
      await this.track(this.env.backup(tmp, false));
      await fsyncFile(tmp);
      fs.renameSync(tmp, file);
    } finally {
      rmIfExists(tmp);
      rmIfExists(`${tmp}-lock`);
    }
  }

  /**
   * CRC-32C over every bucket, in name order: the bucket name, then each key and value in key order.
   * The consistent index and term are left out (they legitimately differ between members), as etcd does.
   */
  hash(): number {
    let h = 0;
    for (const name of BUCKET_NAMES) {
      h = crc32c(Buffer.from(name), h);
      for (const { key, value } of this.dbs[name].getRange({})) {
        if (name === 'meta' && (key.equals(META_CONSISTENT_INDEX) || key.equals(META_TERM))) continue;
        h = crc32c(key, h);
        h = crc32c(value, h);
      }
    }
    return h;
  }

  /** Flushes committed transactions to disk. */
  sync(): Promise<void> {
    this.assertOpen();
    return this.track(syncEnv(this.env));
  }

  /** Waits for a running defragment and native copies, flushes, then closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.defragging) await this.defragging.catch(() => undefined);
      await this.drainIo();
      if (this.state === 'open') await syncEnv(this.env);
      this.state = 'closed';
      await this.env.close();
    })();
    return this.closing;
  }

  // ---- internals ----

  private openEnv(file: string): RootDatabase<Buffer, Buffer> {
    this.sizeCache = undefined;
    return open<Buffer, Buffer>({
      path: file,
      noSubdir: true,
      maxDbs: 16,
      noSync: true,
      mapSize: this.mapSize,
    });
  }

  /** Opens the buckets; `journaled`: writes through them feed a running defragment's journal. */
  private openDbs(env: RootDatabase<Buffer, Buffer>, journaled = true): Dbs {
    const dbs = {} as Dbs;
    for (const name of BUCKET_NAMES) {
      const db = env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary' });
      if (journaled) this.hookWrites(name, db);
      dbs[name] = db;
    }
    return dbs;
  }

  /**
   * Wraps the handle's write entry points so a running defragment() learns which keys changed.
   * lmdb's putSync/removeSync (and its async forms) all go through put/remove on the instance.
   */
  private hookWrites(name: BucketName, db: Bucket): void {
    type Fn = (this: Bucket, ...args: unknown[]) => unknown;
    const target = db as unknown as Record<string, Fn>;
    for (const method of ['put', 'remove']) {
      const orig = target[method];
      if (typeof orig !== 'function') continue;
      const record = (key: unknown): void => this.recordWrite(name, key);
      target[method] = function (this: Bucket, ...args: unknown[]): unknown {
        record(args[0]);
        return orig.apply(this, args);
      };
    }
    for (const method of ['clearSync', 'clearAsync', 'dropSync', 'drop']) {
      const orig = target[method];
      if (typeof orig !== 'function') continue;
      const mark = (): void => {
        this.journal?.cleared.add(name);
      };
      target[method] = function (this: Bucket, ...args: unknown[]): unknown {
        mark();
        return orig.apply(this, args);
      };
    }
  }

  private recordWrite(name: BucketName, key: unknown): void {
    const j = this.journal;
    if (!j || !(key instanceof Uint8Array)) return;
    const k = Buffer.from(key);
    let m = j.keys.get(name);
    if (!m) {
      m = new Map();
      j.keys.set(name, m);
    }
    m.set(k.toString('latin1'), k);
  }

  /**
   * Defragment: copy every bucket in key order into a fresh file (chunks of entries, each chunk read
   * first and then written in its own transaction, yielding between chunks), replay the keys written
   * meanwhile (journaled by hookWrites), then in one synchronous stretch replay the last of them, close
   * both environments, rename the copy over the file and reopen. The copy needs no consistent snapshot:
   * a key changed after its chunk was read is in the journal, and replay writes its latest value.
   */
  private async doDefragment(): Promise<void> {
    const tmp = `${this.path}.defrag`;
    rmIfExists(tmp);
    rmIfExists(`${tmp}-lock`);
    this.journal = { keys: new Map(), cleared: new Set() };
    let copyEnv: RootDatabase<Buffer, Buffer> | null = null;
    try {
      const env = this.openEnv(tmp);
      copyEnv = env;
      const copyDbs = this.openDbs(env, false);
      for (const name of BUCKET_NAMES) {
        let after: Buffer | undefined;
        for (;;) {
          this.assertOpen();
          const chunk = this.readChunk(name, after);
          if (chunk.length === 0) break;
          env.transactionSync(() => {
            // keys arrive in order into an empty database: append fills pages completely
            for (const [k, v] of chunk) copyDbs[name].putSync(k, v, { append: true });
          });
          after = chunk[chunk.length - 1]![0];
          await yieldToEventLoop();
        }
      }
      // catch up in rounds while writes keep coming, so the final synchronous stretch stays short
      for (let round = 0; round < 8 && journalSize(this.journal) > DEFRAG_FINAL_REPLAY_MAX; round++) {
        const changed = this.journaledState(this.journal);
        this.journal = { keys: new Map(), cleared: new Set() };
        env.transactionSync(() => Backend.replay(changed, copyDbs));
        await yieldToEventLoop();
      }
      await syncEnv(env);
      // Wait out native work on the old environment (copyTo, sync). From the check below to the
      // reopen nothing yields to the event loop, so no write can slip between the replay and the swap.
      while (this.pendingIo.size > 0) await Promise.allSettled([...this.pendingIo]);
      this.assertOpen();
      this.state = 'swapping';
      const changed = this.journaledState(this.journal);
      this.journal = null;
      env.transactionSync(() => Backend.replay(changed, copyDbs));
      copyEnv = null;
      const closingCopy = closeNow(env);
      if (closingCopy) await closingCopy;
      fsyncFileSync(tmp);
      const closingOld = closeNow(this.env);
      if (closingOld) await closingOld; // only if lmdb had async writes pending; batch() refuses meanwhile
      fs.renameSync(tmp, this.path);
      this.env = this.openEnv(this.path);
      this.dbs = this.openDbs(this.env);
      this.state = 'open';
    } catch (err) {
      this.journal = null;
      if (copyEnv) await copyEnv.close().catch(() => undefined);
      if (this.state === 'swapping') {
        // the swap failed part way: reopen whatever file is at the path
        if ((this.env as unknown as RootExtras).status !== 'closed') await this.env.close();
        this.env = this.openEnv(this.path);
        this.dbs = this.openDbs(this.env);
        this.state = 'open';
      }
      throw err;
    } finally {
      rmIfExists(tmp);
      rmIfExists(`${tmp}-lock`);
    }
  }

  /** Up to DEFRAG_CHUNK_ENTRIES entries (or about DEFRAG_CHUNK_BYTES) of a bucket after `after`. */
  private readChunk(name: BucketName, after: Buffer | undefined): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    let bytes = 0;
    const range = this.dbs[name].getRange(
      after === undefined ? { limit: DEFRAG_CHUNK_ENTRIES } : { start: after, exclusiveStart: true, limit: DEFRAG_CHUNK_ENTRIES },
    );
    for (const { key, value } of range) {
      out.push([Buffer.from(key), Buffer.from(value)]);
      bytes += key.length + value.length;
      if (bytes >= DEFRAG_CHUNK_BYTES) break;
    }
    return out;
  }

  /**
   * The current value (undefined: deleted) of every journaled key, read from the live environment
   * before the copy's write transaction opens (reads of one environment are kept out of another's
   * write transaction).
   */
  private journaledState(journal: Journal): JournalState {
    const out: JournalState = [];
    for (const name of journal.cleared) {
      const entries: Array<[Buffer, Buffer | undefined]> = [];
      for (const { key, value } of this.dbs[name].getRange({})) entries.push([Buffer.from(key), Buffer.from(value)]);
      out.push({ name, clear: true, entries });
    }
    for (const [name, keys] of journal.keys) {
      if (journal.cleared.has(name)) continue;
      const entries: Array<[Buffer, Buffer | undefined]> = [];
      for (const k of keys.values()) entries.push([k, this.dbs[name].get(k)]);
      out.push({ name, clear: false, entries });
    }
    return out;
  }

  private static replay(state: JournalState, to: Dbs): void {
    for (const { name, clear, entries } of state) {
      if (clear) to[name].clearSync();
      for (const [k, v] of entries) {
        if (v === undefined) to[name].removeSync(k);
        else to[name].putSync(k, v);
      }
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pendingIo.add(p);
    const done = (): void => {
      this.pendingIo.delete(p);
    };
    p.then(done, done);
    return p;
  }

  private async drainIo(): Promise<void> {
    while (this.pendingIo.size > 0) await Promise.allSettled([...this.pendingIo]);
  }

  private currentFrame(what: string): Frame {
    const f = this.frames[this.frames.length - 1];
    if (!f) throw new Error(`Backend.${what}: only inside batch()`);
    return f;
  }

  private assertOpen(): void {
    if (this.state === 'closed') throw new Error('backend: closed');
    if (this.state === 'swapping') throw new Error('backend: defragment is swapping files, retry');
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Flushes an environment opened with noSync (lmdb's env sync, on a worker thread). */
function syncEnv(env: RootDatabase<Buffer, Buffer>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    (env as unknown as RootExtras).sync((err) => (err ? reject(err) : resolve()));
  });
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fs.promises.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function fsyncFileSync(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Closes an lmdb environment. lmdb closes synchronously unless async writes are still pending; only
 * then is a promise returned to wait on.
 */
function closeNow(env: RootDatabase<Buffer, Buffer>): Promise<void> | undefined {
  const closing = env.close();
  if ((env as unknown as RootExtras).status === 'closed') {
    closing.catch(() => undefined);
    return undefined;
  }
  return closing;
}

/** Runs every callback even if some throw; rethrows the first error. */
function runAll(fns: Array<() => void>): void {
  let first: unknown;
  let failed = false;
  for (const fn of fns) {
    try {
      fn();
    } catch (err) {
      if (!failed) first = err;
      failed = true;
    }
  }
  if (failed) throw first;
}
