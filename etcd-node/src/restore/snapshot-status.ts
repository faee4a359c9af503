// `etcd-node snapshot status`: what etcdutl 3.6's `snapshot status` reports about an etcd snapshot file,
// computed the same way so the two agree on any file (the compat test runs both):
// - hash: CRC-32C (Castagnoli) over, for every top-level bucket in byte order, its name and then each
//   key and value in key order — a fingerprint of the contents, not of the pages, so two files holding
//   the same data in different page layouts (etcd's and etcd-node's) can still be told apart or matched;
// - revision: the main revision of the last key of the `key` bucket (0 when it is empty). Not the
//   compaction mark: etcdutl does not look at it;
// - totalKey: the live keys at that revision (3.6; 3.4 and 3.5 counted every entry of every bucket);
// - totalSize: the database's size (pages up to the high-water mark), not the file's: a trailer or
//   preallocated space beyond it does not count;
// - version: meta/storageVersion as major.minor.0 (etcd 3.6 writes it; empty for older snapshots).
// Before any of this the whole file is checked as bbolt's tx.Check() does; a damaged file is refused.
import { checkBbolt } from '../storage/bbolt/check.js';
import { BboltError } from '../storage/bbolt/errors.js';
import { crc32c } from '../util/crc32c.js';
import { bytesToRev, isTombstoneKey, REV_BYTES } from '../mvcc/revision.js';
import { KeyValue } from '../gen/mvccpb/kv.js';
import { openSnapshot } from './import-snapshot.js';
import { RestoreError } from './errors.js';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  version: string;
}

export const STATUS_FORMATS = ['simple', 'table', 'json', 'fields'] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

/** "3.6.0", "3.6" → "3.6.0" (etcd keeps major.minor only); anything else → "" as etcd's parse failure. */
function storageVersion(v: Buffer | undefined): string {
  if (v === undefined) return '';
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(v.toString('latin1'));
  return m ? `${Number(m[1])}.${Number(m[2])}.0` : '';
}

export function snapshotStatus(file: string): SnapshotStatus {
  const db = openSnapshot(file);
  try {
    const check = checkBbolt(db);
    if (check.problems.length > 0) {
      throw new RestoreError('NotASnapshot', `${file}: snapshot file integrity check failed, ${check.problems.length} errors found:\n${check.problems.join('\n')}`);
    }
    let hash = 0;
    let revision = 0;
    const live = new Set<string>();
    for (const name of db.bucketNames()) {
      hash = crc32c(name, hash);
      const bucket = db.bucket(name);
      if (!bucket) continue;
      const isKey = name.toString('latin1') === 'key';
      for (const [k, v] of bucket.entries()) {
        hash = crc32c(v, crc32c(k, hash));
        if (!isKey) continue;
        if (k.length < REV_BYTES) throw new RestoreError('NotASnapshot', `${file}: key bucket entry 0x${k.toString('hex')} is not a revision`);
        revision = bytesToRev(k).main;
        let kv: KeyValue;
        try {
          kv = KeyValue.decode(v);
        } catch (err) {
          throw new RestoreError('NotASnapshot', `${file}: the value of revision ${revision} is not a KeyValue (${err instanceof Error ? err.message : String(err)})`);
        }
        // revisions ascend, so the last entry of a key decides whether it is live
        const key = Buffer.from(kv.key).toString('latin1');
        if (isTombstoneKey(k)) live.delete(key);
        else live.add(key);
      }
    }
    return {
      hash,
      revision,
      totalKey: live.size,
      totalSize: db.meta.pgid * db.pageSize,
      version: storageVersion(db.bucket('meta')?.get('storageVersion')),
    };
  } catch (err) {
    if (err instanceof BboltError) throw new RestoreError('NotASnapshot', `${file}: not an etcd snapshot (${err.message})`);
    throw err;
  } finally {
    db.close();
  }
}

/** Go's %.0f: an exact half goes to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Sizes as etcdutl prints them (SI units, one decimal below 10: "20 kB", "2.1 MB", "7 B"). */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1000)));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${units[e]!}` : `${roundHalfEven(val)} ${units[e]!}`;
}

function table(header: string[], row: string[]): string {
  const widths = header.map((h, i) => Math.max(h.length, row[i]!.length));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const center = (s: string, w: number): string => {
    const left = Math.floor((w - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - s.length - left);
  };
  const head = `|${header.map((h, i) => ` ${center(h, widths[i]!)} `).join('|')}|`;
  const body = `|${row.map((c, i) => ` ${c.padStart(widths[i]!)} `).join('|')}|`;
  return [line, head, line, body, line].join('\n');
}

/** The status in one of etcdutl's output formats, ending in a newline. */
export function formatStatus(s: SnapshotStatus, format: StatusFormat): string {
  const hex = s.hash.toString(16);
  switch (format) {
    case 'simple':
      return `${hex}, ${s.revision}, ${s.totalKey}, ${humanBytes(s.totalSize)}, ${s.version}\n`;
    case 'table':
      return `${table(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE', 'VERSION'], [hex, String(s.revision), String(s.totalKey), humanBytes(s.totalSize), s.version])}\n`;
    case 'json':
      return `${JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize, version: s.version })}\n`;
    case 'fields':
      return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n"Version" : ${s.version}\n`;
  }
}
