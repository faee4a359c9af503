// An ObjectStore on an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …) through the AWS SDK v3.
//
// Whole objects only: a body that fits in one part is one PUT; a longer one is a multipart upload
// (@aws-sdk/lib-storage's Upload) that becomes visible only when it is completed. Every part and every
// PUT carries a CRC32 the server verifies. A multipart upload that fails or is aborted is aborted on the
// server once its in-flight parts have settled, so no part stays behind; what a crash leaves, `cleanup`
// removes.
//
// Everything comes from the config, nothing from the environment or ~/.aws: the credentials, the
// endpoint (AWS_ENDPOINT_URL* is ignored), the region, retries and checksums are all set explicitly, so
// a pod's environment cannot change which credentials are used or where they are sent. Requests time out
// (connect 5 s; an answer must start within 10 s, or 120 s for a request that carries a part; no
// connection may stay silent for more than ~13 s) and are tried at most 3 times, so a store that does
// not answer fails within about 30 s (an upload within about 40 s). getStream's body is watched for
// silence only while its reader reads, so a reader may pause as long as it likes.
import { X509Certificate } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readBody, type BodyReader } from './body.js';
import { checkName, checkPrefix, compareNames } from './names.js';
import { storeErrorOf, type NotFoundMeans } from './s3-errors.js';
import type { Body, ObjectInfo, ObjectStore, S3StoreConfig } from './store.js';
import { StoreError } from './store.js';

/** Tuning, for tests and unusual networks; the defaults suit a backup agent. */
export interface S3StoreOptions {
  /** Bytes per part of a multipart upload; a body up to this size is a single PUT. Default 8 MiB, at least 5 MiB (S3's minimum). */
  partSize?: number;
  /** Parts uploaded at once. Default 4; memory is about partSize × (queueSize + 1). */
  queueSize?: number;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * How long a connection may stay silent (no byte either way). Default 10 s; the SDK starts watching
   * 3 s into a request for values of 6 s and more, so silence is noticed after ~13 s.
   */
  idleTimeoutMs?: number;
  /** How long a request that sends a body (a PUT, a part) may take until its answer starts. Default 120 s. */
  requestTimeoutMs?: number;
  /** How long any other request (list, head, get, delete, abort) may take until its answer starts. Default 10 s. */
  answerTimeoutMs?: number;
  /** Tries per request, the first included. Default 3. */
  maxAttempts?: number;
}

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;

/** The PEM certificates in `pem`; throws InvalidConfig when there is none or one does not parse. */
function parseCa(pem: Buffer, where: string): string[] {
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new StoreError('InvalidConfig', `${where}: the CA bundle holds no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new StoreError('InvalidConfig', `${where}: the CA bundle holds a certificate that does not parse`, { cause: err });
    }
  }
  return blocks;
}

/** The endpoint as the SDK should see it; throws InvalidConfig for anything but a plain http(s) URL. */
function parseEndpoint(endpoint: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (err) {
    throw new StoreError('InvalidConfig', `${where}: the endpoint ${JSON.stringify(endpoint)} is not a URL`, { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StoreError('InvalidConfig', `${where}: the endpoint must be http:// or https://, not ${url.protocol}`);
  }
  // credentials belong in the Secret, and a query or fragment has no meaning for an endpoint
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new StoreError('InvalidConfig', `${where}: the endpoint must not hold credentials, a query or a fragment`);
  }
  return url;
}

