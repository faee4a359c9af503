import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Entry as PbEntry, InternalRequest } from '../gen/etcdtspb/internal.js';
import { KeyValue, type Event } from '../gen/mvccpb/kv.js';
import { seededRandom } from '../raft/sim-member.js';
import { PutResponse, RangeResponse, WatchResponse, type ResponseHeader } from '../gen/etcdserverpb/rpc.js';
import { encodeEntryFields, encodeKeyValue, encodePutProposal, encodePutResponse, encodeRangeResponse, encodeWatchResponse } from './fast-encode.js';

const rnd = seededRandom(7);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const bytes = (): Buffer => Buffer.from(Array.from({ length: pick([0, 1, 8, 127, 128, 300, 20000]) }, () => Math.floor(rnd() * 256)));
// edges of every varint length, of 2^32 and 2^53
const NUMBERS = [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49, 2 ** 53 - 3];
const U64 = [0n, 1n, 127n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 35n - 1n, 2n ** 35n, 2n ** 53n, 2n ** 56n - 1n, 2n ** 56n, 2n ** 63n, 2n ** 64n - 1n, 0x1234_5678_9abc_def0n];
const num = (): number => pick(NUMBERS) + (rnd() < 0.5 ? 0 : Math.floor(rnd() * 3));
const big = (): bigint => pick([...U64, BigInt(num())]);

test('encodeKeyValue writes the bytes the generated encoder writes (and falls back for negative int64)', () => {
  for (let i = 0; i < 3000; i++) {
    const kv: KeyValue = {
      key: bytes(), value: bytes(),
      createRevision: BigInt(num()), modRevision: BigInt(num()), version: BigInt(num()),
      lease: pick([0n, 1n, BigInt(num()), -1n, 2n ** 62n]),
    };
    assert.deepEqual(encodeKeyValue(kv), Buffer.from(KeyValue.encode(kv).finish()), JSON.stringify({ ...kv, key: kv.key.length, value: kv.value.length }, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  }
});

test('encodeEntryFields writes the bytes of the generated Entry encoder', () => {
  for (let i = 0; i < 3000; i++) {
    const term = num();
    const index = num();
    const type = pick([0, 1]);
    const data = bytes();
    const want = PbEntry.encode({ term: BigInt(term), index: BigInt(index), type, data }).finish();
    assert.deepEqual(encodeEntryFields(term, index, type, data), Buffer.from(want));
  }
});

test('encodePutProposal writes the bytes of the generated InternalRequest encoder; off the fast path it declines', () => {
  for (let i = 0; i < 3000; i++) {
    const id = big();
    const put = { key: bytes(), value: bytes(), lease: BigInt(num()), prevKv: rnd() < 0.3, ignoreValue: rnd() < 0.3, ignoreLease: rnd() < 0.3 };
    const want = InternalRequest.encode({ id, put, authHeader: undefined }).finish();
    const got = encodePutProposal(id, put, undefined);
    assert.ok(got);
    assert.deepEqual(got, Buffer.from(want), `id ${id}`);
    assert.deepEqual(InternalRequest.decode(got).put, put);
  }
  const put = { key: Buffer.from('k'), value: Buffer.from('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
  assert.equal(encodePutProposal(1n, put, { username: 'u', revision: 2n }), undefined);
  assert.equal(encodePutProposal(1n, { ...put, lease: -5n }, undefined), undefined);
});

const header = (): ResponseHeader => ({ clusterId: big(), memberId: big(), revision: BigInt(num()), raftTerm: big() });
const kv = (): KeyValue => ({ key: bytes(), value: bytes(), createRevision: BigInt(num()), modRevision: BigInt(num()), version: BigInt(num()), lease: pick([0n, BigInt(num()), -3n]) });

test('encodePutResponse and encodeRangeResponse write the bytes of the generated encoders', () => {
  for (let i = 0; i < 2000; i++) {
    const put: PutResponse = { header: rnd() < 0.9 ? header() : undefined, prevKv: rnd() < 0.5 ? kv() : undefined };
    assert.deepEqual(encodePutResponse(put), Buffer.from(PutResponse.encode(put).finish()));
    const range: RangeResponse = {
      header: rnd() < 0.9 ? header() : undefined,
      kvs: Array.from({ length: pick([0, 1, 3, 40]) }, kv),
      more: rnd() < 0.5,
      count: pick([0n, BigInt(num()), -1n]),
    };
    assert.deepEqual(encodeRangeResponse(range), Buffer.from(RangeResponse.encode(range).finish()));
  }
});

test('encodeWatchResponse writes the bytes of the generated encoder, with events shared between responses', () => {
  const shared: Event[] = Array.from({ length: 20 }, () => ({ type: pick([0, 1]), kv: rnd() < 0.9 ? kv() : undefined, prevKv: rnd() < 0.5 ? kv() : undefined }));
  for (let i = 0; i < 2000; i++) {
    const r: WatchResponse = {
      header: rnd() < 0.9 ? header() : undefined,
      watchId: pick([0n, 1n, 300n, -1n, BigInt(num())]),
      created: rnd() < 0.2,
      canceled: rnd() < 0.2,
      compactRevision: pick([0n, 5n, BigInt(num())]),
      cancelReason: pick(['', '', 'etcdserver: mvcc: required revision has been compacted']),
      fragment: rnd() < 0.1,
      events: Array.from({ length: pick([0, 1, 2, 5]) }, () => pick(shared)),
    };
    // twice: the second time the events come from the cache
    assert.deepEqual(encodeWatchResponse(r), Buffer.from(WatchResponse.encode(r).finish()));
    assert.deepEqual(encodeWatchResponse(r), Buffer.from(WatchResponse.encode(r).finish()));
  }
});
