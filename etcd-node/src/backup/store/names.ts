// The names both stores accept, and the order they list them in. The rules are those of the stricter
// store, a folder: a name is a relative path whose every segment is a real file name, so that what a
// backup wrote to S3 could equally be written to a volume (and no name can escape the volume's root).
import { StoreError } from './store.js';

/** Files a VolumeStore writes before renaming them; no name segment may start with it (listing hides them). */
export const TEMP_PREFIX = '.tmp-';

/** S3's limit for a key; the volume store applies it too. */
const MAX_NAME_BYTES = 1024;
/** The usual limit for one file name (ext4, xfs, overlayfs). */
const MAX_SEGMENT_BYTES = 255;

/** Why a segment (a part between '/') cannot be used, or undefined when it can. */
function badSegment(segment: string): string | undefined {
  if (segment === '') return 'an empty segment (a leading, trailing or doubled "/")';
  if (segment === '.' || segment === '..') return `a "${segment}" segment`;
  if (segment.startsWith(TEMP_PREFIX)) return `a segment starting with "${TEMP_PREFIX}" (reserved for temporary files)`;
  if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

/** Throws StoreError InvalidConfig unless `name` is an object name both stores accept. */
export function checkName(name: string): void {
  const why = name.includes('\0')
    ? 'a NUL character'
    : Buffer.byteLength(name) > MAX_NAME_BYTES
      ? `more than ${MAX_NAME_BYTES} bytes`
      : name.split('/').map(badSegment).find((w) => w !== undefined);
  if (why !== undefined) throw new StoreError('InvalidConfig', `invalid object name ${JSON.stringify(name)}: ${why}`);
}

/**
 * Throws StoreError InvalidConfig unless `prefix` is a prefix of names: '' or complete segments each
 * followed by '/', then optionally the start of a last segment (e.g. 'backups/2024-'; not '.', '..'
 * or one starting with '.tmp-').
 */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  const parts = prefix.split('/');
  const last = parts.pop() ?? '';
  const why = prefix.includes('\0') ? 'a NUL character' : parts.map(badSegment).find((w) => w !== undefined);
  if (why !== undefined) throw new StoreError('InvalidConfig', `invalid prefix ${JSON.stringify(prefix)}: ${why}`);
  // a partial last segment is a problem when it already is the reserved prefix, or is '.' or '..'
  // (which MinIO refuses as a prefix, and which no name could continue into anything but a longer segment)
  if (last.startsWith(TEMP_PREFIX) || last === '.' || last === '..') {
    throw new StoreError('InvalidConfig', `invalid prefix ${JSON.stringify(prefix)}: its last segment starts like "${last}"`);
  }
}

/**
 * Byte order of the names' UTF-8 encodings, the order S3 lists keys in. JavaScript's own string order
 * compares UTF-16 code units, which differs for characters beyond U+FFFF (e.g. emoji sort before U+FFFD).
 */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
