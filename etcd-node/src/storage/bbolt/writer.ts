// Writes a new bbolt database file, one bucket after another, each from its entries in ascending key
// order. Pages are laid down in one pass, in the order they fill: a leaf as soon as the next entry
// would not fit, a branch page for every page's worth of children below it, so memory holds about one
// page per tree level (plus any single value larger than a page) however large the database grows.
// When every bucket is written, the root bucket (one element per bucket), an empty freelist page and
// the two meta pages (0 and 1, written last, positionally) complete the file.
//
// What bbolt itself would write, so that bbolt (etcd, etcdutl) opens, reads and goes on writing the
// file: pages filled in key order with no free page (the freelist is empty and every page below the
// high-water mark is reachable), every tree of one depth throughout (bbolt merges siblings on delete
// and expects them at the same level), branch keys equal to the first key below them, nodes larger than
// a page as overflow runs, and small buckets (no more than a quarter page) inline in their parent's
// leaf as bbolt keeps them.

import fs from 'node:fs';
import { BboltError } from './errors.js';
import {
  BUCKET_HEADER_SIZE,
  BUCKET_LEAF_FLAG,
  DEFAULT_PAGE_SIZE,
  ELEMENT_SIZE,
  MAX_KEY_SIZE,
  MAX_VALUE_SIZE,
  PAGE_HEADER_SIZE,
  PageFlag,
  isPowerOfTwo,
  writeBucketHeader,
  writeMetaPage,
  writePageHeader,
} from './format.js';

export interface BboltWriterOptions {
  /** page size in bytes, a power of two ≥ 1024; default 4096 (etcd's, the OS page size) */
  readonly pageSize?: number;
  /** the transaction id of the newer meta (page 0); page 1 gets one less. Default 2. */
  readonly txid?: bigint;
  /** bytes of finished pages gathered before one write to the file; default 1 MiB */
  readonly bufferBytes?: number;
  /** fsync the file before finish() returns; default true */
  readonly sync?: boolean;
}

export interface BboltWriteResult {
  /** pages in the file (the high-water mark) */
  readonly pages: number;
  /** bytes in the file: pages × page size */
  readonly size: number;
}

export type Entry = readonly [key: Uint8Array, value: Uint8Array];

export interface BucketInput {
  readonly name: Uint8Array | string;
  /** the entries in strictly ascending key order (bytewise) */
  readonly entries: Iterable<Entry>;
}

/** Most elements one node takes: its count must fit the page header's u16 (0xFFFF is the freelist's escape). */
const MAX_ELEMENTS = 0xfffe;

interface Item {
  readonly flags: number;
  readonly key: Buffer;
  /** leaf: the value; branch: unused */
  readonly value: Buffer;
  /** branch: the child page */
  readonly pgid: number;
}

interface Level {
  items: Item[];
  size: number;
}

/** The page-allocating side of the writer that a tree builder hands finished nodes to. */
interface PageSink {
  readonly pageSize: number;
  /** Takes a node's bytes (page header id left 0, length a multiple of the page size); returns its pgid. */
  emit(node: Buffer): number;
}

/**
 * One bucket's B+tree, built bottom-up from entries in key order: a leaf node fills until the next
 * element would not fit a page (a single element too large for a page gets an overflow run of its
 * own), then becomes a page whose first key and pgid go to the branch level above, which fills and
 * flushes the same way. `finish` flushes what is left upward until one node remains: the root.
 */
class TreeBuilder {
  private leaf: Level = { items: [], size: PAGE_HEADER_SIZE };
  private readonly levels: Level[] = [];
  private wrotePages = false;
  private hasBuckets = false;

  constructor(private readonly sink: PageSink) {}

  add(flags: number, key: Buffer, value: Buffer): void {
    const grow = ELEMENT_SIZE + key.length + value.length;
    if (this.leaf.items.length > 0 && (this.leaf.size + grow > this.sink.pageSize || this.leaf.items.length >= MAX_ELEMENTS)) {
      this.flushLeaf();
    }
    this.leaf.items.push({ flags, key, value, pgid: 0 });
    this.leaf.size += grow;
    if ((flags & BUCKET_LEAF_FLAG) !== 0) this.hasBuckets = true;
  }

