// The bytes of one backup object (a full snapshot or a delta of the event tail):
//
//   "ETCDTSBK"  8 bytes, the magic
//   H           4 bytes, big-endian: the length of the header
//   header      H bytes of JSON (ObjectHeader): format version, kind, cluster id, revision range, time,
//               compression, encryption (algorithm, key id, IV), SHA-256 and length of the plaintext
//   body        the plaintext, gzip-compressed unless compression is "none", then AES-256-GCM-encrypted
//               unless encryption is absent
//   tag         16 bytes, only when encrypted: the GCM authentication tag
//
// The first 12 + H bytes (magic, length, header) are the GCM additional data, so a changed header fails
// decryption as a changed body does. The plaintext of a full is the file etcd's Snapshot RPC streamed
// (a bbolt database and its SHA-256 trailer: what `etcdctl snapshot save` writes); of a delta, an encoded
// etcdtspb.BackupDelta. Each is checked against plaintextSha256 and plaintextBytes when read.
import { createCipheriv, createDecipheriv, createHash, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import type { BackupKey, BackupKeyring } from './keys.js';

export const MAGIC = Buffer.from('ETCDTSBK');
export const FORMAT_VERSION = 1;
const GCM_TAG_BYTES = 16;
const GCM_IV_BYTES = 12;
/** a header is a few hundred bytes; more is not one of ours */
const MAX_HEADER_BYTES = 64 * 1024;

export type ObjectKind = 'full' | 'delta';
export type Compression = 'gzip' | 'none';

export interface ObjectHeader {
  format: number;
  kind: ObjectKind;
  /** the etcd cluster id, 16 hex digits */
  clusterId: string;
  /** full: the snapshot's revision (= toRevision); delta: its first revision */
  fromRevision: number;
  toRevision: number;
  /** unix ms. full: when the snapshot was taken; delta: when its last revision was received */
  time: number;
  /** delta: when its first revision was received (unix ms) */
  firstTime?: number;
  compression: Compression;
  encryption?: { algorithm: 'AES-256-GCM'; keyId: string; iv: string };
  plaintextSha256: string;
  plaintextBytes: number;
}

export type BackupObjectErrorCode =
  /** not one of our objects (no magic, no header) */
  | 'NotABackupObject'
  /** a format version or an algorithm this build does not know */
  | 'Unsupported'
  /** encrypted with a key id the keyring does not have */
  | 'UnknownKey'
  /** the GCM tag does not verify: the wrong key, or the object was changed */
  | 'DecryptFailed'
  /** shorter than its header says, or the plaintext's checksum or length is not the header's */
  | 'Corrupt'
  /** an encrypted object and no keyring, or a key where none is needed */
  | 'KeyRequired';

export class BackupObjectError extends Error {
  constructor(
    readonly code: BackupObjectErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackupObjectError';
  }
}

/** Fields of the header the writer chooses; the rest (checksum, length, IV) come from the data. */
export type HeaderFields = Omit<ObjectHeader, 'format' | 'compression' | 'encryption' | 'plaintextSha256' | 'plaintextBytes'>;

export interface EncodeOptions {
  compression: Compression;
  /** undefined: plaintext (only when the spec disables encryption) */
  key: BackupKey | undefined;
}

/** magic ‖ length ‖ header JSON */
function headerBytes(h: ObjectHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, len, json]);
}

function newHeader(fields: HeaderFields, opts: EncodeOptions, sha256: string, bytes: number): ObjectHeader {
  return {
    format: FORMAT_VERSION,
    ...fields,
    compression: opts.compression,
    ...(opts.key ? { encryption: { algorithm: 'AES-256-GCM' as const, keyId: opts.key.id, iv: randomBytes(GCM_IV_BYTES).toString('base64') } } : {}),
    plaintextSha256: sha256,
    plaintextBytes: bytes,
  };
}

function cipherFor(h: ObjectHeader, key: BackupKey, aad: Buffer): CipherGCM {
  const c = createCipheriv('aes-256-gcm', key.key, Buffer.from(h.encryption!.iv, 'base64'));
  c.setAAD(aad);
  return c;
}

/** A whole object from an in-memory plaintext (deltas). */
export function encodeObject(fields: HeaderFields, plaintext: Buffer, opts: EncodeOptions): { header: ObjectHeader; bytes: Buffer } {
  const header = newHeader(fields, opts, createHash('sha256').update(plaintext).digest('hex'), plaintext.length);
  const prefix = headerBytes(header);
  let body = opts.compression === 'gzip' ? gzipSync(plaintext) : plaintext;
  if (opts.key) {
    const c = cipherFor(header, opts.key, prefix);
    body = Buffer.concat([c.update(body), c.final(), c.getAuthTag()]);
  }
  return { header, bytes: Buffer.concat([prefix, body]) };
}

/**
 * An object as a stream, from a plaintext stream whose SHA-256 and length are known beforehand (a full
 * snapshot spooled to disk first): memory stays bounded whatever the size.
 */
