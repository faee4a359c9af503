// etcd-node's backend buckets → etcd's buckets (see layout.ts for both layouts). Pure: it reads through
// the `NodeBucketSource` it is given and returns the buckets for the bbolt writer. The large buckets
// (key, lease, users, roles) stay lazy iterables read in key order while the writer writes them, so
// memory does not grow with the database; the small ones (meta, members, alarms) are gathered and
// sorted here, since their keys change form and with it their order.

import { User } from '../../gen/authpb/auth.js';
import { AlarmMember } from '../../gen/etcdserverpb/rpc.js';
import { MemberRecord } from '../../gen/etcdtspb/internal.js';
import type { BucketInput, Entry } from '../bbolt/writer.js';
import type { BucketName } from '../backend/backend.js';
import {
  CLUSTER_VERSION_KEY,
  EtcdAuthKey,
  EtcdBucket,
  MetaKey,
  NodeKey,
  REMOVED_VALUE,
  compareBytes,
  encodeConfState,
  encodeEtcdMember,
  memberIdKey,
} from './layout.js';

/** Reads etcd-node's backend: a bucket's entries in key order, within [start, end) when given. */
export interface NodeBucketSource {
  entries(bucket: BucketName, range?: { start?: Buffer; end?: Buffer }): Iterable<readonly [Uint8Array, Uint8Array]>;
}

export interface ExportOptions {
  /** written to cluster/clusterVersion, e.g. "3.6.0" */
  readonly clusterVersion: string;
  /** written to meta/storageVersion (etcd 3.6's schema version), e.g. "3.6.0"; undefined: left out */
  readonly storageVersion?: string;
}

export interface ExportPlan {
  /** every etcd bucket, in byte order of the names */
  readonly buckets: BucketInput[];
  /** what could not be carried as it is (for the log); the counts of users are known only once written */
  readonly notes: string[];
  /** how many users have an etcd-node (scrypt) password hash; counted as the users are written */
  readonly scryptUsers: () => number;
}

/** The keys of meta that mean the same in both layouts and are copied as they are. */
const SHARED_META_KEYS = new Set<string>([MetaKey.consistentIndex, MetaKey.term, MetaKey.finishedCompactRev, MetaKey.scheduledCompactRev]);

const SCRYPT_PREFIX = Buffer.from('scrypt$');

function sorted(entries: Entry[]): Entry[] {
  return entries.sort((a, b) => compareBytes(a[0], b[0]));
}

/** The entries of an etcd-node bucket under `prefix`, with the prefix cut off their keys. */
function* underPrefix(src: NodeBucketSource, bucket: BucketName, prefix: string, onEach?: (key: Buffer, value: Uint8Array) => void): Generator<Entry> {
  const p = Buffer.from(prefix);
  const end = Buffer.from(p);
  end[end.length - 1] = end[end.length - 1]! + 1;
  for (const [k, v] of src.entries(bucket, { start: p, end })) {
    const key = Buffer.from(k).subarray(p.length);
    if (key.length === 0) continue; // bbolt keys cannot be empty (and etcd names cannot be either)
    onEach?.(key, v);
    yield [key, v];
  }
}

/** A lazy view of a whole etcd-node bucket, entries passed on unchanged. */
function* whole(src: NodeBucketSource, bucket: BucketName): Generator<Entry> {
  for (const [k, v] of src.entries(bucket)) yield [k, v];
}

