// S3Store (etcd-node/src/backup/store/s3-store.ts) against a real MinIO (test/support/minio.ts): the
// shared store contract, then what only S3 has: multipart uploads and checksums, credentials that are
// refused, endpoints that do not answer, TLS with and without our CA, a configuration that cannot work.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3Store, type S3StoreOptions } from '../../etcd-node/src/backup/store/s3-store.js';
import type { ObjectStore, S3StoreConfig } from '../../etcd-node/src/backup/store/store.js';
import { StoreError } from '../../etcd-node/src/backup/store/store.js';
import { skipUnlessMinio, startMinio, type MinioServer } from '../support/minio.js';
import { makePki } from '../support/pki.js';
import { freePorts } from '../support/servers.js';
import { rejectsWith, storeContract } from './store-contract.js';

const MiB = 1024 * 1024;

const stores: S3Store[] = [];
after(() => {
  for (const s of stores) s.close();
});

function make(config: S3StoreConfig, options?: S3StoreOptions): S3Store {
  const s = new S3Store(config, options);
  stores.push(s);
  return s;
}

/** Incomplete multipart uploads in `bucket` under `prefix` ("key uploadId"); MinIO wants no Prefix to list them all. */
async function incompleteUploads(minio: MinioServer, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await minio.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
    for (const u of page.Uploads ?? []) if (u.Key?.startsWith(prefix) === true) out.push(`${u.Key} ${u.UploadId ?? '?'}`);
    if (page.IsTruncated !== true) return out;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

async function within<T>(ms: number, p: Promise<T>): Promise<{ value: T; took: number }> {
  const started = Date.now();
  const value = await p;
  const took = Date.now() - started;
  assert.ok(took < ms, `took ${took} ms, more than ${ms}`);
  return { value, took };
}

describe('S3Store against MinIO', skipUnlessMinio(), () => {
  let minio: MinioServer;
  let buckets = 0;
  const bucketOf = new Map<ObjectStore, string>();

  before(async () => {
    minio = await startMinio();
  });
  after(async () => {
    await minio?.stop();
  });

  const config = (bucket: string, over: Partial<S3StoreConfig> = {}): S3StoreConfig => ({
    endpoint: minio.endpoint,
    bucket,
    region: minio.region,
    forcePathStyle: true,
    accessKeyId: minio.rootUser,
    secretAccessKey: minio.rootPassword,
    ...over,
  });
  const newBucket = async (): Promise<string> => {
    const b = `bucket-${++buckets}`;
    await minio.createBucket(b);
    return b;
  };
  const bucketOfStore = (s: ObjectStore): string => {
    const b = bucketOf.get(s);
    if (b === undefined) throw new Error('not a store of this suite');
    return b;
  };

  describe('the store contract', () => {
    storeContract({
      fresh: async () => {
        const b = await newBucket();
        const s = make(config(b));
        bucketOf.set(s, b);
        return s;
      },
      missing: async () => make(config('no-such-bucket')),
      leftovers: async (s, prefix) => incompleteUploads(minio, bucketOfStore(s), prefix),
      leaveLeftover: async (s, name) => {
        // what a backup agent killed half-way through a multipart upload leaves
        const Bucket = bucketOfStore(s);
        const { UploadId } = await minio.client.send(new CreateMultipartUploadCommand({ Bucket, Key: name }));
        await minio.client.send(new UploadPartCommand({ Bucket, Key: name, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
      },
    });
  });

  it('a body longer than a part is a multipart upload, a shorter one a single PUT, both with a CRC32 the server keeps', async () => {
    const b = await newBucket();
    const s = make(config(b));
    const sizes: [string, number, number][] = [
      ['small', 1000, 0],
      ['one-part', 8 * MiB, 0],
      ['two-parts', 8 * MiB + 1, 2],
      ['three-parts', 20 * MiB, 3],
    ];
    for (const [name, size, parts] of sizes) {
      const data = randomBytes(size);
      // as a stream, so that only the store decides how to send it
      assert.deepEqual(await s.put(name, (async function* () { for (let i = 0; i < size; i += MiB) yield data.subarray(i, i + MiB); })()), { size });
      const head = await minio.client.send(new HeadObjectCommand({ Bucket: b, Key: name, ChecksumMode: 'ENABLED' }));
      const etag = head.ETag ?? '';
      if (parts === 0) assert.doesNotMatch(etag, /-\d+"?$/, `${name}: one PUT`);
      else assert.match(etag, new RegExp(`-${parts}"?$`), `${name}: ${parts} parts`);
      assert.ok(head.ChecksumCRC32 !== undefined && head.ChecksumCRC32 !== '', `${name}: a CRC32 (${JSON.stringify(head.ChecksumCRC32)})`);
      assert.ok((await s.get(name)).equals(data), `${name} reads back`);
    }
    assert.deepEqual(await incompleteUploads(minio, b, ''), []);
  });

  /**
   * An HTTP proxy to MinIO; `intercept` may answer a request itself (returning true) or change how the
   * answer is passed on (`answer`: the default pipes it through).
   */
  async function withProxy(
    intercept: (req: IncomingMessage, res: ServerResponse) => boolean,
    test: (endpoint: string) => Promise<void>,
    answer: (req: IncomingMessage, up: IncomingMessage, res: ServerResponse) => void = (_req, up, res) => up.pipe(res),
  ): Promise<void> {
    const proxy = createHttpServer((req, res) => {
      if (intercept(req, res)) return;
      const headers: OutgoingHttpHeaders = { ...req.headers };
      delete headers['expect'];
      const up = httpRequest({ host: '127.0.0.1', port: minio.port, method: req.method, path: req.url, headers }, (upAnswer) => {
        res.writeHead(upAnswer.statusCode ?? 502, upAnswer.headers);
        answer(req, upAnswer, res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((res) => proxy.listen(0, '127.0.0.1', res));
    try {
      await test(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((res) => proxy.close(() => res()));
    }
  }

  it('a part that keeps failing fails the put at once: the rest of the body is not read, the upload is aborted', async () => {
    const b = await newBucket();
    // every upload of part 2 gets a server error
    let failedParts = 0;
    const failPart2 = (req: IncomingMessage, res: ServerResponse): boolean => {
      if (req.method !== 'PUT' || !/[?&]partNumber=2(&|$)/.test(req.url ?? '')) return false;
      failedParts += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>injected by the test</Message></Error>');
      });
      return true;
    };
    await withProxy(failPart2, async (endpoint) => {
      const s = make(config(b, { endpoint }));
      let read = 0;
      const chunk = Buffer.alloc(MiB, 7);
      const body = (async function* () {
        for (; read < 400 * MiB; read += MiB) yield chunk;
      })();
      const err = await rejectsWith(s.put('failing', body), 'Failed');
      assert.match(err.message, /InternalError/);
      assert.equal(failedParts, 3, 'the SDK tried part 2 three times');
      // part 2 failed; what the other uploaders had in flight, and the head, may have been read too
      assert.ok(read < 100 * MiB, `read ${read / MiB} MiB of the body after the part failed`);
      await rejectsWith(s.get('failing'), 'NotFound');
      assert.deepEqual(await incompleteUploads(minio, b, ''), []);
    });
  });

  it('getStream: a reader may pause longer than the idle timeout; a server that stops sending mid-way fails it with Unreachable', async () => {
    const b = await newBucket();
    const data = randomBytes(20 * MiB);
    await make(config(b)).put('obj', data);
    const idle = { idleTimeoutMs: 1_500 };

    const paused = await make(config(b), idle).getStream('obj');
    const chunks: Buffer[] = [];
    let waited = false;
    for await (const c of paused) {
      chunks.push(c as Buffer);
      if (!waited) {
        waited = true;
        await new Promise((r) => setTimeout(r, 4_000));
      }
    }
    assert.ok(Buffer.concat(chunks).equals(data), 'read back whole after the pause');

    // the proxy passes on the answer's first MiB, then nothing (the connection stays open)
    const stallAfterAMiB = (_req: IncomingMessage, up: IncomingMessage, res: ServerResponse): void => {
      let passed = 0;
      up.on('data', (c: Buffer) => {
        if (passed < MiB) res.write(c);
        passed += c.length;
      });
    };
    await withProxy(() => false, async (endpoint) => {
      const stalled = await make(config(b, { endpoint }), idle).getStream('obj');
      let got = 0;
      const started = Date.now();
      await assert.rejects(
        (async () => {
          for await (const c of stalled) got += (c as Buffer).length;
        })(),
        (e: unknown) => e instanceof StoreError && e.code === 'Unreachable' && /timed out/.test(e.message),
      );
      assert.ok(got > 0 && got < 2 * MiB, `got ${got} bytes`);
      assert.ok(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms`);
    }, stallAfterAMiB);
  });

  it('list leaves out keys no store writes (folder markers, ".." segments)', async () => {
    const b = await newBucket();
    const s = make(config(b));
    await s.put('dir/obj', Buffer.from('x'));
    await minio.client.send(new PutObjectCommand({ Bucket: b, Key: 'dir/', Body: Buffer.alloc(0) }));
    await minio.client.send(new PutObjectCommand({ Bucket: b, Key: 'dir/.tmp-x', Body: Buffer.from('y') }));
    assert.deepEqual((await s.list('')).map((o) => o.name), ['dir/obj']);
  });

  it('wrong or unknown credentials: AccessDenied, and the message names bucket, endpoint and object, never the secret', async () => {
    const b = await newBucket();
    await make(config(b)).put('obj', Buffer.from('x'));
    const wrongSecret = 'Wrong-Secret-Key-0123456789';
    for (const s of [make(config(b, { secretAccessKey: wrongSecret })), make(config(b, { accessKeyId: 'no-such-user' }))]) {
      await rejectsWith(s.check(), 'AccessDenied');
      await rejectsWith(s.list(''), 'AccessDenied');
      await rejectsWith(s.put('obj2', Buffer.from('y')), 'AccessDenied');
      await rejectsWith(s.put('big', randomBytes(9 * MiB)), 'AccessDenied');
      const err = await rejectsWith(s.get('obj'), 'AccessDenied');
      assert.ok(err.message.includes(`s3://${b}`) && err.message.includes(minio.endpoint) && err.message.includes('obj'), err.message);
      for (const secret of [wrongSecret, minio.rootPassword]) assert.ok(!err.message.includes(secret), err.message);
      assert.ok(!s.description.includes(wrongSecret) && !s.description.includes(minio.rootPassword));
    }
  });

  it('temporary credentials (a session token) work, and what their policy denies is AccessDenied', async () => {
    const b = await newBucket();
    await make(config(b)).put('readable', Buffer.from('r'));
    const creds = await minio.assumeRole({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [`arn:aws:s3:::${b}`] },
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${b}/*`] },
      ],
    });
    const s = make(config(b, creds));
    await s.check();
    assert.deepEqual((await s.list('')).map((o) => o.name), ['readable']);
    assert.equal((await s.get('readable')).toString(), 'r');
    await rejectsWith(s.put('denied', Buffer.from('x')), 'AccessDenied');
    await rejectsWith(s.delete('readable'), 'AccessDenied');
    const forged = make(config(b, { ...creds, sessionToken: 'forged' }));
    const err = await rejectsWith(forged.get('readable'), 'AccessDenied');
    assert.ok(!err.message.includes(creds.secretAccessKey) && !err.message.includes(creds.sessionToken));
  });

  it('credentials, endpoint and settings come from the config only, never from AWS_* variables or ~/.aws', async () => {
    const b = await newBucket();
    const home = mkdtempSync(join(tmpdir(), 'etcd-ts-aws-home-'));
    mkdirSync(join(home, '.aws'));
    writeFileSync(join(home, '.aws', 'credentials'), `[default]\naws_access_key_id = ${minio.rootUser}\naws_secret_access_key = ${minio.rootPassword}\n`);
    writeFileSync(join(home, '.aws', 'config'), '[default]\nendpoint_url = http://127.0.0.1:1\nmax_attempts = 50\n');
    const saved = { ...process.env };
    Object.assign(process.env, {
      HOME: home,
      AWS_ACCESS_KEY_ID: minio.rootUser,
      AWS_SECRET_ACCESS_KEY: minio.rootPassword,
      AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
      AWS_CONFIG_FILE: join(home, '.aws', 'config'),
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
      AWS_MAX_ATTEMPTS: '50',
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    });
    try {
      // the environment's (valid) credentials do not rescue a wrong secret in the config
      await rejectsWith(make(config(b, { secretAccessKey: 'not-the-secret-key' })).check(), 'AccessDenied');
      // and the environment's endpoint does not take the requests elsewhere
      const s = make(config(b));
      await s.put('env', Buffer.from('x'));
      const head = await minio.client.send(new HeadObjectCommand({ Bucket: b, Key: 'env', ChecksumMode: 'ENABLED' }));
      assert.ok(head.ChecksumCRC32 !== undefined, 'the checksum is not switched off by AWS_REQUEST_CHECKSUM_CALCULATION');
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('nothing listening, or a name that does not resolve: Unreachable, within the timeout', async () => {
    const [port] = await freePorts(1);
    const refused = make(config('b', { endpoint: `http://127.0.0.1:${String(port)}` }));
    for (const op of [() => refused.check(), () => refused.put('x', Buffer.from('x')), () => refused.get('x'), () => refused.list('')]) {
      const { value: err } = await within(30_000, rejectsWith(op(), 'Unreachable'));
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(err.message.includes(`127.0.0.1:${String(port)}`), err.message);
    }
    const unresolvable = make(config('b', { endpoint: 'http://no-such-host.invalid:9000' }));
    await within(30_000, rejectsWith(unresolvable.check(), 'Unreachable'));
  });

  it('a server that accepts connections and never answers: Unreachable within about 30 s, not a hang', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    const address = silent.address();
    assert.ok(address !== null && typeof address === 'object');
    try {
      const s = make(config('b', { endpoint: `http://127.0.0.1:${address.port}` }));
      const [checked] = await Promise.all([
        // 3 tries of 10 s each (the time an answer must start in)
        within(36_000, rejectsWith(s.check(), 'Unreachable')),
        // an upload's requests get longer for their answer, but a silent connection ends them too
        within(45_000, rejectsWith(s.put('x', Buffer.from('x')), 'Unreachable')),
      ]);
      assert.match(checked.value.message, /timed out|Timeout|ETIMEDOUT/i);
      assert.ok(checked.took >= 25_000, `gave up after ${checked.took} ms, before its third try timed out`);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((res) => silent.close(() => res()));
    }
  });

  it('a configuration that cannot work: InvalidConfig from the constructor', () => {
    const invalid = (over: Partial<S3StoreConfig>, options?: S3StoreOptions): void => {
      assert.throws(
        () => make(config('b', over), options),
        (e: unknown) => e instanceof StoreError && e.code === 'InvalidConfig' && !e.message.includes(minio.rootPassword),
        JSON.stringify(over),
      );
    };
    invalid({ endpoint: 'not a url' });
    invalid({ endpoint: 'ftp://127.0.0.1:21' });
    invalid({ endpoint: 'http://user:secret@127.0.0.1:9000' });
    invalid({ endpoint: 'http://127.0.0.1:9000/?x=1' });
    invalid({ bucket: '' });
    invalid({ region: '' });
    invalid({ accessKeyId: '' });
    invalid({ secretAccessKey: '' });
    invalid({ ca: Buffer.from('not a certificate') });
    invalid({ ca: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') });
    invalid({}, { partSize: MiB });
    assert.equal(make(config('b')).description, `s3://b at ${minio.endpoint}`);
    assert.equal(make(config('b', { endpoint: undefined, region: 'eu-west-1' })).description, 's3://b (AWS, eu-west-1)');
  });
});

describe('S3Store against MinIO over TLS', skipUnlessMinio(), () => {
  let minio: MinioServer;
  let pkiDir: string;

  before(async () => {
    minio = await startMinio({ tls: true });
    pkiDir = mkdtempSync(join(tmpdir(), 'etcd-ts-other-ca-'));
    makePki(pkiDir, []);
  });
  after(async () => {
    await minio?.stop();
    if (pkiDir !== undefined) rmSync(pkiDir, { recursive: true, force: true });
  });

  const config = (over: Partial<S3StoreConfig> = {}): S3StoreConfig => ({
    endpoint: minio.endpoint,
    bucket: 'tls',
    region: minio.region,
    forcePathStyle: true,
    accessKeyId: minio.rootUser,
    secretAccessKey: minio.rootPassword,
    ...over,
  });

  it('with our CA: works (one PUT and multipart)', async () => {
    assert.match(minio.endpoint, /^https:/);
    await minio.createBucket('tls');
    const s = make(config({ ca: minio.ca }));
    await s.check();
    await s.put('small', Buffer.from('over TLS'));
    // a PUT of more than 2 MB asks for 100-continue, for which the SDK used to take an agent without our CA
    const mid = randomBytes(5 * MiB);
    await s.put('mid', mid);
    assert.ok((await s.get('mid')).equals(mid));
    const big = randomBytes(10 * MiB);
    await s.put('big', (async function* () { yield big.subarray(0, 5 * MiB); yield big.subarray(5 * MiB); })());
    assert.equal((await s.get('small')).toString(), 'over TLS');
    assert.ok((await s.get('big')).equals(big));
  });

  it('without our CA, or with another one: Unreachable, saying it is the certificate', async () => {
    for (const ca of [undefined, readFileSync(join(pkiDir, 'ca.crt'))]) {
      const s = make(config(ca !== undefined ? { ca } : {}));
      const { value: err } = await within(30_000, rejectsWith(s.check(), 'Unreachable'));
      assert.match(err.message, /TLS|certificate/i, err.message);
      await rejectsWith(s.get('small'), 'Unreachable');
    }
  });

  it('plain http against the TLS port fails instead of hanging', async () => {
    const s = make(config({ endpoint: minio.endpoint.replace('https:', 'http:') }));
    const started = Date.now();
    await assert.rejects(s.check(), (e: unknown) => e instanceof StoreError);
    assert.ok(Date.now() - started < 30_000);
  });
});