  /**
   * Ends the tree. `inlineOk`: a tree that never left memory, holds no nested bucket and is at most a
   * quarter page comes back as the bytes of an inline page instead of being written.
   */
  finish(inlineOk: boolean): { root: number } | { inline: Buffer } {
    const size = this.leaf.size;
    if (inlineOk && !this.wrotePages && !this.hasBuckets && size <= this.sink.pageSize / 4) {
      const page = Buffer.alloc(size);
      encodeNode(page, PageFlag.leaf, this.leaf.items);
      return { inline: page };
    }
    if (!this.wrotePages) return { root: this.writeLeaf() };
    if (this.leaf.items.length > 0) this.flushLeaf();
    for (let i = 0; i < this.levels.length; i++) {
      const level = this.levels[i]!;
      const top = i === this.levels.length - 1;
      if (top && level.items.length === 1) return { root: level.items[0]!.pgid };
      // a lower level's remainder becomes a page even with one child, so every leaf stays at one depth
      if (level.items.length > 0) this.flushBranch(i);
    }
    throw new Error('bbolt writer: unreachable: a tree without a root');
  }

  private writeLeaf(): number {
    const pgid = this.sink.emit(nodeBytes(this.sink.pageSize, PageFlag.leaf, this.leaf.items, this.leaf.size));
    this.wrotePages = true;
    return pgid;
  }

  private flushLeaf(): void {
    const first = this.leaf.items[0]!.key;
    const pgid = this.writeLeaf();
    this.leaf = { items: [], size: PAGE_HEADER_SIZE };
    this.addChild(0, first, pgid);
  }

  private addChild(level: number, key: Buffer, pgid: number): void {
    let l = this.levels[level];
    if (!l) {
      l = { items: [], size: PAGE_HEADER_SIZE };
      this.levels.push(l);
    }
    const grow = ELEMENT_SIZE + key.length;
    // a branch needs two children to be worth a page; past that it flushes when the next would not fit
    if (l.items.length >= 2 && (l.size + grow > this.sink.pageSize || l.items.length >= MAX_ELEMENTS)) this.flushBranch(level);
    const cur = this.levels[level]!;
    cur.items.push({ flags: 0, key, value: EMPTY, pgid });
    cur.size += grow;
  }

  private flushBranch(level: number): void {
    const l = this.levels[level]!;
    const first = l.items[0]!.key;
    const pgid = this.sink.emit(nodeBytes(this.sink.pageSize, PageFlag.branch, l.items, l.size));
    this.levels[level] = { items: [], size: PAGE_HEADER_SIZE };
    this.addChild(level + 1, first, pgid);
  }
}

const EMPTY = Buffer.alloc(0);

/** A node's bytes, padded to whole pages. */
function nodeBytes(pageSize: number, flags: number, items: readonly Item[], size: number): Buffer {
  const pages = Math.max(1, Math.ceil(size / pageSize));
  const buf = Buffer.alloc(pages * pageSize);
  encodeNode(buf, flags, items);
  buf.writeUInt32LE(pages - 1, 12);
  return buf;
}

/** Header (id 0, overflow 0: the sink and nodeBytes set them) and elements of a node into buf. */
function encodeNode(buf: Buffer, flags: number, items: readonly Item[]): void {
  writePageHeader(buf, 0, { id: 0, flags, count: items.length, overflow: 0 });
  let data = PAGE_HEADER_SIZE + items.length * ELEMENT_SIZE;
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const e = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
    const pos = data - e;
    if (flags === PageFlag.leaf) {
      buf.writeUInt32LE(it.flags, e);
      buf.writeUInt32LE(pos, e + 4);
      buf.writeUInt32LE(it.key.length, e + 8);
      buf.writeUInt32LE(it.value.length, e + 12);
    } else {
      buf.writeUInt32LE(pos, e);
      buf.writeUInt32LE(it.key.length, e + 4);
      buf.writeBigUInt64LE(BigInt(it.pgid), e + 8);
    }
    it.key.copy(buf, data);
    data += it.key.length;
    if (flags === PageFlag.leaf) {
      it.value.copy(buf, data);
      data += it.value.length;
    }
  }
}

