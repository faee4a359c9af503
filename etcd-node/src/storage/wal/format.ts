// Byte layout of WAL segments: the segment header, record framing and the checks that tell a torn final
// write from corruption. Pure functions over buffers; the Wal class (wal.ts) does the I/O. The format is
// described in full at the top of wal.ts and in README.md.

import { crc32c } from '../../util/crc32c.js';

/** "ETCDTSWL": the first eight bytes of every segment. */
export const MAGIC = Buffer.from('ETCDTSWL', 'latin1');
export const FORMAT_VERSION = 1;
/** magic (8) | u32 LE version | u32 zero | u64 LE segment sequence */
export const SEGMENT_HEADER_SIZE = 24;
/** u32 LE payload length | u8 type | 3 zero bytes | u32 LE crc32c(type byte ++ payload) */
export const RECORD_HEADER_SIZE = 12;

export const RecordType = {
  /** WalMetadata: the identity; first record of every segment */
  Metadata: 1,
  /** Entry: one raft log entry */
  Entry: 2,
  /** HardState: term, vote, commit */
  HardState: 3,
  /** WalSnapshot: a snapshot at (index, term) exists; replay keeps only entries above it */
  Snapshot: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const RECORD_TYPE_NAMES: Readonly<Record<RecordType, string>> = {
  1: 'metadata',
  2: 'entry',
  3: 'hardstate',
  4: 'snapshot',
};

export function isRecordType(t: number): t is RecordType {
  return t >= 1 && t <= 4;
}

/** Bytes a record with a payload of `payloadLength` bytes takes on disk, padding included. */
export function recordSize(payloadLength: number): number {
  return Math.ceil((RECORD_HEADER_SIZE + payloadLength) / 8) * 8;
}

function recordCrc(type: number, payload: Uint8Array): number {
  return crc32c(payload, crc32c(Uint8Array.of(type)));
}

/**
 * Writes one framed record into `buf` at `off` and returns the offset after its padding. `buf` must be
 * zero-filled there (Buffer.alloc): the reserved bytes and the padding are left as they are.
 */
export function putRecord(buf: Buffer, off: number, type: RecordType, payload: Uint8Array): number {
  buf.writeUInt32LE(payload.length, off);
  buf[off + 4] = type;
  buf.writeUInt32LE(recordCrc(type, payload), off + 8);
  buf.set(payload, off + RECORD_HEADER_SIZE);
  return off + recordSize(payload.length);
}

/** Frames a list of records into one new buffer. */
export function frameRecords(records: ReadonlyArray<readonly [RecordType, Uint8Array]>): Buffer {
  let total = 0;
  for (const [, p] of records) total += recordSize(p.length);
  const buf = Buffer.alloc(total);
  let off = 0;
  for (const [t, p] of records) off = putRecord(buf, off, t, p);
  return buf;
}

export function encodeSegmentHeader(seq: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeBigUInt64LE(BigInt(seq), 16);
  return b;
}

/** Returns why the segment header is unusable, or undefined when it is fine. */
export function checkSegmentHeader(b: Buffer, seq: number): string | undefined {
  if (b.length < SEGMENT_HEADER_SIZE) return `file is ${b.length} bytes, shorter than the segment header`;
  if (!b.subarray(0, 8).equals(MAGIC)) return 'bad magic (not a WAL segment)';
  const version = b.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return `unsupported format version ${version}`;
  if (b.readUInt32LE(12) !== 0) return 'non-zero reserved bytes in the segment header';
  const got = b.readBigUInt64LE(16);
  if (got !== BigInt(seq)) return `segment header says sequence ${got}, file name says ${seq}`;
  return undefined;
}

export type ReadResult =
  | { readonly kind: 'record'; readonly type: RecordType; readonly payload: Buffer; readonly size: number }
  | { readonly kind: 'end' }
  | { readonly kind: 'bad'; readonly reason: string };

/**
 * Reads the record at `off`. `end` means no record starts here and nothing but zeros follows (the unused,
 * preallocated part of a segment, or end of file). Every other irregularity is `bad`; whether it is a
 * torn final write or corruption is for the caller to decide (see isTornTail).
 */
export function readRecord(b: Buffer, off: number): ReadResult {
  const n = b.length;
  if (off + RECORD_HEADER_SIZE > n) {
    return allZero(b, off, n) ? { kind: 'end' } : { kind: 'bad', reason: 'truncated record header' };
  }
  const len = b.readUInt32LE(off);
  const type = b[off + 4]!;
  const reserved = b[off + 5]! | b[off + 6]! | b[off + 7]!;
  const crc = b.readUInt32LE(off + 8);
  if (len === 0 && type === 0 && reserved === 0 && crc === 0) {
    return allZero(b, off + RECORD_HEADER_SIZE, n)
      ? { kind: 'end' }
      : { kind: 'bad', reason: 'zero record header followed by non-zero data' };
  }
  if (!isRecordType(type)) return { kind: 'bad', reason: `unknown record type ${type}` };
  if (reserved !== 0) return { kind: 'bad', reason: 'non-zero reserved bytes in record header' };
  const left = n - off - RECORD_HEADER_SIZE;
  if (len > left) return { kind: 'bad', reason: `record length ${len} exceeds the ${left} bytes left in the file` };
  const payload = b.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + len);
  if (recordCrc(type, payload) !== crc) return { kind: 'bad', reason: 'crc mismatch' };
  const size = recordSize(len);
  // Padding is always written as zeros; it may be cut off by the end of the file, but never non-zero.
  if (!allZero(b, off + RECORD_HEADER_SIZE + len, Math.min(off + size, n))) {
    return { kind: 'bad', reason: 'non-zero record padding' };
  }
  return { kind: 'record', type, payload, size };
}

