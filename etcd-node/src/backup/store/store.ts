// The object stores backups are written to: an S3-compatible bucket (s3-store.ts) or a folder on a
// volume (volume-store.ts). Both hold whole objects only: an object is visible under its name once it is
// completely written (S3: one PUT, or a completed multipart upload; a folder: written under a temporary
// name, fsynced, renamed, the folder fsynced), so a listing never shows half an object. Names are paths
// inside the bucket or folder ('/'-separated, no leading '/'); the backup layer composes them. Both stores
// accept the same names (names.ts: no empty, '.' or '..' segment, no segment starting with '.tmp-', at
// most 1024 bytes), so a backup can move between them.
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
  /** the configuration cannot work (a malformed endpoint URL, missing credentials, a bad CA), or a
   *  name or prefix the stores refuse (names.ts) */
  | 'InvalidConfig'
  /** `put`'s signal aborted before the object was committed (the signal's reason is the cause) */
  | 'Aborted'
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
   * replaced). A stream is uploaded as it is read (S3: multipart), so memory stays bounded. If it
   * rejects, nothing new is visible under `name` (an object it was to replace stays), and what was
   * uploaded is cleaned up where possible (`cleanup` removes the rest). `signal` aborting before the
   * whole body has been read rejects with StoreError Aborted (promptly, even while the body stalls);
   * once the whole body is read the store is committing the object, and the put finishes (resolves or
   * fails) regardless, so that a resolved put always means a complete object and a rejected one never
   * leaves one. When reading `body` fails, put rejects with that error as it is (not a StoreError).
   * `put` consumes the body: a stream is read to its end, or destroyed when the put fails.
   */
  put(name: string, body: Body, opts?: { signal?: AbortSignal }): Promise<{ size: number }>;
  /** The whole object. StoreError NotFound when there is none. */
  get(name: string): Promise<Buffer>;
  /**
   * The object as a stream. StoreError NotFound when there is none. A failure while it is read
   * destroys the stream with an error (S3: a StoreError; S3 fails a connection silent for ~13 s, so
   * the reader must not pause longer than that).
   */
  getStream(name: string): Promise<Readable>;
  /**
   * Every object whose name starts with `prefix`, in byte order of the names' UTF-8 (S3's order);
   * `startAfter` skips names ≤ it. Keys no store could have written (names.ts: S3 folder markers like
   * 'a/', temporary files) are not objects and are left out.
   */
  list(prefix: string, opts?: { startAfter?: string }): Promise<ObjectInfo[]>;
  /** Deletes the object; no error when it does not exist. */
  delete(name: string): Promise<void>;
  /**
   * Removes what interrupted writes under `prefix` left behind that is older than `olderThanMs`, and
   * returns how many it removed. S3: incomplete multipart uploads whose key starts with `prefix`, aged
   * by the server's start time. A folder: temporary files, aged by their last write (so a running put is
   * never old), in every folder that may hold names starting with `prefix` (they carry no object name).
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
