// A read-only bbolt database: validates the two meta pages, then reads pages on demand through a file
// descriptor (positional reads, a small page cache), so a multi-GB file is never read into memory: a
// lookup touches one page per tree level, an iteration one leaf at a time.
//
// Everything read is checked before it is trusted: page ids against the high-water mark and the file's
// size (a truncated file is refused, not read past its end), the id each page records about itself,
// its flags, and every element's bounds. A problem throws a BboltError naming the file and the page.
//
// Buffers handed out (keys, values) are views into cached pages. Pages are never modified, so a view
// stays valid after its page leaves the cache; it keeps that page's memory alive while it is held.

import fs from 'node:fs';
import { BboltError, at } from './errors.js';
import {
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  DEFAULT_PAGE_SIZE,
  ELEMENT_SIZE,
  FREELIST_COUNT_ESCAPE,
  MAGIC,
  PAGE_HEADER_SIZE,
  PageFlag,
  flagsName,
  metaProblem,
  readMeta,
  readPageHeader,
  readPgid,
  type BucketHeader,
  type Meta,
} from './format.js';

/** One tree node: a page (or an overflow run of pages) or an inline bucket's page inside a value. */
export interface NodeView {
  readonly buf: Buffer;
  /** where the page header starts in buf */
  readonly off: number;
  /** end of the node's bytes in buf */
  readonly end: number;
  /** the page id, 0 for an inline page */
  readonly pgid: number;
  readonly flags: number;
  readonly count: number;
  readonly overflow: number;
}

export interface BboltElement {
  readonly key: Buffer;
  readonly value: Buffer;
  /** the value is a nested bucket's header (see BboltBucket.bucket) */
  readonly isBucket: boolean;
}

export interface RangeOptions {
  /** first key (inclusive); default the bucket's first */
  readonly start?: Uint8Array;
  /** end key (exclusive); default the bucket's end */
  readonly end?: Uint8Array;
}

/** Page sizes tried for the second meta page when the first one is unreadable. */
const CANDIDATE_PAGE_SIZES = [4096, 8192, 16384, 32768, 65536, 1024, 2048, 512];

const CACHE_PAGES = 256;

export class BboltReader {
  readonly file: string;
  readonly pageSize: number;
  /** the meta in use: the valid one with the highest txid */
  readonly meta: Meta;
  /** which meta page that is (0 or 1) */
  readonly metaPage: 0 | 1;
  /** the file's size in bytes (may be more than the database: a trailer, preallocation) */
  readonly fileSize: number;
  private fd: number | undefined;
  private readonly cache = new Map<number, NodeView>();

  private constructor(file: string, fd: number, fileSize: number) {
    this.file = file;
    this.fd = fd;
    this.fileSize = fileSize;
    const { meta, page } = this.pickMeta();
    this.meta = meta;
    this.metaPage = page;
    this.pageSize = meta.pageSize;
    const need = meta.pgid * meta.pageSize;
    if (fileSize < need) {
      throw new BboltError(
        'TRUNCATED',
        `bbolt: ${file} is truncated: meta page ${page} says the database has ${meta.pgid} pages of ${meta.pageSize} bytes ` +
          `(${need} bytes), the file has ${fileSize} bytes (it ends inside ${at(Math.floor(fileSize / meta.pageSize), meta.pageSize)})`,
      );
    }
  }

