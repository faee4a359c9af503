// Reading chain objects back, with every check a reader can make from the store alone: the object's
// checksum and authentication tag (object-format.ts), its header against its name, and its contents
// against its header — a delta holds every revision from its first to its last, each revision's events
// carry that revision; a full is a whole etcd snapshot (its SHA-256 trailer verifies) of the revision
// its name gives. Shared by the store checker and the restore.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { BackupDelta } from '../gen/etcdtspb/backup.js';
import type { BackupKeyring } from './keys.js';
import type { DeltaRef, FullRef } from './names.js';
import { BackupObjectError, decodeObject, decodeObjectStream, parseHeader, type ObjectHeader } from './object-format.js';
import type { ObjectStore } from './store/store.js';

function corrupt(name: string, what: string): BackupObjectError {
  return new BackupObjectError('Corrupt', `${name}: ${what}`);
}

function checkHeader(h: ObjectHeader, ref: FullRef | DeltaRef): void {
  const from = ref.kind === 'full' ? ref.revision : ref.from;
  const to = ref.kind === 'full' ? ref.revision : ref.to;
  if (h.kind !== ref.kind) throw corrupt(ref.name, `the header says kind ${h.kind}, the name ${ref.kind}`);
  if (h.clusterId !== ref.clusterId) throw corrupt(ref.name, `the header says cluster ${h.clusterId}, the name ${ref.clusterId}`);
  if (h.fromRevision !== from || h.toRevision !== to) throw corrupt(ref.name, `the header says revisions ${h.fromRevision}–${h.toRevision}, the name ${from}–${to}`);
  if (h.time !== ref.time) throw corrupt(ref.name, `the header says time ${h.time}, the name ${ref.time}`);
  if ((h.encryption !== undefined) !== ref.encrypted) throw corrupt(ref.name, `the name says ${ref.encrypted ? '' : 'not '}encrypted, the header disagrees`);
  if ((h.compression === 'gzip') !== ref.compressed) throw corrupt(ref.name, `the name says ${ref.compressed ? '' : 'not '}compressed, the header disagrees`);
}

/** Only the header of an object (its first bytes), checked against its name. */
export async function readHeader(store: ObjectStore, ref: FullRef | DeltaRef): Promise<ObjectHeader> {
  const stream = await store.getStream(ref.name);
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of stream) {
      head = Buffer.concat([head, chunk as Buffer]);
      const parsed = parseHeader(head, ref.name);
      if (parsed) {
        checkHeader(parsed.header, ref);
        return parsed.header;
      }
    }
  } finally {
    stream.destroy();
  }
  throw corrupt(ref.name, `truncated (${head.length} bytes, no whole header)`);
}

/** A delta object, decoded and checked. */
export async function readDelta(store: ObjectStore, ref: DeltaRef, keys: BackupKeyring | undefined): Promise<BackupDelta> {
  const { header, plaintext } = decodeObject(await store.get(ref.name), keys, ref.name);
  checkHeader(header, ref);
  let d: BackupDelta;
  try {
    d = BackupDelta.decode(plaintext);
  } catch (err) {
    throw corrupt(ref.name, `the events do not decode (${err instanceof Error ? err.message : String(err)})`);
  }
  if (d.clusterId.toString(16).padStart(16, '0') !== ref.clusterId) throw corrupt(ref.name, `the events are of cluster ${d.clusterId.toString(16)}`);
  if (Number(d.fromRevision) !== ref.from || Number(d.toRevision) !== ref.to) throw corrupt(ref.name, `the events say revisions ${d.fromRevision}–${d.toRevision}`);
  let expect = ref.from;
  let lastTime = 0;
  for (const r of d.revisions) {
    const rev = Number(r.revision);
    if (rev !== expect) throw corrupt(ref.name, `revision ${expect} is missing (found ${rev} next)`);
    if (r.events.length === 0) throw corrupt(ref.name, `revision ${rev} has no events`);
    for (const e of r.events) {
      if (!e.kv || Number(e.kv.modRevision) !== rev) throw corrupt(ref.name, `an event of revision ${rev} says mod_revision ${e.kv?.modRevision ?? 'none'}`);
    }
    if (Number(r.timeMs) < lastTime) throw corrupt(ref.name, `revision ${rev}'s time goes back`);
    lastTime = Number(r.timeMs);
    expect++;
  }
  if (expect !== ref.to + 1) throw corrupt(ref.name, `revisions ${expect}–${ref.to} are missing`);
  if (lastTime !== ref.time) throw corrupt(ref.name, `its last revision's time ${lastTime} is not the name's ${ref.time}`);
  return d;
}

/**
 * A full object, decoded into `file` (the etcd snapshot file: database and SHA-256 trailer) and checked:
 * the object's checksum, and etcd's trailer against the database. The caller checks the revision (it
 * needs a bbolt reader) with `revisionOf`, when given.
 */
export async function readFull(
  store: ObjectStore,
  ref: FullRef,
  keys: BackupKeyring | undefined,
  file: string,
  revisionOf?: (file: string) => Promise<number>,
): Promise<ObjectHeader> {
  const source = await store.getStream(ref.name);
  const out = createWriteStream(file);
  let header: ObjectHeader;
  try {
    header = await decodeObjectStream(source, out, keys, ref.name);
  } finally {
    // a decode that fails early (wrong key, bad header) leaves both open: close the object and the file
    source.destroy();
    if (!out.closed) await new Promise<void>((resolve) => out.destroy().once('close', () => resolve()));
  }
  checkHeader(header, ref);
  await checkSnapshotTrailer(file, ref.name);
  if (revisionOf) {
    const rev = await revisionOf(file);
    if (rev !== ref.revision) throw corrupt(ref.name, `the snapshot is of revision ${rev}, the name says ${ref.revision}`);
  }
  return header;
}

/** etcd's snapshot trailer: the last 32 bytes are the SHA-256 of the bytes before them. */
export async function checkSnapshotTrailer(file: string, name: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size < 32 + 4096) throw corrupt(name, `${size} bytes: too short for an etcd snapshot`);
    const sha = createHash('sha256');
    const buf = Buffer.alloc(1024 * 1024);
    let at = 0;
    while (at < size - 32) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - 32 - at), at);
      if (bytesRead === 0) break;
      sha.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    const trailer = Buffer.alloc(32);
    await fh.read(trailer, 0, 32, size - 32);
    if (!sha.digest().equals(trailer)) throw corrupt(name, 'the etcd snapshot\'s SHA-256 trailer does not match its database');
  } finally {
    await fh.close();
  }
}