export function encodeObjectStream(
  fields: HeaderFields,
  plaintext: () => Readable,
  sha256: string,
  bytes: number,
  opts: EncodeOptions,
): { header: ObjectHeader; stream: Readable } {
  const header = newHeader(fields, opts, sha256, bytes);
  const prefix = headerBytes(header);
  const cipher = opts.key ? cipherFor(header, opts.key, prefix) : undefined;
  async function* object(): AsyncGenerator<Buffer> {
    yield prefix;
    const parts: Readable[] = [plaintext()];
    if (opts.compression === 'gzip') parts.push(createGzip({ level: 3 }));
    if (cipher) parts.push(cipher);
    const last = parts[parts.length - 1]!;
    for (let i = 0; i + 1 < parts.length; i++) {
      parts[i]!.pipe(parts[i + 1] as Transform);
      parts[i]!.on('error', (err) => last.destroy(err));
    }
    try {
      for await (const chunk of last) yield chunk as Buffer;
    } finally {
      for (const p of parts) p.destroy();
    }
    if (cipher) yield cipher.getAuthTag();
  }
  return { header, stream: Readable.from(object(), { objectMode: false }) };
}

/** Parses magic and header from the first bytes of an object; undefined while more bytes are needed. */
export function parseHeader(buf: Buffer, name: string): { header: ObjectHeader; prefix: Buffer } | undefined {
  if (buf.length < MAGIC.length) {
    if (!MAGIC.subarray(0, buf.length).equals(buf)) throw notOurs(name);
    return undefined;
  }
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw notOurs(name);
  if (buf.length < MAGIC.length + 4) return undefined;
  const len = buf.readUInt32BE(MAGIC.length);
  if (len === 0 || len > MAX_HEADER_BYTES) throw notOurs(name);
  const end = MAGIC.length + 4 + len;
  if (buf.length < end) return undefined;
  let h: unknown;
  try {
    h = JSON.parse(buf.subarray(MAGIC.length + 4, end).toString('utf8'));
  } catch {
    throw notOurs(name);
  }
  return { header: validateHeader(h, name), prefix: buf.subarray(0, end) };
}

function notOurs(name: string): BackupObjectError {
  return new BackupObjectError('NotABackupObject', `${name}: not an etcd-ts backup object (no ETCDTSBK header)`);
}

function validateHeader(v: unknown, name: string): ObjectHeader {
  const h = v as Partial<ObjectHeader> | null;
  const bad = (what: string): BackupObjectError => new BackupObjectError('NotABackupObject', `${name}: bad header: ${what}`);
  if (h === null || typeof h !== 'object') throw bad('not an object');
  if (h.format !== FORMAT_VERSION) throw new BackupObjectError('Unsupported', `${name}: format version ${String(h.format)} (this build reads version ${FORMAT_VERSION})`);
  if (h.kind !== 'full' && h.kind !== 'delta') throw bad('kind');
  if (typeof h.clusterId !== 'string' || !/^[0-9a-f]{1,16}$/.test(h.clusterId)) throw bad('clusterId');
  for (const f of ['fromRevision', 'toRevision', 'time', 'plaintextBytes'] as const) {
    if (!Number.isSafeInteger(h[f]) || (h[f] as number) < 0) throw bad(f);
  }
  if (h.fromRevision! > h.toRevision!) throw bad('fromRevision > toRevision');
  if (h.compression !== 'gzip' && h.compression !== 'none') throw new BackupObjectError('Unsupported', `${name}: compression ${String(h.compression)}`);
  if (typeof h.plaintextSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.plaintextSha256)) throw bad('plaintextSha256');
  if (h.encryption !== undefined) {
    const e = h.encryption;
    if (e.algorithm !== 'AES-256-GCM') throw new BackupObjectError('Unsupported', `${name}: encryption ${String(e.algorithm)}`);
    if (typeof e.keyId !== 'string' || typeof e.iv !== 'string' || Buffer.from(e.iv, 'base64').length !== GCM_IV_BYTES) throw bad('encryption');
  }
  return h as ObjectHeader;
}

function keyFor(h: ObjectHeader, keys: BackupKeyring | undefined, name: string): BackupKey | undefined {
  if (!h.encryption) return undefined;
  if (!keys) throw new BackupObjectError('KeyRequired', `${name}: encrypted with key ${h.encryption.keyId}, and no key was given`);
  const k = keys.byId.get(h.encryption.keyId);
  if (!k) {
    throw new BackupObjectError('UnknownKey', `${name}: encrypted with key ${h.encryption.keyId}, which is not among the keys given (${[...keys.byId.keys()].join(', ') || 'none'})`);
  }
  return k;
}

function checkPlaintext(h: ObjectHeader, sha256: string, bytes: number, name: string): void {
  if (bytes !== h.plaintextBytes) throw new BackupObjectError('Corrupt', `${name}: ${bytes} bytes of data, the header says ${h.plaintextBytes}`);
  if (sha256 !== h.plaintextSha256) throw new BackupObjectError('Corrupt', `${name}: SHA-256 of the data is ${sha256}, the header says ${h.plaintextSha256}`);
}

