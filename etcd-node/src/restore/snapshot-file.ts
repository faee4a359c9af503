// The integrity check etcdutl makes before it restores a snapshot file. `etcdctl snapshot save` (and
// etcd-node's Maintenance.Snapshot) append the SHA-256 of the database to it; etcd recognises such a
// file by its size alone: 32 bytes past a multiple of 512 (bbolt files are whole pages, and pages are
// multiples of 512). A copy of a member's `member/snap/db` has no trailer, and only --skip-hash-check
// lets it through, as with etcdutl: without the trailer nothing says the copy is complete.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { RestoreError } from './errors.js';

export const TRAILER_BYTES = 32;

/** etcd's rule: the file's size says whether it carries a SHA-256 trailer. */
export function hasTrailer(size: number): boolean {
  return size % 512 === TRAILER_BYTES;
}

export interface SnapshotFileInfo {
  size: number;
  trailer: boolean;
  /** whether the trailer was compared with the database (false with --skip-hash-check or no trailer) */
  verified: boolean;
}

async function fileSize(file: string): Promise<number> {
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new RestoreError('NotASnapshot', `${file}: not a file`);
      return st.size;
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new RestoreError('NotASnapshot', `${file}: no such file`);
    if (code === 'EISDIR') throw new RestoreError('NotASnapshot', `${file}: is a directory, not a snapshot file`);
    throw err;
  }
}

/** SHA-256 of the file's first `length` bytes, read in pieces (snapshots can be gigabytes). */
async function sha256Prefix(file: string, length: number): Promise<{ digest: Buffer; trailer: Buffer }> {
  const fh = await open(file, 'r');
  try {
    const sha = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    let at = 0;
    while (at < length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - at), at);
      if (bytesRead === 0) throw new RestoreError('NotASnapshot', `${file}: shrank while it was read`);
      sha.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    const trailer = Buffer.alloc(TRAILER_BYTES);
    await fh.read(trailer, 0, TRAILER_BYTES, length);
    return { digest: sha.digest(), trailer };
  } finally {
    await fh.close();
  }
}

/**
 * Verifies the trailer of a file that has one (HashMismatch when it does not match) unless `skip`. A
 * file without one is refused unless `skip`, after `checkNoTrailer` — called once the file is known to
 * be a bbolt database, so a damaged file is reported as damaged, not as "missing hash".
 */
export async function verifySnapshotTrailer(file: string, skip: boolean): Promise<SnapshotFileInfo> {
  const size = await fileSize(file);
  const trailer = hasTrailer(size);
  if (!trailer || skip) return { size, trailer, verified: false };
  const { digest, trailer: stored } = await sha256Prefix(file, size - TRAILER_BYTES);
  if (!digest.equals(stored)) {
    throw new RestoreError(
      'HashMismatch',
      `${file}: the snapshot's SHA-256 trailer (${stored.toString('hex').slice(0, 16)}…) does not match its database (${digest.toString('hex').slice(0, 16)}…): ` +
        'the file is damaged or was changed after it was saved. Take a new snapshot; --skip-hash-check restores it anyway, damage and all',
    );
  }
  return { size, trailer, verified: true };
}

/** The refusal of a file without trailer, unless --skip-hash-check (etcdutl's rule). */
export function checkNoTrailer(file: string, info: SnapshotFileInfo, skip: boolean): void {
  if (info.trailer || skip) return;
  throw new RestoreError(
    'HashMismatch',
    `${file}: no SHA-256 trailer (its size, ${info.size} bytes, is not 32 past a multiple of 512), so its integrity cannot be checked: ` +
      "this is what a copy of a member's member/snap/db looks like. If it is one, pass --skip-hash-check to restore it without the check",
  );
}
