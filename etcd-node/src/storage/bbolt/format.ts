// The byte layout of a bbolt database file (etcd's backend), from the documented format. Pure functions
// over buffers; the reader (reader.ts) and writer (writer.ts) do the I/O. All integers little-endian.
//
//   file   = pages of `pageSize` bytes; page n starts at byte n * pageSize. Pages 0 and 1 are the two
//            meta pages; a node larger than a page takes consecutive pages ("overflow" pages).
//   page   = header (16 bytes): id u64 | flags u16 | count u16 | overflow u32, then the body.
//   meta   = (body of a meta page) magic u32 | version u32 | pageSize u32 | flags u32 |
//            root bucket {root pgid u64, sequence u64} | freelist pgid u64 | high-water pgid u64 |
//            txid u64 | checksum u64 — the checksum is FNV-1a 64 of the 56 bytes before it.
//   leaf   = `count` elements of 16 bytes: flags u32 (0x01: the value is a bucket) | pos u32 |
//            ksize u32 | vsize u32, where pos counts from the element's own first byte to its key,
//            and the value follows the key.
//   branch = `count` elements of 16 bytes: pos u32 | ksize u32 | child pgid u64; the key is the first
//            key of the child's subtree (the child holds keys ≥ it and < the next element's key).
//   bucket = (a leaf value with flag 0x01) root pgid u64 | sequence u64; root 0 means the bucket is
//            "inline": a leaf page (header with id 0) follows those 16 bytes inside the value itself.
//   freelist page = `count` free pgids (u64 each); count 0xFFFF means the first u64 holds the count.
//            A meta naming freelist pgid 2^64-1 has no freelist on disk (etcd's NoFreelistSync): the
//            free pages are then those no bucket reaches.

export const MAGIC = 0xed0cdaed;
export const VERSION = 2;

export const PAGE_HEADER_SIZE = 16;
export const ELEMENT_SIZE = 16;
export const BUCKET_HEADER_SIZE = 16;
/** bytes of the meta body, checksum included */
export const META_SIZE = 64;
/** bytes of the meta body the checksum covers */
export const META_CHECKSUMMED = 56;

export const PageFlag = {
  branch: 0x01,
  leaf: 0x02,
  meta: 0x04,
  freelist: 0x10,
} as const;

/** A leaf element's flag: its value is a (sub)bucket header. */
export const BUCKET_LEAF_FLAG = 0x01;

/** The freelist pgid of a meta whose free pages are not written down. */
export const NO_FREELIST = 0xffff_ffff_ffff_ffffn;

/** The count value that says "the real count is the first u64 of the body". */
export const FREELIST_COUNT_ESCAPE = 0xffff;

/** bbolt's limits on what a bucket may hold. */
export const MAX_KEY_SIZE = 32768;
export const MAX_VALUE_SIZE = 2 ** 31 - 2;

export const DEFAULT_PAGE_SIZE = 4096;

export interface PageHeader {
  readonly id: number;
  readonly flags: number;
  readonly count: number;
  readonly overflow: number;
}

export interface BucketHeader {
  /** the bucket's root page; 0 when the bucket is inline */
  readonly root: number;
  readonly sequence: bigint;
}

export interface Meta {
  readonly magic: number;
  readonly version: number;
  readonly pageSize: number;
  readonly flags: number;
  readonly root: BucketHeader;
  /** the freelist page, or undefined when the file has none (NO_FREELIST) */
  readonly freelist: number | undefined;
  /** the high-water mark: the first page id past the database's end */
  readonly pgid: number;
  readonly txid: bigint;
  readonly checksum: bigint;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64_MASK = 0xffff_ffff_ffff_ffffn;

/** FNV-1a, 64 bits (the meta checksum). Only ever run over 56 bytes, so BigInt's cost does not matter. */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (const b of bytes) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & U64_MASK;
  }
  return h;
}

/**
 * A u64 that names a page (or a count of pages) as a JS number. Page ids beyond 2^53 cannot occur in a
 * file we can address (2^53 bytes is 8 PiB), so a larger one is corruption: returns undefined.
 */