export class BboltWriter implements PageSink {
  readonly file: string;
  readonly pageSize: number;
  private fd: number | undefined;
  private readonly txid: bigint;
  private readonly bufferBytes: number;
  private readonly sync: boolean;
  /** the next page id to hand out: pages 0 and 1 are the metas, written last */
  private next = 2;
  /** finished pages not yet written, starting at page `pendingFrom` */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingFrom = 2;
  /** the top-level buckets written so far: name → bucket value (header, or header + inline page) */
  private readonly buckets = new Map<string, { name: Buffer; value: Buffer }>();
  private current: { name: Buffer; tree: TreeBuilder; last: Buffer | undefined } | undefined;

  private constructor(file: string, fd: number, opts: BboltWriterOptions) {
    this.file = file;
    this.fd = fd;
    this.pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    this.txid = opts.txid ?? 2n;
    this.bufferBytes = opts.bufferBytes ?? 1024 * 1024;
    this.sync = opts.sync ?? true;
  }

  /** Creates (or truncates) `file` for a new database. */
  static create(file: string, opts: BboltWriterOptions = {}): BboltWriter {
    const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!isPowerOfTwo(pageSize) || pageSize < 1024 || pageSize > 1 << 24) {
      throw new BboltError('INVALID_ARGUMENT', `bbolt writer: page size ${pageSize} is not a power of two from 1024 to 16 MiB`);
    }
    if (opts.txid !== undefined && (opts.txid < 1n || opts.txid > 0xffff_ffff_ffff_ffffn)) {
      throw new BboltError('INVALID_ARGUMENT', `bbolt writer: txid ${opts.txid} is not a u64 ≥ 1`);
    }
    return new BboltWriter(file, fs.openSync(file, 'w'), opts);
  }

  /** Starts a top-level bucket; its entries follow with put(), in ascending key order, then endBucket(). */
  beginBucket(name: Uint8Array | string): void {
    this.assertOpen();
    if (this.current) throw this.invalid(`beginBucket: bucket ${show(this.current.name)} is not ended`);
    const n = Buffer.from(typeof name === 'string' ? Buffer.from(name) : Uint8Array.from(name));
    checkKey(n, 'bucket name');
    if (this.buckets.has(n.toString('latin1'))) throw this.invalid(`bucket ${show(n)} written twice`);
    this.current = { name: n, tree: new TreeBuilder(this), last: undefined };
  }

  /** Adds an entry to the bucket begun last. Keys must ascend strictly. The bytes are copied. */
  put(key: Uint8Array, value: Uint8Array): void {
    this.assertOpen();
    const cur = this.current;
    if (!cur) throw this.invalid('put: no bucket begun');
    checkKey(key, `key in bucket ${show(cur.name)}`);
    if (value.length > MAX_VALUE_SIZE) throw this.invalid(`value of ${value.length} bytes in bucket ${show(cur.name)} is larger than ${MAX_VALUE_SIZE}`);
    if (cur.last !== undefined && Buffer.compare(cur.last, key) >= 0) {
      throw this.invalid(`bucket ${show(cur.name)}: key ${show(key)} does not come after ${show(cur.last)} (keys must ascend strictly)`);
    }
    const k = Buffer.from(key);
    cur.last = k;
    cur.tree.add(0, k, Buffer.from(value));
  }

  endBucket(): void {
    this.assertOpen();
    const cur = this.current;
    if (!cur) throw this.invalid('endBucket: no bucket begun');
    this.current = undefined;
    const r = cur.tree.finish(true);
    let value: Buffer;
    if ('inline' in r) {
      value = Buffer.alloc(BUCKET_HEADER_SIZE + r.inline.length);
      writeBucketHeader(value, 0, { root: 0, sequence: 0n });
      r.inline.copy(value, BUCKET_HEADER_SIZE);
    } else {
      value = Buffer.alloc(BUCKET_HEADER_SIZE);
      writeBucketHeader(value, 0, { root: r.root, sequence: 0n });
    }
    this.buckets.set(cur.name.toString('latin1'), { name: cur.name, value });
  }

  /** beginBucket + put of every entry + endBucket. */
  writeBucket(name: Uint8Array | string, entries: Iterable<Entry>): void {
    this.beginBucket(name);
    for (const [k, v] of entries) this.put(k, v);
    this.endBucket();
  }

  /** Writes the root bucket, the freelist and the metas; closes the file. */
  finish(): BboltWriteResult {
    this.assertOpen();
    if (this.current) throw this.invalid(`finish: bucket ${show(this.current.name)} is not ended`);
    const root = new TreeBuilder(this);
    const sorted = [...this.buckets.values()].sort((a, b) => Buffer.compare(a.name, b.name));
    for (const b of sorted) root.add(BUCKET_LEAF_FLAG, b.name, b.value);
    const r = root.finish(false);
    if (!('root' in r)) throw new Error('bbolt writer: unreachable: an inline root bucket');
    const freelist = Buffer.alloc(this.pageSize);
    writePageHeader(freelist, 0, { id: 0, flags: PageFlag.freelist, count: 0, overflow: 0 });
    const freelistPgid = this.emit(freelist);
    this.flush();
    const fd = this.fd!;
    const pages = this.next;
    const metas = Buffer.alloc(2 * this.pageSize);
    const meta = { pageSize: this.pageSize, flags: 0, root: { root: r.root, sequence: 0n }, freelist: freelistPgid, pgid: pages };
    writeMetaPage(metas, 0, 0, { ...meta, txid: this.txid });
    writeMetaPage(metas, this.pageSize, 1, { ...meta, txid: this.txid - 1n });
    writeFully(fd, metas, 0);
    if (this.sync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    this.fd = undefined;
    return { pages, size: pages * this.pageSize };
  }

  /** Closes and removes the file (after an error, or when the caller gives up). Idempotent. */
  abort(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
      fs.rmSync(this.file, { force: true });
    }
  }

  /** PageSink: gives the node the next page ids and queues it for writing. */
  emit(node: Buffer): number {
    const pgid = this.next;
    node.writeBigUInt64LE(BigInt(pgid), 0);
    this.next += node.length / this.pageSize;
    this.pending.push(node);
    this.pendingBytes += node.length;
    if (this.pendingBytes >= this.bufferBytes) this.flush();
    return pgid;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    writeFully(this.fd!, buf, this.pendingFrom * this.pageSize);
    this.pendingFrom = this.next;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private assertOpen(): void {
    if (this.fd === undefined) throw new BboltError('CLOSED', `bbolt writer: ${this.file} is already finished or aborted`);
  }

  private invalid(what: string): BboltError {
    return new BboltError('INVALID_ARGUMENT', `bbolt writer: ${this.file}: ${what}`);
  }
}

