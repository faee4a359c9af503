// etcd's backend layout (its bbolt buckets and the keys and values in them), as read from snapshots of
// real etcd 3.4, 3.5 and 3.6 servers (see storage/bbolt/testdata), and the parts of etcd-node's own
// backend layout (lmdb databases, see storage/backend) that differ from it. Shared by the export
// (etcd-node → etcd) and the import (etcd → etcd-node).
//
//   bucket          key                                   value
//   key             revision: main u64 BE ‖ '_' ‖ sub u64 BE [‖ 't' for a tombstone]
//                                                         mvccpb.KeyValue              (as etcd-node's)
//   meta            consistent_index, term                u64 BE                       (as etcd-node's; 3.4 has no term)
//                   finishedCompactRev, scheduledCompactRev  a revision key (17 bytes)  (as etcd-node's)
//                   confState (3.5+)                      JSON {"voters":[…],"learners":[…],"auto_leave":false}
//                   storageVersion (3.6)                  "3.6.0"
//   lease           lease id, int64 BE                    leasepb.Lease {ID, TTL, RemainingTTL} (as etcd-node's)
//   auth            authEnabled                           one byte, 1 or 0 (only once auth was enabled)
//                   authRevision                          u64 BE
//   authUsers       user name                             authpb.User
//   authRoles       role name                             authpb.Role
//   members         member id, lowercase hex without zero padding
//                                                         JSON {"id":…,"peerURLs":[…],"isLearner":true,"name":…,"clientURLs":[…]}
//                                                         (isLearner, name and clientURLs left out when false or empty)
//   members_removed member id, hex as above               "removed"
//   cluster         clusterVersion                        "3.6.0" (the cluster's version, major.minor.0)
//   alarm           etcdserverpb.AlarmMember {memberID, alarm}  empty
//
// etcd-node keeps meta, lease and key the same; auth users and roles under `user/<name>` and
// `role/<name>` with `enabled` and `revision` in its one `auth` database; members under the 8-byte
// big-endian id (protobuf MemberRecord) and removed ones under 'r' + id; alarms in meta under
// `alarm/` + member id (8 bytes BE) + alarm type (1 byte).

export const EtcdBucket = {
  key: 'key',
  meta: 'meta',
  lease: 'lease',
  auth: 'auth',
  authUsers: 'authUsers',
  authRoles: 'authRoles',
  members: 'members',
  membersRemoved: 'members_removed',
  cluster: 'cluster',
  alarm: 'alarm',
} as const;
export type EtcdBucketName = (typeof EtcdBucket)[keyof typeof EtcdBucket];

/** Every bucket etcd 3.5/3.6 has, in byte order (the order etcd's snapshots list them). */
export const ETCD_BUCKETS: readonly EtcdBucketName[] = Object.values(EtcdBucket).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

export const MetaKey = {
  consistentIndex: 'consistent_index',
  term: 'term',
  finishedCompactRev: 'finishedCompactRev',
  scheduledCompactRev: 'scheduledCompactRev',
  confState: 'confState',
  storageVersion: 'storageVersion',
} as const;

export const EtcdAuthKey = { enabled: 'authEnabled', revision: 'authRevision' } as const;
export const CLUSTER_VERSION_KEY = 'clusterVersion';
export const REMOVED_VALUE = 'removed';

/** etcd-node's backend keys that differ from etcd's. */
export const NodeKey = {
  authEnabled: 'enabled',
  authRevision: 'revision',
  userPrefix: 'user/',
  rolePrefix: 'role/',
  alarmPrefix: 'alarm/',
  removedMemberMark: 0x72, // 'r'
} as const;

/** A member as etcd's members bucket holds it. */
export interface EtcdMember {
  readonly id: bigint;
  readonly peerURLs: readonly string[];
  readonly isLearner: boolean;
  readonly name: string;
  readonly clientURLs: readonly string[];
}

/** etcd's text form of a member id (types.ID): lowercase hex, no padding. */
export function memberIdKey(id: bigint): Buffer {
  return Buffer.from(BigInt.asUintN(64, id).toString(16));
}

/** The id a members / members_removed key names, or undefined when it is not one. */
export function parseMemberIdKey(key: Uint8Array): bigint | undefined {
  const s = Buffer.from(key).toString('latin1');
  if (!/^[0-9a-f]{1,16}$/.test(s)) return undefined;
  return BigInt(`0x${s}`);
}

/**
 * A string as Go's encoding/json writes it: JSON.stringify's escapes, plus <, >, & and U+2028/2029
 * as \u escapes (Go escapes them for HTML safety), so the bytes are what etcd itself would write.
 */
export function goJsonString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function goJsonStrings(a: readonly string[]): string {
  return `[${a.map(goJsonString).join(',')}]`;
}

/** etcd's JSON of a member (field order and omitted empties as etcd's). The id is a u64 beyond 2^53: written from the bigint. */
export function encodeEtcdMember(m: EtcdMember): Buffer {
  let s = `{"id":${BigInt.asUintN(64, m.id)},"peerURLs":${m.peerURLs.length === 0 ? 'null' : goJsonStrings(m.peerURLs)}`;
  if (m.isLearner) s += ',"isLearner":true';
  if (m.name !== '') s += `,"name":${goJsonString(m.name)}`;
  if (m.clientURLs.length > 0) s += `,"clientURLs":${goJsonStrings(m.clientURLs)}`;
  return Buffer.from(`${s}}`);
}

/**
 * Decodes etcd's JSON of a member. The id is taken from the key (JSON.parse would round a u64 to a
 * double); `keyId` must be the key's id. Returns undefined when the value is not a member's JSON.
 */
export function decodeEtcdMember(keyId: bigint, value: Uint8Array): EtcdMember | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const strings = (x: unknown): string[] | undefined =>
    x === undefined || x === null ? [] : Array.isArray(x) && x.every((e) => typeof e === 'string') ? (x) : undefined;
  const peerURLs = strings(o['peerURLs']);
  const clientURLs = strings(o['clientURLs']);
  const name = o['name'] ?? '';
  const isLearner = o['isLearner'] ?? false;
  if (!peerURLs || !clientURLs || typeof name !== 'string' || typeof isLearner !== 'boolean') return undefined;
  return { id: keyId, peerURLs, clientURLs, name, isLearner };
}

/** etcd's JSON of raft's ConfState (as raftpb's Go struct marshals it: empty lists left out). */
export function encodeConfState(voters: readonly bigint[], learners: readonly bigint[]): Buffer {
  const list = (ids: readonly bigint[]): string => `[${[...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(',')}]`;
  const parts: string[] = [];
  if (voters.length > 0) parts.push(`"voters":${list(voters)}`);
  if (learners.length > 0) parts.push(`"learners":${list(learners)}`);
  parts.push('"auto_leave":false');
  return Buffer.from(`{${parts.join(',')}}`);
}

/** The voters and learners of etcd's confState JSON (ids read as text, exactly). */
export function decodeConfState(value: Uint8Array): { voters: bigint[]; learners: bigint[] } | undefined {
  const s = Buffer.from(value).toString('utf8');
  const ids = (field: string): bigint[] | undefined => {
    const m = new RegExp(`"${field}":\\[([0-9,\\s]*)\\]`).exec(s);
    if (!m) return s.includes(`"${field}"`) ? undefined : [];
    return m[1]!.split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => BigInt(x));
  };
  if (!s.startsWith('{')) return undefined;
  const voters = ids('voters');
  const learners = ids('learners');
  return voters && learners ? { voters, learners } : undefined;
}

export function u64be(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(n)));
  return b;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