export function readPgid(buf: Buffer, off: number): number | undefined {
  const v = buf.readBigUInt64LE(off);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

export function readPageHeader(buf: Buffer, off = 0): PageHeader {
  const id = buf.readBigUInt64LE(off);
  return {
    id: id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : -1,
    flags: buf.readUInt16LE(off + 8),
    count: buf.readUInt16LE(off + 10),
    overflow: buf.readUInt32LE(off + 12),
  };
}

export function writePageHeader(buf: Buffer, off: number, h: PageHeader): void {
  buf.writeBigUInt64LE(BigInt(h.id), off);
  buf.writeUInt16LE(h.flags, off + 8);
  buf.writeUInt16LE(h.count, off + 10);
  buf.writeUInt32LE(h.overflow, off + 12);
}

/** Decodes the meta body at `off` (the checksum is read, not checked: see metaProblem). */
export function readMeta(buf: Buffer, off: number): Meta {
  const freelist = buf.readBigUInt64LE(off + 32);
  return {
    magic: buf.readUInt32LE(off),
    version: buf.readUInt32LE(off + 4),
    pageSize: buf.readUInt32LE(off + 8),
    flags: buf.readUInt32LE(off + 12),
    root: { root: readPgid(buf, off + 16) ?? -1, sequence: buf.readBigUInt64LE(off + 24) },
    freelist: freelist === NO_FREELIST ? undefined : (readPgid(buf, off + 32) ?? -1),
    pgid: readPgid(buf, off + 40) ?? -1,
    txid: buf.readBigUInt64LE(off + 48),
    checksum: buf.readBigUInt64LE(off + 56),
  };
}

/** Why the meta body at `off` is not a valid meta, or undefined when it is. */
export function metaProblem(buf: Buffer, off: number): string | undefined {
  const m = readMeta(buf, off);
  if (m.magic !== MAGIC) return `bad magic 0x${m.magic.toString(16)} (want 0x${MAGIC.toString(16)})`;
  if (m.version !== VERSION) return `unsupported version ${m.version} (want ${VERSION})`;
  const sum = fnv1a64(buf.subarray(off, off + META_CHECKSUMMED));
  if (sum !== m.checksum) return `bad checksum 0x${m.checksum.toString(16)} (the meta hashes to 0x${sum.toString(16)})`;
  if (!isPowerOfTwo(m.pageSize) || m.pageSize < 512) return `bad page size ${m.pageSize}`;
  if (m.pgid < 2 || m.root.root < 2 || m.root.root >= m.pgid) return `bad root page ${m.root.root} (high water ${m.pgid})`;
  if (m.freelist !== undefined && (m.freelist < 2 || m.freelist >= m.pgid)) return `bad freelist page ${m.freelist} (high water ${m.pgid})`;
  return undefined;
}

/** Writes a whole meta page (header + body + checksum) for page `id` into `buf` at `off`. */
export function writeMetaPage(buf: Buffer, off: number, id: number, m: Omit<Meta, 'magic' | 'version' | 'checksum'>): void {
  writePageHeader(buf, off, { id, flags: PageFlag.meta, count: 0, overflow: 0 });
  const b = off + PAGE_HEADER_SIZE;
  buf.writeUInt32LE(MAGIC, b);
  buf.writeUInt32LE(VERSION, b + 4);
  buf.writeUInt32LE(m.pageSize, b + 8);
  buf.writeUInt32LE(m.flags, b + 12);
  buf.writeBigUInt64LE(BigInt(m.root.root), b + 16);
  buf.writeBigUInt64LE(m.root.sequence, b + 24);
  buf.writeBigUInt64LE(m.freelist === undefined ? NO_FREELIST : BigInt(m.freelist), b + 32);
  buf.writeBigUInt64LE(BigInt(m.pgid), b + 40);
  buf.writeBigUInt64LE(m.txid, b + 48);
  buf.writeBigUInt64LE(fnv1a64(buf.subarray(b, b + META_CHECKSUMMED)), b + 56);
}

export function writeBucketHeader(buf: Buffer, off: number, h: BucketHeader): void {
  buf.writeBigUInt64LE(BigInt(h.root), off);
  buf.writeBigUInt64LE(h.sequence, off + 8);
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function flagsName(flags: number): string {
  const names = Object.entries(PageFlag)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
  return names.length > 0 ? names.join('|') : `0x${flags.toString(16)}`;
}