/** True when a complete record with a matching CRC starts at `off` (used to look past a suspect record). */
function validRecordAt(b: Buffer, off: number): boolean {
  if (off + RECORD_HEADER_SIZE > b.length) return false;
  const type = b[off + 4]!;
  if (!isRecordType(type) || (b[off + 5]! | b[off + 6]! | b[off + 7]!) !== 0) return false;
  const len = b.readUInt32LE(off);
  if (len > b.length - off - RECORD_HEADER_SIZE) return false;
  const payload = b.subarray(off + RECORD_HEADER_SIZE, off + RECORD_HEADER_SIZE + len);
  return recordCrc(type, payload) === b.readUInt32LE(off + 8);
}

/**
 * Decides whether the bad record at `s` (in the last segment) is a torn final write: a write that was
 * cut short by a crash, so that its bytes are a prefix of a valid record followed only by zeros (the
 * preallocated space) or the end of the file. Anything that cannot be such a prefix is corruption:
 *  - nothing but (part of) the length field was written: torn;
 *  - otherwise the type byte was written, so it must be a known type with zero reserved bytes, and the
 *    record's last payload byte (the last byte before the padding) must not have been written, i.e. the
 *    last non-zero byte of the file lies before it. A complete record with a flipped bit fails this.
 *  - a length flipped to a larger value would swallow the records after it; a genuine tear never leaves
 *    a complete valid record behind, so finding one at any aligned offset further on means corruption.
 */
export function isTornTail(b: Buffer, s: number): boolean {
  const last = lastNonZero(b, s, b.length);
  if (last < 0) return true;
  const r = last - s;
  if (r < 4) return true;
  if (!isRecordType(b[s + 4]!)) return false;
  for (let i = s + 5; i < Math.min(s + 8, b.length); i++) if (b[i] !== 0) return false;
  const len = b.readUInt32LE(s);
  if (r >= RECORD_HEADER_SIZE + len - 1) return false;
  for (let o = s + 8; o <= last; o += 8) if (validRecordAt(b, o)) return false;
  return true;
}

const ZERO = Buffer.alloc(64 * 1024);

/** True when b[from, to) is all zero bytes (memcmp in 64 KiB chunks). */
export function allZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i += ZERO.length) {
    const end = Math.min(to, i + ZERO.length);
    if (!b.subarray(i, end).equals(ZERO.subarray(0, end - i))) return false;
  }
  return true;
}

/** Index of the last non-zero byte in b[from, to), or -1. */
export function lastNonZero(b: Buffer, from: number, to: number): number {
  let end = to;
  while (end > from) {
    const start = Math.max(from, end - ZERO.length);
    if (!allZero(b, start, end)) {
      for (let i = end - 1; i >= start; i--) if (b[i] !== 0) return i;
    }
    end = start;
  }
  return -1;
}