  /** Opens and validates `file`; throws a BboltError when it is not a whole bbolt database. */
  static open(file: string): BboltReader {
    const fd = fs.openSync(file, 'r');
    try {
      return new BboltReader(file, fd, fs.fstatSync(fd).size);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.cache.clear();
  }

  /** The root bucket: its elements are the top-level buckets. */
  root(): BboltBucket {
    return new BboltBucket(this, this.meta.root, undefined, '');
  }

  /** A top-level bucket by name, or undefined. */
  bucket(name: Uint8Array | string): BboltBucket | undefined {
    return this.root().bucket(name);
  }

  /** The names of the top-level buckets, in byte order. */
  bucketNames(): Buffer[] {
    return this.root().bucketNames();
  }

  /**
   * The pages the freelist page lists as free (sorted as stored), or undefined when the file keeps no
   * freelist (etcd's NoFreelistSync: its free pages are those no bucket reaches).
   */
  freePages(): number[] | undefined {
    const fl = this.meta.freelist;
    if (fl === undefined) return undefined;
    const n = this.page(fl);
    if ((n.flags & PageFlag.freelist) === 0) {
      throw this.corrupt(fl, `has flags ${flagsName(n.flags)} where the freelist page was expected`);
    }
    let count = n.count;
    let off = n.off + PAGE_HEADER_SIZE;
    if (count === FREELIST_COUNT_ESCAPE) {
      this.need(n, off + 8, 'freelist count');
      const c = readPgid(n.buf, off);
      if (c === undefined) throw this.corrupt(fl, 'has an impossible freelist count');
      count = c;
      off += 8;
    }
    this.need(n, off + count * 8, `freelist of ${count} ids`);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = readPgid(n.buf, off + i * 8);
      if (id === undefined || id < 2 || id >= this.meta.pgid) throw this.corrupt(fl, `lists free page ${id ?? '>2^53'} outside 2..${this.meta.pgid - 1}`);
      out.push(id);
    }
    return out;
  }

  /** Reads (through the cache) page `pgid` with its overflow pages. */
  page(pgid: number): NodeView {
    const cached = this.cache.get(pgid);
    if (cached) {
      this.cache.delete(pgid);
      this.cache.set(pgid, cached);
      return cached;
    }
    if (!Number.isInteger(pgid) || pgid < 0 || pgid >= this.meta.pgid) {
      throw new BboltError('CORRUPT', `bbolt: ${this.file}: a reference to page ${pgid}, beyond the database's ${this.meta.pgid} pages`);
    }
    const first = this.readAt(pgid * this.pageSize, this.pageSize, pgid);
    const h = readPageHeader(first);
    if (h.id !== pgid) throw this.corrupt(pgid, `records itself as page ${h.id < 0 ? '>2^53' : h.id}`);
    let buf = first;
    if (h.overflow > 0) {
      if (pgid + h.overflow >= this.meta.pgid) {
        throw this.corrupt(pgid, `overflows ${h.overflow} pages past the database's end (${this.meta.pgid} pages)`);
      }
      buf = Buffer.allocUnsafe((h.overflow + 1) * this.pageSize);
      first.copy(buf, 0);
      this.readInto(buf, this.pageSize, (pgid + 1) * this.pageSize, h.overflow * this.pageSize, pgid + 1);
    }
    const view: NodeView = { buf, off: 0, end: buf.length, pgid, flags: h.flags, count: h.count, overflow: h.overflow };
    this.cache.set(pgid, view);
    if (this.cache.size > CACHE_PAGES) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    return view;
  }

  /** A tree node (branch or leaf page) for a bucket's traversal. */
  node(pgid: number): NodeView {
    const n = this.page(pgid);
    if ((n.flags & (PageFlag.branch | PageFlag.leaf)) === 0) {
      throw this.corrupt(pgid, `has flags ${flagsName(n.flags)} where a branch or leaf page was expected`);
    }
    this.need(n, n.off + PAGE_HEADER_SIZE + n.count * ELEMENT_SIZE, `${n.count} elements`);
    return n;
  }

  /** The key of element i of a branch or leaf node (bounds-checked). */
  key(n: NodeView, i: number): Buffer {
    const e = n.off + PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const leaf = (n.flags & PageFlag.leaf) !== 0;
    const pos = n.buf.readUInt32LE(leaf ? e + 4 : e);
    const ksize = n.buf.readUInt32LE(leaf ? e + 8 : e + 4);
    const start = e + pos;
    this.need(n, start + ksize, `the key of element ${i}`);
    return n.buf.subarray(start, start + ksize);
  }

