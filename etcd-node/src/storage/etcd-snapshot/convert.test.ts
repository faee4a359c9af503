// lmdb backend copy → bbolt file in etcd's layout, on a worker thread: the result reads back as the
// backend's data, the event loop keeps turning meanwhile, and an abort leaves no file behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { MemberRecord } from '../../gen/etcdtspb/internal.js';
import { Backend } from '../backend/backend.js';
import { checkBbolt } from '../bbolt/check.js';
import { BboltReader } from '../bbolt/reader.js';
import { tempDir } from '../bbolt/test-helpers.js';
import { convertInWorker } from './convert-in-worker.js';
import { ETCD_BUCKETS } from './layout.js';

const dir = tempDir('etcd-convert-test-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function revKey(main: number): Buffer {
  const b = Buffer.alloc(17);
  b.writeBigUInt64BE(BigInt(main));
  b[8] = 0x5f;
  return b;
}

async function makeBackend(name: string, keys: number): Promise<string> {
  const live = Backend.open(path.join(dir, `${name}.live`));
  const chunk = 5000;
  for (let from = 0; from < keys; from += chunk) {
    live.batch(() => {
      for (let i = from; i < Math.min(keys, from + chunk); i++) live.key.putSync(revKey(i + 2), Buffer.from(`value ${i} ${'v'.repeat(i % 300)}`));
    });
  }
  live.batch(() => {
    live.setConsistentIndex(42, 3);
    const id = Buffer.alloc(8);
    id.writeBigUInt64BE(0xabcdefn);
    live.members.putSync(id, Buffer.from(MemberRecord.encode({ id: 0xabcdefn, name: 'n1', peerUrls: ['http://127.0.0.1:2380'], clientUrls: ['http://127.0.0.1:2379'], isLearner: false }).finish()));
    live.auth.putSync(Buffer.from('revision'), Buffer.from('0000000000000001', 'hex'));
  });
  const copy = path.join(dir, `${name}.lmdb`);
  await live.copyTo(copy);
  await live.close();
  return copy;
}

describe('convertInWorker', () => {
  test('a backend copy becomes an etcd-layout bbolt file, read back whole', async () => {
    const lmdb = await makeBackend('a', 20_000);
    const out = path.join(dir, 'a.db');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const res = await convertInWorker(lmdb, out, { clusterVersion: '3.6.0', storageVersion: '3.6.0' });
    clearInterval(timer);
    assert.ok(ticks > 0, 'the event loop turned while the worker converted');
    assert.equal(res.size, fs.statSync(out).size);
    assert.deepEqual(res.notes, []);
    const r = BboltReader.open(out);
    try {
      assert.deepEqual(checkBbolt(r).problems, []);
      assert.deepEqual(r.bucketNames().map(String), ETCD_BUCKETS);
      const key = r.bucket('key')!;
      assert.equal(key.count(), 20_000);
      assert.deepEqual(key.get(revKey(1002)), Buffer.from(`value 1000 ${'v'.repeat(1000 % 300)}`));
      assert.deepEqual(key.lastKey(), revKey(20_001));
      assert.equal(r.bucket('meta')!.get('consistent_index')!.readBigUInt64BE(), 42n);
      assert.equal(r.bucket('meta')!.get('confState')!.toString(), `{"voters":[${0xabcdef}],"auto_leave":false}`);
      assert.equal(r.bucket('members')!.get('abcdef')!.toString(), `{"id":${0xabcdef},"peerURLs":["http://127.0.0.1:2380"],"name":"n1","clientURLs":["http://127.0.0.1:2379"]}`);
      assert.equal(r.bucket('cluster')!.get('clusterVersion')!.toString(), '3.6.0');
    } finally {
      r.close();
    }
  });

  test('an abort terminates the worker and removes the partial file', async () => {
    const lmdb = await makeBackend('b', 200_000);
    const out = path.join(dir, 'b.db');
    const ac = new AbortController();
    const p = convertInWorker(lmdb, out, { clusterVersion: '3.6.0' }, ac.signal);
    setTimeout(() => ac.abort(new Error('client went away')), 50);
    await assert.rejects(p, /client went away/);
    assert.equal(fs.existsSync(out), false);
  });

  test('a failure in the worker (here: no such output directory) comes back as an error', async () => {
    const lmdb = await makeBackend('c', 10);
    await assert.rejects(convertInWorker(lmdb, path.join(dir, 'no', 'such', 'dir', 'c.db'), { clusterVersion: '3.6.0' }), /ENOENT/);
  });
});