/**
 * Writes a whole database: every bucket of `buckets` (entries in ascending key order), then the root,
 * freelist and metas. The file is removed if anything throws.
 */
export function writeBboltFile(file: string, buckets: Iterable<BucketInput>, opts: BboltWriterOptions = {}): BboltWriteResult {
  const w = BboltWriter.create(file, opts);
  try {
    for (const b of buckets) w.writeBucket(b.name, b.entries);
    return w.finish();
  } catch (err) {
    w.abort();
    throw err;
  }
}

function checkKey(key: Uint8Array, what: string): void {
  if (key.length === 0) throw new BboltError('INVALID_ARGUMENT', `bbolt writer: empty ${what} (bbolt requires a key)`);
  if (key.length > MAX_KEY_SIZE) throw new BboltError('INVALID_ARGUMENT', `bbolt writer: ${what} of ${key.length} bytes is larger than ${MAX_KEY_SIZE}`);
}

function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

function show(b: Uint8Array): string {
  const s = Buffer.from(b);
  const shown = s.length > 32 ? s.subarray(0, 32) : s;
  const printable = [...shown].every((c) => c >= 0x20 && c < 0x7f);
  return (printable ? JSON.stringify(shown.toString('latin1')) : `0x${shown.toString('hex')}`) + (s.length > 32 ? '…' : '');
}