  /** Element i of a leaf node. */
  leafElement(n: NodeView, i: number): BboltElement {
    const e = n.off + PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const flags = n.buf.readUInt32LE(e);
    const pos = n.buf.readUInt32LE(e + 4);
    const ksize = n.buf.readUInt32LE(e + 8);
    const vsize = n.buf.readUInt32LE(e + 12);
    const start = e + pos;
    this.need(n, start + ksize + vsize, `element ${i} (key ${ksize} bytes, value ${vsize} bytes)`);
    return {
      key: n.buf.subarray(start, start + ksize),
      value: n.buf.subarray(start + ksize, start + ksize + vsize),
      isBucket: (flags & BUCKET_LEAF_FLAG) !== 0,
    };
  }

  /** The child page of element i of a branch node. */
  child(n: NodeView, i: number): number {
    const e = n.off + PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const id = readPgid(n.buf, e + 8);
    if (id === undefined || id < 2 || id >= this.meta.pgid) {
      throw this.corruptNode(n, `element ${i} points to page ${id ?? '>2^53'}, outside 2..${this.meta.pgid - 1}`);
    }
    return id;
  }

  /** A CORRUPT error about page `pgid`. */
  corrupt(pgid: number, what: string): BboltError {
    return new BboltError('CORRUPT', `bbolt: ${this.file}: ${at(pgid, this.pageSize)} ${what}`);
  }

  corruptNode(n: NodeView, what: string): BboltError {
    return n.pgid === 0 ? new BboltError('CORRUPT', `bbolt: ${this.file}: an inline bucket page: ${what}`) : this.corrupt(n.pgid, what);
  }

  private need(n: NodeView, upTo: number, what: string): void {
    if (upTo > n.end) throw this.corruptNode(n, `is too short for ${what}`);
  }

  private pickMeta(): { meta: Meta; page: 0 | 1 } {
    const head = this.readAt(0, Math.min(this.fileSize, PAGE_HEADER_SIZE + 64), 0, true);
    if (head.length < PAGE_HEADER_SIZE + 64) {
      throw new BboltError('NOT_BBOLT', `bbolt: ${this.file} is not a bbolt database: ${this.fileSize} bytes is too short for a meta page`);
    }
    const m0 = readMeta(head, PAGE_HEADER_SIZE);
    const p0 = metaProblem(head, PAGE_HEADER_SIZE);
    const sizes = m0.magic === MAGIC && p0 === undefined ? [m0.pageSize] : m0.magic === MAGIC ? [m0.pageSize, ...CANDIDATE_PAGE_SIZES] : CANDIDATE_PAGE_SIZES;
    let m1: Meta | undefined;
    let p1 = `not found at offset ${m0.magic === MAGIC ? m0.pageSize : DEFAULT_PAGE_SIZE}`;
    for (const size of new Set(sizes)) {
      if (size <= 0 || size + PAGE_HEADER_SIZE + 64 > this.fileSize) continue;
      const b = this.readAt(size, PAGE_HEADER_SIZE + 64, 1, true);
      const problem = metaProblem(b, PAGE_HEADER_SIZE);
      const m = readMeta(b, PAGE_HEADER_SIZE);
      if (problem === undefined && m.pageSize === size) {
        m1 = m;
        p1 = '';
        break;
      }
      if (size === sizes[0]) p1 = problem ?? `says page size ${m.pageSize} at offset ${size}`;
    }
    const ok0 = p0 === undefined ? m0 : undefined;
    const ok1 = p1 === '' ? m1 : undefined;
    if (ok0 && ok1) return ok1.txid > ok0.txid && ok1.pageSize === ok0.pageSize ? { meta: ok1, page: 1 } : { meta: ok0, page: 0 };
    if (ok0) return { meta: ok0, page: 0 };
    if (ok1) return { meta: ok1, page: 1 };
    const detail = `meta page 0 (offset 0): ${p0 ?? ''}; meta page 1: ${p1}`;
    if (m0.magic !== MAGIC && !p1.includes('checksum')) {
      throw new BboltError('NOT_BBOLT', `bbolt: ${this.file} is not a bbolt database: ${detail}`);
    }
    if ((p0 ?? '').includes('checksum') || p1.includes('checksum')) {
      throw new BboltError('BAD_CHECKSUM', `bbolt: ${this.file}: no valid meta page: ${detail}`);
    }
    throw new BboltError('CORRUPT', `bbolt: ${this.file}: no valid meta page: ${detail}`);
  }

