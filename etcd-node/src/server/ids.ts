// Member and cluster ids, derived deterministically the way etcd derives them, so the same flags give the
// same ids on every member: a member id is the first 8 bytes (big-endian) of sha1(sorted peer URLs joined,
// then the cluster token); the cluster id hashes the sorted member ids the same way.
import { createHash } from 'node:crypto';

export function memberId(peerUrls: readonly string[], clusterToken: string): bigint {
  const h = createHash('sha1');
  h.update([...peerUrls].sort().join(''));
  h.update(clusterToken);
  return h.digest().readBigUInt64BE(0);
}

export function clusterId(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => b.writeBigUInt64BE(id, i * 8));
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

export function idToHex(id: bigint): string {
  return id.toString(16);
}