/** Decodes a whole object held in memory: header, then decrypt, decompress and verify. */
export function decodeObject(bytes: Buffer, keys: BackupKeyring | undefined, name: string): { header: ObjectHeader; plaintext: Buffer } {
  const parsed = parseHeader(bytes, name);
  if (!parsed) throw new BackupObjectError('Corrupt', `${name}: truncated (${bytes.length} bytes, no whole header)`);
  const { header, prefix } = parsed;
  const key = keyFor(header, keys, name);
  let body = bytes.subarray(prefix.length);
  if (key) {
    if (body.length < GCM_TAG_BYTES) throw new BackupObjectError('Corrupt', `${name}: truncated (no authentication tag)`);
    const d = createDecipheriv('aes-256-gcm', key.key, Buffer.from(header.encryption!.iv, 'base64'));
    d.setAAD(prefix);
    d.setAuthTag(body.subarray(body.length - GCM_TAG_BYTES));
    try {
      body = Buffer.concat([d.update(body.subarray(0, body.length - GCM_TAG_BYTES)), d.final()]);
    } catch {
      throw decryptFailed(name, key);
    }
  }
  let plaintext: Buffer;
  try {
    plaintext = header.compression === 'gzip' ? gunzipSync(body) : body;
  } catch (err) {
    throw new BackupObjectError('Corrupt', `${name}: the gzip data is damaged (${err instanceof Error ? err.message : String(err)})`);
  }
  checkPlaintext(header, createHash('sha256').update(plaintext).digest('hex'), plaintext.length, name);
  return { header, plaintext };
}

function decryptFailed(name: string, key: BackupKey): BackupObjectError {
  return new BackupObjectError('DecryptFailed', `${name}: decryption with key ${key.id} failed: the key is wrong or the object was changed`);
}

/** Holds back the last `keep` bytes of a stream (the GCM tag) and passes the rest on. */
class HoldBack extends Transform {
  private tail = Buffer.alloc(0);
  constructor(private readonly keep: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const all = Buffer.concat([this.tail, chunk]);
    const cut = Math.max(0, all.length - this.keep);
    this.tail = all.subarray(cut);
    if (cut > 0) this.push(all.subarray(0, cut));
    cb();
  }
  held(): Buffer {
    return this.tail;
  }
}

/** Counts and hashes what passes through. */
class Digest extends Transform {
  readonly sha = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sha.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * Decodes an object from a stream into `sink` (e.g. a file being written), verifying it all: the caller
 * must treat what reached the sink as unverified until this resolves (the GCM tag and the checksum are
 * checked at the end).
 */
export async function decodeObjectStream(
  source: AsyncIterable<Buffer> | Readable,
  sink: NodeJS.WritableStream,
  keys: BackupKeyring | undefined,
  name: string,
): Promise<ObjectHeader> {
  const it = (Symbol.asyncIterator in source ? source : Readable.from(source))[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let parsed: ReturnType<typeof parseHeader>;
  for (;;) {
    parsed = parseHeader(head, name);
    if (parsed) break;
    const n = await it.next();
    if (n.done) throw new BackupObjectError(head.length === 0 ? 'NotABackupObject' : 'Corrupt', `${name}: truncated (${head.length} bytes, no whole header)`);
    head = Buffer.concat([head, n.value as Buffer]);
  }
  const { header, prefix } = parsed;
  const key = keyFor(header, keys, name);
  const rest = head.subarray(prefix.length);
  async function* body(): AsyncGenerator<Buffer> {
    if (rest.length > 0) yield rest;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield n.value as Buffer;
    }
  }
  const stages: Transform[] = [];
  let hold: HoldBack | undefined;
  let decipher: DecipherGCM | undefined;
  if (key) {
    hold = new HoldBack(GCM_TAG_BYTES);
    decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(header.encryption!.iv, 'base64'));
    decipher.setAAD(prefix);
    const d = decipher;
    const h = hold;
    // the tag is known only once the source has ended; set it just before the decipher's final()
    const tagThenDecipher = new Transform({
      transform(chunk: Buffer, _e, cb) {
        cb(null, d.update(chunk));
      },
      flush(cb) {
        const tag = h.held();
        if (tag.length < GCM_TAG_BYTES) {
          cb(new BackupObjectError('Corrupt', `${name}: truncated (no authentication tag)`));
          return;
        }
        d.setAuthTag(tag);
        try {
          cb(null, d.final());
        } catch {
          cb(decryptFailed(name, key));
        }
      },
    });
    stages.push(hold, tagThenDecipher);
  }
  if (header.compression === 'gzip') stages.push(createGunzip());
  const digest = new Digest();
  stages.push(digest);
  try {
    await pipeline([Readable.from(body(), { objectMode: false }), ...stages, sink]);
  } catch (err) {
    if (err instanceof BackupObjectError) throw err;
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new BackupObjectError('Corrupt', `${name}: the gzip data is damaged (${(err as Error).message})`);
    throw err;
  }
  checkPlaintext(header, digest.sha.digest('hex'), digest.bytes, name);
  return header;
}
