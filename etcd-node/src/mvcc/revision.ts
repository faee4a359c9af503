// Revisions and their byte form in the backend `key` database — etcd's layout exactly, so that the
// backend keys (and HashKV over them) are byte-for-byte what etcd writes:
//   8-byte big-endian main ‖ '_' ‖ 8-byte big-endian sub            (17 bytes, a put)
//   8-byte big-endian main ‖ '_' ‖ 8-byte big-endian sub ‖ 't'      (18 bytes, a tombstone)
// Byte order of these keys is revision order, so a scan of the database is a scan of history.

export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export const REV_BYTES = 17;
export const MARKED_REV_BYTES = 18;
const TOMBSTONE_MARK = 0x74; // 't'
const SEPARATOR = 0x5f; // '_'
const TWO32 = 0x1_0000_0000;

function writeU64(buf: Buffer, off: number, n: number): void {
  buf.writeUInt32BE(Math.floor(n / TWO32) >>> 0, off);
  buf.writeUInt32BE(n >>> 0, off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * TWO32 + buf.readUInt32BE(off + 4);
}

/** Backend key of revision (main, sub); with `tombstone` the 18-byte marked form. */
export function revToBytes(main: number, sub: number, tombstone = false): Buffer {
  const b = Buffer.allocUnsafe(tombstone ? MARKED_REV_BYTES : REV_BYTES);
  writeU64(b, 0, main);
  b[8] = SEPARATOR;
  writeU64(b, 9, sub);
  if (tombstone) b[17] = TOMBSTONE_MARK;
  return b;
}

export function bytesToRev(b: Uint8Array): Revision {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.length < REV_BYTES) throw new Error(`mvcc: bad revision key of ${buf.length} bytes`);
  return { main: readU64(buf, 0), sub: readU64(buf, 9) };
}

export function isTombstoneKey(b: Uint8Array): boolean {
  return b.length === MARKED_REV_BYTES && b[17] === TOMBSTONE_MARK;
}

/** a < b → negative, a == b → 0, a > b → positive. */
export function compareRev(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** A revision as a compact map key (both parts are < 2^53). */
export function revId(r: Revision): string {
  return `${r.main}_${r.sub}`;
}
