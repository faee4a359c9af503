// The Maintenance service: Status, Defragment, Hash, HashKV, Snapshot (stream), Alarm. MoveLeader and
// Downgrade answer Unimplemented until replication lands. With auth on, Defragment, Hash, HashKV and
// Snapshot need the root role (as etcd's authMaintenanceServer; Status and Alarm need nothing), and
// refuse with the auth package's error unmapped (gRPC Unknown, "auth: permission denied"), as etcd does.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { asAuthPackageError } from '../../auth/store.js';
import type { MaintenanceServer, SnapshotRequest, SnapshotResponse } from '../../gen/etcdserverpb/rpc.js';
import { SERVER_VERSION } from '../../server/config.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Logger } from '../../util/logger.js';
import { authorizeAdmin, type ServerSurfaceCall } from './auth-context.js';
import { toServiceError } from './errors.js';
import { unary, unimplemented } from './unary.js';

const SNAPSHOT_CHUNK = 32 * 1024;

export function maintenanceService(server: EtcdServer, log: Logger): MaintenanceServer {
  const admin = async (call: ServerSurfaceCall): Promise<void> => {
    try {
      await authorizeAdmin(server, call);
    } catch (err) {
      throw asAuthPackageError(err);
    }
  };
  return {
    alarm: unary(log, 'Alarm', (r) => server.alarm(r)),
    status: unary(log, 'Status', () => server.status()),
    defragment: unary(log, 'Defragment', async (_r, call) => {
      await admin(call);
      await server.defragment();
      return { header: server.header() };
    }),
    hash: unary(log, 'Hash', async (_r, call) => {
      await admin(call);
      return server.hash();
    }),
    hashKv: unary(log, 'HashKV', async (r, call) => {
      await admin(call);
      return server.hashKV(Number(r.revision));
    }),
    snapshot: (call) => {
      admin(call)
        .then(() => streamSnapshot(server, log, call))
        .catch((err: unknown) => call.emit('error', toServiceError(err, log, 'Snapshot')));
    },
    moveLeader: unary(log, 'MoveLeader', async (r, call) => {
      await admin(call);
      await server.moveLeader(r.targetID);
      return { header: server.header() };
    }),
    downgrade: unimplemented('Downgrade'),
  };
}

/**
 * Streams a consistent copy of the backend, followed (as etcd does) by the sha256 of the copy, so that a
 * restore can verify the file is whole.
 */
async function streamSnapshot(
  server: EtcdServer,
  log: Logger,
  call: ServerWritableStream<SnapshotRequest, SnapshotResponse>,
): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'etcd-node-snapshot-'));
  try {
    const file = path.join(dir, 'db');
    await server.backend.copyTo(file);
    const size = (await stat(file)).size;
    const total = size + 32;
    const sha = createHash('sha256');
    let sent = 0;
    let first = true;
    const send = async (blob: Buffer): Promise<void> => {
      sent += blob.length;
      const msg: SnapshotResponse = {
        header: first ? server.header() : undefined,
        remainingBytes: BigInt(total - sent),
        blob,
        version: first ? SERVER_VERSION : '',
      };
      first = false;
      if (!call.write(msg)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
    };
    for await (const chunk of createReadStream(file, { highWaterMark: SNAPSHOT_CHUNK })) {
      if (call.cancelled) return;
      const b = chunk as Buffer;
      sha.update(b);
      await send(b);
    }
    await send(sha.digest());
    log.info('sent database snapshot to client', { 'size-bytes': size });
    call.end();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
