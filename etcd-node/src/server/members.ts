// Cluster membership as stored in the backend's members database (one record per member, keyed by id).
import { MemberRecord } from '../gen/etcdtspb/internal.js';
import type { Member } from '../gen/etcdserverpb/rpc.js';
import type { Backend } from '../storage/backend/backend.js';

function idKey(id: bigint): Buffer {
  const k = Buffer.alloc(8);
  k.writeBigUInt64BE(id);
  return k;
}

/** Removed members are remembered (under a 9-byte key: 'r' + id) so that they can be told so. */
function removedKey(id: bigint): Buffer {
  const k = Buffer.alloc(9);
  k.write('r', 0);
  k.writeBigUInt64BE(id, 1);
  return k;
}

/** etcd prints URLs without a trailing slash ("http://127.0.0.1:2380"); Node's URL#toString adds one. */
export function urlString(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

export class MemberStore {
  constructor(private readonly backend: Backend) {}

  /** Inside a backend batch. */
  put(m: MemberRecord): void {
    this.backend.members.putSync(idKey(m.id), Buffer.from(MemberRecord.encode(m).finish()));
  }

  list(): MemberRecord[] {
    const out: MemberRecord[] = [];
    for (const { key, value } of this.backend.members.getRange({})) if (key.length === 8) out.push(MemberRecord.decode(value));
    return out;
  }

  /** Inside a backend batch: the member leaves the cluster for good. */
  remove(id: bigint): void {
    this.backend.members.removeSync(idKey(id));
    this.backend.members.putSync(removedKey(id), Buffer.alloc(0));
  }

  isRemoved(id: bigint): boolean {
    return this.backend.members.get(removedKey(id)) !== undefined;
  }

  get(id: bigint): MemberRecord | undefined {
    const v = this.backend.members.get(idKey(id));
    return v ? MemberRecord.decode(v) : undefined;
  }
}

export function toApiMember(m: MemberRecord): Member {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}
