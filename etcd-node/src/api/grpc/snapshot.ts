// Maintenance.Snapshot: streams what etcd streams, a bbolt database file in etcd's bucket layout
// followed by the sha256 of those bytes (32 bytes; etcdutl takes a file whose size is 32 past a
// multiple of 512 to end in one and checks it), so etcdctl/etcdutl `snapshot status` and `snapshot
// restore` take etcd-node's snapshots as etcd's.
//
// Three steps, none of which holds the apply loop:
//   1. a consistent point-in-time copy of the lmdb backend (lmdb's native copy on its own thread,
//      under one read transaction: writes go on meanwhile);
//   2. the copy → a bbolt file in etcd's layout, on a worker thread (storage/etcd-snapshot);
//   3. the file, streamed in chunks with `remaining_bytes` counting down to 0 at the trailer, waiting
//      for the client whenever the stream's buffer is full (memory stays at a few chunks).
// A cancelled call stops whichever step runs (the worker is terminated) and the scratch directory with
// both files is removed however the call ends.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { SnapshotRequest, SnapshotResponse } from '../../gen/etcdserverpb/rpc.js';
import { CLUSTER_VERSION, SERVER_VERSION } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { convertInWorker } from '../../storage/etcd-snapshot/convert-in-worker.js';
import type { Logger } from '../../util/logger.js';

const SNAPSHOT_CHUNK = 32 * 1024;
const SHA256_BYTES = 32;

class Cancelled extends Error {
  constructor() {
    super('snapshot: the client cancelled the call');
  }
}

export async function streamSnapshot(
  server: EtcdServer,
  log: Logger,
  call: ServerWritableStream<SnapshotRequest, SnapshotResponse>,
): Promise<void> {
  const ac = new AbortController();
  const onCancel = (): void => ac.abort(new Cancelled());
  call.once('cancelled', onCancel);
  if (call.cancelled) onCancel();
  const dir = await mkdtemp(path.join(tmpdir(), 'etcd-node-snapshot-'));
  const started = Date.now();
  let size: number;
  try {
    const copy = path.join(dir, 'backend.lmdb');
    await server.backend.copyTo(copy);
    if (ac.signal.aborted) return;
    const file = path.join(dir, 'snapshot.db');
    const res = await convertInWorker(copy, file, { clusterVersion: CLUSTER_VERSION, storageVersion: CLUSTER_VERSION }, ac.signal);
    // the copy is no longer needed: give its disk space back before the (possibly long) transfer
    await rm(copy, { force: true });
    await rm(`${copy}-lock`, { force: true });
    for (const note of res.notes) log.warn('snapshot: left out of the etcd layout', { note });
    if (res.scryptUsers > 0) {
      log.info('snapshot: users carry etcd-node (scrypt) password hashes, which etcd cannot verify', { users: res.scryptUsers });
    }
    await send(server, call, file, res.size, ac.signal);
    server.stats.observe('backendSnapshot', (Date.now() - started) / 1000);
    size = res.size;
  } catch (err) {
    if (ac.signal.aborted) return; // nobody is listening any more
    throw err;
  } finally {
    call.off('cancelled', onCancel);
    await rm(dir, { recursive: true, force: true });
  }
  // the call ends only once the scratch files are gone: a client that saw the end finds no trace left
  log.info('sent database snapshot to client', { 'size-bytes': size, took: `${Date.now() - started}ms` });
  call.end();
}

async function send(
  server: EtcdServer,
  call: ServerWritableStream<SnapshotRequest, SnapshotResponse>,
  file: string,
  size: number,
  signal: AbortSignal,
): Promise<void> {
  const total = size + SHA256_BYTES;
  const sha = createHash('sha256');
  let sent = 0;
  let first = true;
  const write = async (blob: Buffer): Promise<void> => {
    sent += blob.length;
    const msg: SnapshotResponse = {
      header: first ? server.header() : undefined,
      remainingBytes: BigInt(total - sent),
      blob,
      version: first ? SERVER_VERSION : '',
    };
    first = false;
    if (!call.write(msg)) await drained(call, signal);
  };
  let read = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: SNAPSHOT_CHUNK, signal })) {
    const b = chunk as Buffer;
    read += b.length;
    sha.update(b);
    await write(b);
  }
  if (read !== size) throw new Error(`snapshot: read ${read} bytes of the ${size}-byte database file`);
  await write(sha.digest());
}

/** Resolves when the stream takes writes again; rejects when the call is cancelled meanwhile. */
function drained(call: ServerWritableStream<SnapshotRequest, SnapshotResponse>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', aborted);
      resolve();
    };
    const aborted = (): void => {
      call.off('drain', done);
      reject(signal.reason instanceof Error ? signal.reason : new Cancelled());
    };
    if (signal.aborted) {
      aborted();
      return;
    }
    call.on('drain', done);
    signal.addEventListener('abort', aborted, { once: true });
  });
}
