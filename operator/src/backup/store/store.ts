// The object stores backups are written to: an S3-compatible bucket (s3-store.ts) or a folder on a
// volume (volume-store.ts). Both hold whole objects only: an object is visible under its name once it is
// completely written (S3: one PUT, or a completed multipart upload; a folder: written under a temporary
// name, fsynced, renamed, the folder fsynced), so a listing never shows half an object. Names are paths
// inside the bucket or folder ('/'-separated, no leading '/'); the backup layer composes them.
import type { Readable } from 'node:stream';

/** Why a store call failed; check errors by code, never by message. */
export type StoreErrorCode =
  /** the object does not exist */
  | 'NotFound'
  /** the bucket (or the volume's folder) does not exist */
  | 'NoSuchBucket'
  /** the credentials were refused, or they lack a permission */
  | 'AccessDenied'
  /** the endpoint did not answer: name lookup, connection refused, TLS failure, timeout */
  | 'Unreachable'
  /** the configuration cannot work (a malformed endpoint URL, missing credentials, a bad CA) */
  | 'InvalidConfig'
  /** anything else the store answered */
  | 'Failed';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export interface ObjectInfo {
  name: string;
  size: number;
  lastModified: Date;
}

export type Body = Buffer | Readable | AsyncIterable<Uint8Array>;

export interface ObjectStore {
  /** For logs, status and errors, e.g. `s3://bucket at https://minio:9000` or `volume /backup`; never a secret. */
  readonly description: string;
  /**
   * Writes the object; resolves once it is complete and visible under `name` (an object of that name is
   * replaced). A stream is uploaded as it is read (S3: multipart), so memory stays bounded. If it fails
   * or `signal` aborts, nothing is left visible under `name` (and what was uploaded is cleaned up where
   * possible; `cleanup` removes the rest).
   */
  put(name: string, body: Body, opts?: { signal?: AbortSignal }): Promise<{ size: number }>;
  /** The whole object. StoreError NotFound when there is none. */
  get(name: string): Promise<Buffer>;
  /** The object as a stream. StoreError NotFound when there is none. */
  getStream(name: string): Promise<Readable>;
  /** Every object whose name starts with `prefix`, in byte order of names; `startAfter` skips names ≤ it. */
  list(prefix: string, opts?: { startAfter?: string }): Promise<ObjectInfo[]>;
  /** Deletes the object; no error when it does not exist. */
  delete(name: string): Promise<void>;
  /**
   * Removes what interrupted writes under `prefix` left behind (S3: incomplete multipart uploads;
   * a folder: temporary files) that are older than `olderThanMs`. Returns how many it removed.
   */
  cleanup(prefix: string, olderThanMs: number): Promise<number>;
  /** Checks that the store answers and the bucket or folder exists; throws StoreError saying what is wrong. */
  check(): Promise<void>;
  /** Releases connections. */
  close(): void;
}

/** An S3-compatible bucket (s3-store.ts: `new S3Store(config)`). */
export interface S3StoreConfig {
  /** e.g. `https://minio.backup.svc:9000`; undefined: AWS's own endpoint for the region */
  endpoint?: string;
  bucket: string;
  region: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO and most S3-compatible servers) */
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** PEM certificates to trust for an https endpoint (in addition to the system's) */
  ca?: Buffer;
}

/** A folder, e.g. a PersistentVolumeClaim's mount (volume-store.ts: `new VolumeStore(config)`). */
export interface VolumeStoreConfig {
  root: string;
}
