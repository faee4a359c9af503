// Keys and prebuilt requests. Everything a request loop sends is built before the clock starts, so the
// generator spends its share of the 2 cores on sending, not on building buffers.
import type { PutRequest, RangeRequest, TxnRequest } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import type { KeyShape } from './cases.js';

/** The key range cases read: one key, as `benchmark range <key>` reads. */
export const RANGE_KEY = 'bench-rk';

/** Key number `n` as `size` bytes: the number big-endian in the last bytes, zeros before (any size ≥ 1). */
export function keyBytes(n: number, size: number): Buffer {
  const k = Buffer.alloc(size);
  const width = Math.min(6, size);
  k.writeUIntBE(n % 2 ** (8 * width), size - width, width);
  return k;
}

export function putRequest(key: Buffer, value: Buffer): PutRequest {
  return { key, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
}

export function rangeRequest(key: Buffer, serializable: boolean): RangeRequest {
  return {
    key, rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable,
    keysOnly: false, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
  };
}

/** A txn with no compare whose success branch is one put (what `benchmark txn-put` sends). */
export const txnPutRequest = (put: PutRequest): TxnRequest => ({ compare: [], success: [{ requestPut: put }], failure: [] });

/** One prebuilt put per key of the key space; every put shares the same value buffer. */
export function putRequests(shape: KeyShape): PutRequest[] {
  const value = Buffer.alloc(shape.valueSize, 'v');
  return Array.from({ length: shape.keySpace }, (_, n) => putRequest(keyBytes(n, shape.keySize), value));
}

/**
 * The key index of request `i`: sequential, or uniformly random (xorshift32: cheap, and seeded so two
 * servers get the same sequence of keys).
 */
export function keyPicker(shape: KeyShape): (i: number) => number {
  if (shape.sequential) return (i) => i % shape.keySpace;
  let x = 2463534242;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % shape.keySpace;
  };
}