/** Waits until `stream` wants more, or is gone. */
function drained(stream: PassThrough): Promise<void> {
  return new Promise((res) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      res();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

export class S3Store implements ObjectStore {
  readonly description: string;
  private readonly client: S3Client;
  /** The same, without the SDK's idle timeout (getStream's own watch replaces it). */
  private readonly streamClient: S3Client;
  private readonly idleTimeoutMs: number;
  /**
   * Ours, not the SDK's: for an Expect: 100-continue request (a body over 2 MB) the SDK swaps an agent it
   * made itself for a fresh one without our CA, but it always uses one it is given.
   */
  private readonly agents: { http: HttpAgent; https: HttpsAgent };
  /** For requests without a large body: their answer must start within answerTimeoutMs. */
  private readonly quick: { requestTimeout: number };
  private readonly bucket: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  /** Never in a message. */
  private readonly secrets: string[];

  /** Throws StoreError InvalidConfig when the config cannot work. */
  constructor(config: S3StoreConfig, options: S3StoreOptions = {}) {
    const endpoint = config.endpoint !== undefined ? parseEndpoint(config.endpoint, `s3://${config.bucket}`) : undefined;
    this.bucket = config.bucket;
    this.description =
      endpoint !== undefined ? `s3://${config.bucket} at ${endpoint.origin}${endpoint.pathname === '/' ? '' : endpoint.pathname}` : `s3://${config.bucket} (AWS, ${config.region})`;
    const invalid = (why: string): StoreError => new StoreError('InvalidConfig', `${this.description}: ${why}`);
    if (config.bucket === '') throw invalid('no bucket');
    if (config.region === '') throw invalid('no region');
    if (config.accessKeyId === '' || config.secretAccessKey === '') throw invalid('no access key id or secret access key');
    this.secrets = [config.secretAccessKey, ...(config.sessionToken !== undefined ? [config.sessionToken] : [])];
    this.partSize = options.partSize ?? 8 * MiB;
    if (this.partSize < MIN_PART_SIZE) throw invalid(`a part size below ${MIN_PART_SIZE} bytes`);
    this.queueSize = Math.max(1, options.queueSize ?? 4);
    // Node's `ca` replaces the trusted roots: keep Node's own and add the configured ones
    const ca = config.ca !== undefined ? [...rootCertificates, ...parseCa(config.ca, this.description)] : undefined;
    const agent = { keepAlive: true, maxSockets: 16 };
    this.agents = { http: new HttpAgent(agent), https: new HttpsAgent(ca !== undefined ? { ...agent, ca } : agent) };
    this.quick = { requestTimeout: options.answerTimeoutMs ?? 10_000 };

    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
    const clientFor = (socketTimeout: number): S3Client =>
      new S3Client({
        region: config.region,
        endpoint: endpoint?.href,
        forcePathStyle: config.forcePathStyle,
        credentials: {
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
          ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}),
        },
        // each of these would otherwise be read from AWS_* variables or ~/.aws/config
        ignoreConfiguredEndpointUrls: true,
        useFipsEndpoint: false,
        useDualstackEndpoint: false,
        useArnRegion: false,
        disableS3ExpressSessionAuth: true,
        defaultsMode: 'standard',
        retryMode: 'standard',
        maxAttempts: Math.max(1, options.maxAttempts ?? 3),
        requestChecksumCalculation: 'WHEN_SUPPORTED',
        responseChecksumValidation: 'WHEN_SUPPORTED',
        requestHandler: {
          connectionTimeout: options.connectTimeoutMs ?? 5_000,
          socketTimeout,
          requestTimeout: options.requestTimeoutMs ?? 120_000,
          throwOnRequestTimeout: true,
          httpAgent: this.agents.http,
          httpsAgent: this.agents.https,
        },
      });
    this.client = clientFor(this.idleTimeoutMs);
    // the SDK's idle timeout also fires while a reader of getStream merely pauses (backpressure stops
    // the bytes): that client has none, and getStream watches for silence only while the reader reads
    this.streamClient = clientFor(0);
  }

  private context(op: string, name?: string): string {
    return `${this.description}: ${op}${name !== undefined ? ` ${name}` : ''}`;
  }

  private fail(err: unknown, op: string, name: string | undefined, notFound: NotFoundMeans): StoreError {
    return storeErrorOf(err, this.context(op, name), notFound, this.secrets);
  }

  async put(name: string, body: Body, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    checkName(name);
    const what = this.context('put', name);
    const reader = readBody(body, what, opts.signal);
    // Read up to one byte more than a part: a body that ends before is one PUT, a longer one is multipart.
    const head: Buffer[] = [];
    let headBytes = 0;
    let ended = false;
    try {
      while (!ended && headBytes <= this.partSize) {
        const chunk = await reader.next();
        if (chunk === undefined) ended = true;
        else if (chunk.length > 0) {
          head.push(chunk);
          headBytes += chunk.length;
        }
      }
    } catch (err) {
      // the body failed or the put was aborted: nothing was sent yet
      reader.release();
      throw err;
    }
    if (ended) return this.putSingle(name, head.length === 1 ? head[0]! : Buffer.concat(head, headBytes));
    return this.putMultipart(name, head, headBytes, reader);
  }

  /** One PUT of a body read completely: it is sent whatever the signal does, as the commit. */
  private async putSingle(name: string, data: Buffer): Promise<{ size: number }> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: name, Body: data, ContentLength: data.length, ChecksumAlgorithm: 'CRC32' }),
      );
    } catch (err) {
      throw this.fail(err, 'put', name, 'bucket');
    }
    return { size: data.length };
  }

  private async putMultipart(name: string, head: Buffer[], headBytes: number, reader: BodyReader): Promise<{ size: number }> {
    // `feed` is what Upload reads: the head, then the rest of the body. Destroying it (on abort, on a
    // failed body) makes Upload stop at its next read even while the body is stalled. A failed part
    // stops it too: its part uploaders share one iterator over the body, which the failing one closes.
    const feed = new PassThrough();
    let size = headBytes;
    let bodyError: Error | undefined;
    let fullyRead = false;

    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: name, Body: feed, ChecksumAlgorithm: 'CRC32' },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // we abort the multipart upload ourselves, so that its error cannot replace the original one
      leavePartsOnError: true,
    });
    const pump = async (): Promise<void> => {
      for (const chunk of head) {
        if (feed.destroyed) return;
        if (!feed.write(chunk)) await drained(feed);
      }
      head.length = 0;
      for (;;) {
        if (feed.destroyed) return;
        const chunk = await reader.next();
        if (chunk === undefined) break;
        size += chunk.length;
        if (!feed.write(chunk)) await drained(feed);
      }
      fullyRead = true;
      feed.end();
    };
    pump().catch((err: unknown) => {
      bodyError = err instanceof Error ? err : new Error(String(err));
      feed.destroy(bodyError);
    });

    try {
      // Upload settles only once every part it started has settled (it is never told to abort itself)
      await upload.done();
      if (!fullyRead) throw new Error('the upload completed before the body was read to its end');
      return { size };
    } catch (err) {
      reader.release();
      feed.destroy();
      if (upload.uploadId !== undefined) await this.abortUpload(name, upload.uploadId);
      if (bodyError !== undefined) throw bodyError;
      throw this.fail(err, 'put', name, 'bucket');
    }
  }

  /** Aborts a multipart upload, best effort: what stays is for `cleanup`. */
  private async abortUpload(name: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: name, UploadId: uploadId }), this.quick);
    } catch {
      // unreachable now, or already gone: cleanup removes what stays
    }
  }

  async get(name: string): Promise<Buffer> {
    checkName(name);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }), this.quick);
      if (out.Body === undefined) return Buffer.alloc(0);
      const bytes = await out.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      throw this.fail(err, 'get', name, 'object');
    }
  }

  async getStream(name: string): Promise<Readable> {
    checkName(name);
    let body: unknown;
    try {
      body = (await this.streamClient.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }), this.quick)).Body;
    } catch (err) {
      throw this.fail(err, 'getStream', name, 'object');
    }
    if (body === undefined) return Readable.from([]);
    if (!(body instanceof Readable)) throw new StoreError('Failed', `${this.context('getStream', name)}: the SDK returned no Node stream`);
    return this.watched(body, name);
  }

  /**
   * `body` through a PassThrough whose errors are StoreErrors (a connection reset, a checksum mismatch),
   * that fails with Unreachable when no byte came for idleTimeoutMs while the reader was reading (not
   * while it held the stream paused), and that releases the connection when the reader stops early.
   */
  private watched(body: Readable, name: string): Readable {
    const out = new PassThrough();
    let lastActive = Date.now();
    const touch = (): void => {
      lastActive = Date.now();
    };
    body.on('data', touch);
    body.on('resume', touch);
    body.on('pause', touch);
    const watch = setInterval(
      () => {
        if (body.isPaused() || body.readableEnded) return touch();
        if (Date.now() - lastActive <= this.idleTimeoutMs) return;
        out.destroy(new StoreError('Unreachable', `${this.context('getStream', name)}: timed out: no data for ${this.idleTimeoutMs} ms`));
      },
      Math.max(100, Math.min(1_000, this.idleTimeoutMs / 4)),
    );
    watch.unref();
    body.on('error', (err) => out.destroy(this.fail(err, 'getStream', name, 'object')));
    out.on('close', () => {
      clearInterval(watch);
      if (!body.destroyed) body.destroy();
    });
    body.pipe(out);
    return out;
  }

  async list(prefix: string, opts: { startAfter?: string } = {}): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            ...(prefix !== '' ? { Prefix: prefix } : {}),
            ...(opts.startAfter !== undefined ? { StartAfter: opts.startAfter } : {}),
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
          this.quick,
        );
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined || !o.Key.startsWith(prefix)) continue;
          if (opts.startAfter !== undefined && compareNames(o.Key, opts.startAfter) <= 0) continue;
          // keys no store could have written (folder markers 'a/', '..' segments) are not objects here
          try {
            checkName(o.Key);
          } catch {
            continue;
          }
          out.push({ name: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.fail(err, 'list', prefix === '' ? '(all)' : prefix, 'bucket');
    }
    return out.sort((a, b) => compareNames(a.name, b.name));
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: name }), this.quick);
    } catch (err) {
      const e = this.fail(err, 'delete', name, 'object');
      if (e.code !== 'NotFound') throw e;
    }
  }

  async cleanup(prefix: string, olderThanMs: number): Promise<number> {
    checkPrefix(prefix);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      for (;;) {
        // No Prefix: MinIO lists the uploads of one exact key for a prefix (and all of them without
        // one), so the prefix is applied here, which works the same on every server.
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
          this.quick,
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key === undefined || u.UploadId === undefined || !u.Key.startsWith(prefix)) continue;
          // the server's clock: an upload started just now on a server a little ahead is still young
          if (u.Initiated === undefined || u.Initiated.getTime() >= cutoff) continue;
          try {
            await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }), this.quick);
            removed += 1;
          } catch (err) {
            // another cleanup or the upload's own put got there first
            if ((err as { name?: unknown }).name !== 'NoSuchUpload') throw err;
          }
        }
        if (page.IsTruncated !== true || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (err) {
      throw this.fail(err, 'cleanup', prefix === '' ? '(all)' : prefix, 'bucket');
    }
    return removed;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), this.quick);
    } catch (err) {
      throw this.fail(err, 'check', undefined, 'bucket');
    }
  }

  close(): void {
    this.client.destroy();
    this.streamClient.destroy();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