export function exportEtcdBuckets(src: NodeBucketSource, opts: ExportOptions): ExportPlan {
  const notes: string[] = [];

  // meta: the shared keys as they are, alarms to their own bucket, confState from the members
  const meta: Entry[] = [];
  const alarms: Entry[] = [];
  const alarmPrefix = Buffer.from(NodeKey.alarmPrefix);
  for (const [k, v] of src.entries('meta')) {
    const key = Buffer.from(k);
    if (key.length === alarmPrefix.length + 9 && key.subarray(0, alarmPrefix.length).equals(alarmPrefix)) {
      const memberID = key.readBigUInt64BE(alarmPrefix.length);
      const alarm = key[alarmPrefix.length + 8]!;
      alarms.push([Buffer.from(AlarmMember.encode({ memberID, alarm }).finish()), Buffer.alloc(0)]);
    } else if (SHARED_META_KEYS.has(key.toString('latin1'))) {
      meta.push([key, Buffer.from(v)]);
    } else {
      notes.push(`meta key ${JSON.stringify(key.toString('latin1'))} has no counterpart in etcd and is left out`);
    }
  }

  // members: 8-byte id → hex id, protobuf → etcd's JSON; removed ones 'r' + id → hex id: "removed"
  const members: Entry[] = [];
  const removed: Entry[] = [];
  const voters: bigint[] = [];
  const learners: bigint[] = [];
  for (const [k, v] of src.entries('members')) {
    if (k.length === 8) {
      const m = MemberRecord.decode(v);
      members.push([memberIdKey(m.id), encodeEtcdMember({ id: m.id, peerURLs: m.peerUrls, isLearner: m.isLearner, name: m.name, clientURLs: m.clientUrls })]);
      (m.isLearner ? learners : voters).push(m.id);
    } else if (k.length === 9 && k[0] === NodeKey.removedMemberMark) {
      removed.push([memberIdKey(Buffer.from(k).readBigUInt64BE(1)), Buffer.from(REMOVED_VALUE)]);
    } else {
      notes.push(`members key 0x${Buffer.from(k).toString('hex')} is not a member and is left out`);
    }
  }
  meta.push([Buffer.from(MetaKey.confState), encodeConfState(voters, learners)]);
  if (opts.storageVersion !== undefined) meta.push([Buffer.from(MetaKey.storageVersion), Buffer.from(opts.storageVersion)]);

  // auth: the two settings under etcd's names; users and roles in their own buckets
  const auth: Entry[] = [];
  const enabled = first(src, 'auth', NodeKey.authEnabled);
  if (enabled !== undefined) auth.push([Buffer.from(EtcdAuthKey.enabled), Buffer.from([enabled[0] === 1 ? 1 : 0])]);
  const revision = first(src, 'auth', NodeKey.authRevision);
  if (revision !== undefined) auth.push([Buffer.from(EtcdAuthKey.revision), revision]);
  let scrypt = 0;
  const countScrypt = (_k: Buffer, v: Uint8Array): void => {
    if (Buffer.from(User.decode(v).password).subarray(0, SCRYPT_PREFIX.length).equals(SCRYPT_PREFIX)) scrypt++;
  };

  const buckets: BucketInput[] = [
    { name: EtcdBucket.alarm, entries: sorted(alarms) },
    { name: EtcdBucket.auth, entries: sorted(auth) },
    { name: EtcdBucket.authRoles, entries: { [Symbol.iterator]: () => underPrefix(src, 'auth', NodeKey.rolePrefix) } },
    { name: EtcdBucket.authUsers, entries: { [Symbol.iterator]: () => underPrefix(src, 'auth', NodeKey.userPrefix, countScrypt) } },
    { name: EtcdBucket.cluster, entries: [[Buffer.from(CLUSTER_VERSION_KEY), Buffer.from(opts.clusterVersion)]] },
    { name: EtcdBucket.key, entries: { [Symbol.iterator]: () => whole(src, 'key') } },
    { name: EtcdBucket.lease, entries: { [Symbol.iterator]: () => whole(src, 'lease') } },
    { name: EtcdBucket.members, entries: sorted(members) },
    { name: EtcdBucket.membersRemoved, entries: sorted(removed) },
    { name: EtcdBucket.meta, entries: sorted(meta) },
  ];
  return { buckets, notes, scryptUsers: () => scrypt };
}

function first(src: NodeBucketSource, bucket: BucketName, key: string): Buffer | undefined {
  const k = Buffer.from(key);
  for (const [kk, v] of src.entries(bucket, { start: k })) return Buffer.from(kk).equals(k) ? Buffer.from(v) : undefined;
  return undefined;
}
