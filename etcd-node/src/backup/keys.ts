// Encryption keys of backups (AES-256: 32 bytes). A keyring comes from a Secret's data (or, by hand, from
// a file): the entry `key` is the key new objects are encrypted with; entries `key.<anything>` are older
// keys, kept so that objects written before a rotation still decrypt. Every object's header names its
// key by id: the first 16 hex digits of the key's SHA-256, so ids reveal nothing about the key, and a
// restore picks the right key without trying each one.
//
// A key may be given as the 32 bytes themselves, as 64 hex digits, or as base64 of 32 bytes (what
// `openssl rand -base64 32` prints); surrounding whitespace is ignored.
import { createHash, randomBytes } from 'node:crypto';

export const KEY_BYTES = 32;
export const ACTIVE_ENTRY = 'key';

export interface BackupKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface BackupKeyring {
  /** the key new objects are encrypted with */
  readonly active: BackupKey;
  /** every key, the active one included, by id */
  readonly byId: ReadonlyMap<string, BackupKey>;
}

export class KeyError extends Error {
  readonly code = 'BadKey';
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** The 32 key bytes of one entry; `where` names it in the error (e.g. `Secret db/backup-key, entry key`). */
export function parseKey(raw: Buffer, where: string): BackupKey {
  let key: Buffer | undefined;
  if (raw.length === KEY_BYTES) key = raw;
  else {
    const text = raw.toString('utf8').trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
    else if (/^[A-Za-z0-9+/]{43}=$/.test(text)) key = Buffer.from(text, 'base64');
  }
  if (!key || key.length !== KEY_BYTES) {
    throw new KeyError(`${where}: not an AES-256 key (give 32 bytes, 64 hex digits, or base64 of 32 bytes such as \`openssl rand -base64 32\` prints; got ${raw.length} bytes)`);
  }
  return { id: keyId(key), key };
}

/** A keyring from entries (a Secret's data, decoded); `where` names the source in errors. */
export function keyringFrom(entries: Record<string, Buffer>, where: string): BackupKeyring {
  const active = entries[ACTIVE_ENTRY];
  if (active === undefined) throw new KeyError(`${where}: no entry "${ACTIVE_ENTRY}" (the key new backups are encrypted with)`);
  const byId = new Map<string, BackupKey>();
  const first = parseKey(active, `${where}, entry ${ACTIVE_ENTRY}`);
  byId.set(first.id, first);
  for (const [name, raw] of Object.entries(entries)) {
    if (!name.startsWith(`${ACTIVE_ENTRY}.`)) continue;
    const k = parseKey(raw, `${where}, entry ${name}`);
    byId.set(k.id, k);
  }
  return { active: first, byId };
}

/** A fresh random key, as the entries of a new Secret. */
export function newKeyEntries(): Record<string, Buffer> {
  return { [ACTIVE_ENTRY]: randomBytes(KEY_BYTES) };
}