  private readAt(offset: number, length: number, pgid: number, short = false): Buffer {
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(buf, 0, offset, length, pgid, short);
    return n === length ? buf : buf.subarray(0, n);
  }

  private readInto(buf: Buffer, bufOff: number, offset: number, length: number, pgid: number, short = false): number {
    if (this.fd === undefined) throw new BboltError('CLOSED', `bbolt: ${this.file}: the reader is closed`);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, bufOff + done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    if (done < length && !short) {
      throw new BboltError('TRUNCATED', `bbolt: ${this.file} is truncated: ${at(pgid, this.pageSize)} ends at byte ${offset + done}, the file's end`);
    }
    return done;
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

export class BboltBucket {
  constructor(
    private readonly db: BboltReader,
    /** the bucket's header: its root page, or 0 with `inline` */
    readonly header: BucketHeader,
    /** the bucket value (header + inline page) when the bucket is inline */
    private readonly inline: Buffer | undefined,
    /** the bucket's path, for messages */
    readonly path: string,
  ) {}

  /** The node at the top of this bucket's tree. */
  rootNode(): NodeView {
    if (this.header.root !== 0) return this.db.node(this.header.root);
    const v = this.inline;
    if (!v || v.length < BUCKET_HEADER_SIZE + PAGE_HEADER_SIZE) {
      throw new BboltError('CORRUPT', `bbolt: ${this.db.file}: bucket ${this.path} is inline but its value is ${v?.length ?? 0} bytes`);
    }
    const h = readPageHeader(v, BUCKET_HEADER_SIZE);
    const n: NodeView = { buf: v, off: BUCKET_HEADER_SIZE, end: v.length, pgid: 0, flags: h.flags, count: h.count, overflow: 0 };
    if ((h.flags & PageFlag.leaf) === 0) throw this.db.corruptNode(n, `bucket ${this.path} has flags ${flagsName(h.flags)}, not leaf`);
    if (BUCKET_HEADER_SIZE + PAGE_HEADER_SIZE + h.count * ELEMENT_SIZE > v.length) throw this.db.corruptNode(n, `is too short for ${h.count} elements`);
    return n;
  }

  /** The element stored under `key` (a value or a nested bucket's header), or undefined. */
  element(key: Uint8Array): BboltElement | undefined {
    let n = this.rootNode();
    while ((n.flags & PageFlag.branch) !== 0) {
      if (n.count === 0) throw this.db.corruptNode(n, 'is a branch without elements');
      n = this.db.node(this.db.child(n, Math.max(0, this.upperBound(n, key) - 1)));
    }
    const i = this.lowerBound(n, key);
    if (i >= n.count) return undefined;
    const e = this.db.leafElement(n, i);
    return compare(e.key, key) === 0 ? e : undefined;
  }

  /** The value under `key`, or undefined (also when `key` names a nested bucket). */
  get(key: Uint8Array | string): Buffer | undefined {
    const e = this.element(toBytes(key));
    return e && !e.isBucket ? e.value : undefined;
  }

  /** A nested bucket, or undefined. */
  bucket(name: Uint8Array | string): BboltBucket | undefined {
    const k = toBytes(name);
    const e = this.element(k);
    if (!e?.isBucket) return undefined;
    return bucketOf(this.db, e, this.path === '' ? Buffer.from(k).toString('latin1') : `${this.path}/${Buffer.from(k).toString('latin1')}`);
  }

  /** Names of the nested buckets, in byte order. */
  bucketNames(): Buffer[] {
    const out: Buffer[] = [];
    for (const e of this.elements()) if (e.isBucket) out.push(e.key);
    return out;
  }

  /** Every element (values and nested buckets) in key order, within `opts`' range. */
  *elements(opts: RangeOptions = {}): Generator<BboltElement> {
    const stack: Array<{ n: NodeView; i: number }> = [];
    const start = opts.start;
    let n = this.rootNode();
    // descend to the leaf that holds `start` (or the first leaf), remembering the path
    while ((n.flags & PageFlag.branch) !== 0) {
      if (n.count === 0) throw this.db.corruptNode(n, 'is a branch without elements');
      const i = start === undefined ? 0 : Math.max(0, this.upperBound(n, start) - 1);
      stack.push({ n, i });
      n = this.db.node(this.db.child(n, i));
    }
    let i = start === undefined ? 0 : this.lowerBound(n, start);
    for (;;) {
      for (; i < n.count; i++) {
        const e = this.db.leafElement(n, i);
        if (opts.end !== undefined && compare(e.key, opts.end) >= 0) return;
        yield e;
      }
      // this leaf is done: the next one is under the nearest ancestor with a further child
      let top = stack[stack.length - 1];
      while (top && top.i + 1 >= top.n.count) {
        stack.pop();
        top = stack[stack.length - 1];
      }
      if (!top) return;
      top.i += 1;
      n = this.db.node(this.db.child(top.n, top.i));
      while ((n.flags & PageFlag.branch) !== 0) {
        if (n.count === 0) throw this.db.corruptNode(n, 'is a branch without elements');
        stack.push({ n, i: 0 });
        n = this.db.node(this.db.child(n, 0));
      }
      i = 0;
    }
  }

  /** Every key/value pair (nested buckets left out) in key order, within `opts`' range. */
  *entries(opts: RangeOptions = {}): Generator<[Buffer, Buffer]> {
    for (const e of this.elements(opts)) if (!e.isBucket) yield [e.key, e.value];
  }

  /** The first key (values and nested buckets alike), or undefined when the bucket is empty. */
  firstKey(): Buffer | undefined {
    const r = this.elements().next();
    return r.done === true ? undefined : r.value.key;
  }

  /** The last key (values and nested buckets alike), or undefined when the bucket is empty. */
  lastKey(): Buffer | undefined {
    let n = this.rootNode();
    for (;;) {
      if (n.count === 0) {
        if ((n.flags & PageFlag.branch) !== 0) throw this.db.corruptNode(n, 'is a branch without elements');
        return undefined;
      }
      if ((n.flags & PageFlag.leaf) !== 0) return this.db.leafElement(n, n.count - 1).key;
      n = this.db.node(this.db.child(n, n.count - 1));
    }
  }

  /** How many elements the bucket holds (a full scan). */
  count(): number {
    let c = 0;
    for (const _ of this.elements()) c++;
    return c;
  }

  /** The first element index whose key is ≥ key. */
  private lowerBound(n: NodeView, key: Uint8Array): number {
    let lo = 0;
    let hi = n.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.db.key(n, mid), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first element index whose key is > key. */
  private upperBound(n: NodeView, key: Uint8Array): number {
    let lo = 0;
    let hi = n.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.db.key(n, mid), key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The bucket a leaf element with the bucket flag describes. */
export function bucketOf(db: BboltReader, e: BboltElement, path: string): BboltBucket {
  if (e.value.length < BUCKET_HEADER_SIZE) {
    throw new BboltError('CORRUPT', `bbolt: ${db.file}: bucket ${path}: its header is ${e.value.length} bytes, not ${BUCKET_HEADER_SIZE}`);
  }
  const root = readPgid(e.value, 0);
  if (root === undefined || root === 1 || (root !== 0 && root >= db.meta.pgid)) {
    throw new BboltError('CORRUPT', `bbolt: ${db.file}: bucket ${path}: root page ${root ?? '>2^53'} outside 2..${db.meta.pgid - 1}`);
  }
  const header = { root, sequence: e.value.readBigUInt64LE(8) };
  return new BboltBucket(db, header, root === 0 ? e.value : undefined, path);
}

function toBytes(k: Uint8Array | string): Uint8Array {
  return typeof k === 'string' ? Buffer.from(k) : k;
}
