// The ObjectStore contract (etcd-node/src/backup/store/store.ts) as tests that run against every store:
// s3-store.test.ts and volume-store.test.ts call `storeContract` inside their suites with a subject that
// makes fresh stores (each test its own empty bucket or folder) and looks at what a store keeps beside
// its objects (incomplete multipart uploads, temporary files).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { Readable } from 'node:stream';
import type { ObjectStore, StoreErrorCode } from '../../etcd-node/src/backup/store/store.js';
import { StoreError } from '../../etcd-node/src/backup/store/store.js';

export interface ContractSubject {
  /** A store on a new, empty bucket or folder. */
  fresh(): Promise<ObjectStore>;
  /** A store whose bucket or folder does not exist. */
  missing(): Promise<ObjectStore>;
  /** What the store keeps for unfinished puts under `prefix` (upload ids, temporary file names). */
  leftovers(store: ObjectStore, prefix: string): Promise<string[]>;
  /** Leaves what a put killed half-way leaves for `name` (an incomplete upload, a temporary file). */
  leaveLeftover(store: ObjectStore, name: string): Promise<void>;
}

const MiB = 1024 * 1024;

/** Rejects with a StoreError of `code`, and returns it. */
export async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected a StoreError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a StoreError ${code}, but it resolved`);
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `total` bytes of random data in 1 MiB chunks; `digest` is their SHA-256 once read to the end. */
function randomStream(total: number): { body: AsyncIterable<Uint8Array>; digest: () => string } {
  const hash = createHash('sha256');
  async function* gen(): AsyncGenerator<Uint8Array> {
    for (let sent = 0; sent < total; ) {
      const n = Math.min(MiB, total - sent);
      const chunk = randomBytes(n);
      hash.update(chunk);
      sent += n;
      // a plain Uint8Array (not a Buffer) as a web stream or another library would yield
      yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  }
  return { body: gen(), digest: () => hash.digest('hex') };
}

/** A body that yields `before` bytes in 1 MiB chunks, then calls `then` and waits for it. */
function bodyThen(before: number, then: () => Promise<never>): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let sent = 0; sent < before; sent += MiB) yield randomBytes(MiB);
    await then();
  })();
}

async function sha256(r: Readable): Promise<{ size: number; digest: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of r) {
    hash.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { size, digest: hash.digest('hex') };
}

/** Runs `f` over `items` with at most `width` at a time. */
async function inParallel<T>(items: readonly T[], width: number, f: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await f(items[i]!);
      }
    }),
  );
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Defines the contract's tests in the current suite. */
export function storeContract(subject: ContractSubject): void {
  it('check passes on an existing bucket or folder', async () => {
    const s = await subject.fresh();
    await s.check();
  });

  it('put then get and getStream give back the bytes of a Buffer, a Readable, an async iterable and an empty body', async () => {
    const s = await subject.fresh();
    const bodies: [string, () => Buffer | Readable | AsyncIterable<Uint8Array>, Buffer][] = [];
    const a = randomBytes(1000);
    bodies.push(['buffer', () => a, a]);
    const b = randomBytes(300_000);
    bodies.push(['readable', () => Readable.from([b.subarray(0, 1), b.subarray(1, 200_000), b.subarray(200_000)]), b]);
    const c = randomBytes(70_000);
    bodies.push(['iterable', () => (async function* () { yield new Uint8Array(c.subarray(0, 5)); yield new Uint8Array(c.subarray(5)); })(), c]);
    bodies.push(['empty', () => Buffer.alloc(0), Buffer.alloc(0)]);
    bodies.push(['empty-stream', () => Readable.from([]), Buffer.alloc(0)]);
    for (const [name, body, want] of bodies) {
      const { size } = await s.put(`round/${name}`, body());
      assert.equal(size, want.length, name);
      assert.ok((await s.get(`round/${name}`)).equals(want), `get ${name}`);
      assert.ok((await readAll(await s.getStream(`round/${name}`))).equals(want), `getStream ${name}`);
    }
    const listed = await s.list('round/');
    assert.deepEqual(
      listed.map((o) => [o.name, o.size]),
      bodies.map(([n, , w]) => [`round/${n}`, w.length]).sort((x, y) => byteOrder(x[0] as string, y[0] as string)),
    );
    for (const o of listed) assert.ok(Math.abs(o.lastModified.getTime() - Date.now()) < 120_000, `lastModified of ${o.name}`);
  });

  it('a put replaces an object of the same name', async () => {
    const s = await subject.fresh();
    await s.put('x/same', Buffer.from('first, longer'));
    await s.put('x/same', Buffer.from('second'));
    assert.equal((await s.get('x/same')).toString(), 'second');
    assert.deepEqual((await s.list('x/')).map((o) => [o.name, o.size]), [['x/same', 6]]);
  });

  it('get and getStream of a missing object: NotFound; delete of a missing object: no error', async () => {
    const s = await subject.fresh();
    await rejectsWith(s.get('no/such'), 'NotFound');
    await rejectsWith(s.getStream('no/such'), 'NotFound');
    await s.delete('no/such');
    await s.put('no/other', Buffer.from('x'));
    // a "folder" is no object either
    await rejectsWith(s.get('no'), 'NotFound');
    await s.delete('no');
    assert.equal((await s.get('no/other')).toString(), 'x');
  });

  it('list: 1100 objects in byte order, across pages, with prefix and startAfter; delete removes', async () => {
    const s = await subject.fresh();
    const many = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
    // UTF-16 order puts the emoji (a surrogate pair, 0xD83D…) before U+FFFD; UTF-8 byte order after it
    const odd = ['order/B', 'order/a', 'order/a-b', 'order/é', 'order/\u{1F600}', 'order/\uFFFD', 'order/z/deep/er', 'order/_'];
    assert.notDeepEqual([...odd].sort(), [...odd].sort(byteOrder), 'the names tell byte order from UTF-16 order');
    await inParallel([...many, ...odd], 16, (n) => s.put(n, Buffer.from(n)));

    const all = await s.list('');
    assert.deepEqual(all.map((o) => o.name), [...many, ...odd].sort(byteOrder));
    assert.deepEqual((await s.list('order/')).map((o) => o.name), [...odd].sort(byteOrder));
    const listedMany = await s.list('many/');
    assert.equal(listedMany.length, 1100);
    assert.ok(listedMany.every((o, i) => o.name === many[i] && o.size === many[i]?.length));

    const after = await s.list('many/', { startAfter: 'many/00999' });
    assert.deepEqual(after.map((o) => o.name), many.slice(1000));
    assert.deepEqual((await s.list('many/0100')).map((o) => o.name), many.slice(1000, 1010));
    assert.deepEqual((await s.list('', { startAfter: 'many/01099' })).map((o) => o.name), [...odd].sort(byteOrder));
    // startAfter need not be a name that exists
    assert.deepEqual((await s.list('many/', { startAfter: 'many/01098x' })).map((o) => o.name), ['many/01099']);
    assert.deepEqual(await s.list('nothing/'), []);

    await inParallel(many.slice(0, 600), 16, (n) => s.delete(n));
    await s.delete('order/z/deep/er');
    const left = await s.list('');
    assert.deepEqual(left.map((o) => o.name), [...many.slice(600), ...odd.filter((n) => n !== 'order/z/deep/er')].sort(byteOrder));
    await rejectsWith(s.get('many/00000'), 'NotFound');
  });

  it('a 50 MiB stream is stored as it is read and reads back byte-identical', async () => {
    const s = await subject.fresh();
    const total = 50 * MiB + 12345;
    const src = randomStream(total);
    const { size } = await s.put('big/50MiB', src.body);
    assert.equal(size, total);
    const back = await sha256(await s.getStream('big/50MiB'));
    assert.deepEqual(back, { size: total, digest: src.digest() });
    assert.deepEqual((await s.list('big/')).map((o) => [o.name, o.size]), [['big/50MiB', total]]);
    assert.deepEqual(await subject.leftovers(s, 'big/'), []);
  });

  it('a put aborted half-way rejects with Aborted and leaves no object and nothing unfinished', async () => {
    const s = await subject.fresh();
    const ac = new AbortController();
    // 20 MiB in (several parts uploaded on S3), then the source keeps going until the abort
    let sent = 0;
    const body = (async function* () {
      for (;;) {
        sent += MiB;
        if (sent === 20 * MiB) ac.abort(new Error('test abort'));
        yield randomBytes(MiB);
      }
    })();
    const err = await rejectsWith(s.put('abort/running', body, { signal: ac.signal }), 'Aborted');
    assert.equal((err.cause as Error).message, 'test abort');
    await rejectsWith(s.get('abort/running'), 'NotFound');
    assert.deepEqual(await s.list('abort/'), []);
    assert.deepEqual(await subject.leftovers(s, 'abort/'), []);
  });

  it('an abort while the body is stalled rejects promptly and leaves nothing', async () => {
    const s = await subject.fresh();
    const ac = new AbortController();
    // more than one part's worth, then a body that never yields again
    const body = bodyThen(12 * MiB, () => {
      setTimeout(() => ac.abort(), 300);
      return new Promise<never>(() => {});
    });
    const started = Date.now();
    await rejectsWith(s.put('abort/stalled', body, { signal: ac.signal }), 'Aborted');
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    await rejectsWith(s.get('abort/stalled'), 'NotFound');
    assert.deepEqual(await subject.leftovers(s, 'abort/'), []);
  });

  it('a signal aborted before the put rejects at once', async () => {
    const s = await subject.fresh();
    await rejectsWith(s.put('abort/before', Buffer.from('x'), { signal: AbortSignal.abort() }), 'Aborted');
    await rejectsWith(s.get('abort/before'), 'NotFound');
  });

  it('a body that fails half-way rejects with its own error; the object it was to replace stays', async () => {
    const s = await subject.fresh();
    await s.put('fail/obj', Buffer.from('old'));
    for (const before of [MiB, 12 * MiB]) {
      const boom = new Error(`source broke after ${before}`);
      await assert.rejects(
        s.put('fail/obj', bodyThen(before, () => Promise.reject(boom))),
        (e) => e === boom,
      );
      assert.equal((await s.get('fail/obj')).toString(), 'old');
    }
    assert.deepEqual((await s.list('fail/')).map((o) => o.name), ['fail/obj']);
    assert.deepEqual(await subject.leftovers(s, 'fail/'), []);
  });

  it('names and prefixes that could escape or that are reserved: InvalidConfig', async () => {
    const s = await subject.fresh();
    const bad = ['', '/abs', '../up', 'a/../../up', 'a/./b', 'a//b', 'trailing/', '.', '..', '.tmp-x', 'a/.tmp-y', 'nul\0', 'x'.repeat(256)];
    for (const n of bad) {
      await rejectsWith(s.put(n, Buffer.from('x')), 'InvalidConfig');
      await rejectsWith(s.get(n), 'InvalidConfig');
      await rejectsWith(s.getStream(n), 'InvalidConfig');
      await rejectsWith(s.delete(n), 'InvalidConfig');
    }
    for (const p of ['/', '/abs', '../', 'a/../', '.tmp-', 'a/.tmp-', 'a/.', 'a/..', '..']) {
      await rejectsWith(s.list(p), 'InvalidConfig');
      await rejectsWith(s.cleanup(p, 0), 'InvalidConfig');
    }
    // what is allowed: dots inside names, a partial last segment as a prefix
    await s.put('ok/.hidden..name', Buffer.from('y'));
    assert.deepEqual((await s.list('ok/.h')).map((o) => o.name), ['ok/.hidden..name']);
    assert.deepEqual((await s.list('ok/.hidden..')).map((o) => o.name), ['ok/.hidden..name']);
  });

  it('a missing bucket or folder: NoSuchBucket from check, list, put, get and cleanup', async () => {
    const s = await subject.missing();
    await rejectsWith(s.check(), 'NoSuchBucket');
    await rejectsWith(s.list(''), 'NoSuchBucket');
    await rejectsWith(s.put('a/b', Buffer.from('x')), 'NoSuchBucket');
    await rejectsWith(s.put('big', randomStream(12 * MiB).body), 'NoSuchBucket');
    await rejectsWith(s.get('a/b'), 'NoSuchBucket');
    await rejectsWith(s.cleanup('', 0), 'NoSuchBucket');
  });

  it('cleanup removes what an interrupted put left once it is older than olderThanMs, and nothing else', async () => {
    const s = await subject.fresh();
    assert.equal(await s.cleanup('', 0), 0);
    await s.put('left/keep', Buffer.from('kept'));
    await subject.leaveLeftover(s, 'left/crashed');
    await subject.leaveLeftover(s, 'other/crashed');
    assert.equal((await subject.leftovers(s, 'left/')).length, 1);
    // unfinished puts are never objects
    assert.deepEqual((await s.list('')).map((o) => o.name), ['left/keep']);
    assert.equal(await s.cleanup('left/', 3_600_000), 0, 'too young to remove');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await s.cleanup('left/', 0), 1);
    assert.deepEqual(await subject.leftovers(s, 'left/'), []);
    assert.equal((await subject.leftovers(s, 'other/')).length, 1, 'outside the prefix: stays');
    assert.equal((await s.get('left/keep')).toString(), 'kept');
    assert.equal(await s.cleanup('', 0), 1);
    assert.deepEqual(await subject.leftovers(s, ''), []);
  });
}
