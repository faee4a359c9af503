// etcd's buckets → etcd-node's backend buckets (the reverse of export.ts; layouts in layout.ts). Pure:
// reads through the `EtcdBucketSource` it is given (e.g. a BboltReader over an etcd snapshot) and
// returns each etcd-node bucket's entries in key order, for a restore to write. The large buckets (key,
// lease, users, roles) stay lazy; the small ones are gathered and sorted here.
//
// What does not carry over, and is reported instead of guessed at:
// - passwords: etcd stores bcrypt hashes, etcd-node verifies only its own scrypt form, so a user with
//   an etcd password keeps the hash (nothing is lost, and a later export gives it back to etcd) but
//   cannot log in to etcd-node until the password is changed (`foreignPasswordUsers`);
// - confState, storageVersion, clusterVersion: etcd-node derives its configuration from its members
//   and has no schema version; they are reported for the restore to check, not stored;
// - keys or buckets this layout does not know (`ignored`).

import { User } from '../../gen/authpb/auth.js';
import { AlarmMember } from '../../gen/etcdserverpb/rpc.js';
import { MemberRecord } from '../../gen/etcdtspb/internal.js';
import type { Entry } from '../bbolt/writer.js';
import type { BucketName } from '../backend/backend.js';
import {
  CLUSTER_VERSION_KEY,
  ETCD_BUCKETS,
  EtcdAuthKey,
  EtcdBucket,
  MetaKey,
  NodeKey,
  compareBytes,
  decodeConfState,
  decodeEtcdMember,
  parseMemberIdKey,
} from './layout.js';

/** Reads an etcd database: a bucket's entries in key order, or undefined when there is no such bucket. */
export interface EtcdBucketSource {
  bucketNames(): Iterable<string>;
  entries(bucket: string): Iterable<readonly [Uint8Array, Uint8Array]> | undefined;
}

export interface ImportReport {
  /** meta/consistent_index and meta/term (term is 0 in an etcd 3.4 snapshot, which has none) */
  consistentIndex: bigint;
  term: bigint;
  clusterVersion: string | undefined;
  storageVersion: string | undefined;
  confState: { voters: bigint[]; learners: bigint[] } | undefined;
  /** members found (id, name, learner) */
  members: Array<{ id: bigint; name: string; isLearner: boolean }>;
  /** users whose stored password etcd-node cannot verify (an etcd bcrypt hash); filled as authUsers is read */
  foreignPasswordUsers: string[];
  /** what has no counterpart in etcd-node and is left out */
  ignored: string[];
}

export interface ImportPlan {
  /** etcd-node's buckets, each with its entries in key order */
  readonly buckets: Array<{ readonly name: BucketName; readonly entries: Iterable<Entry> }>;
  /** complete once every bucket's entries have been read (users are checked as they pass) */
  readonly report: ImportReport;
}

const KNOWN_META = new Set<string>(Object.values(MetaKey));
const COPIED_META = new Set<string>([MetaKey.consistentIndex, MetaKey.term, MetaKey.finishedCompactRev, MetaKey.scheduledCompactRev]);
const SCRYPT_PREFIX = 'scrypt$';

function u64(v: Uint8Array | undefined): bigint {
  return v && v.length === 8 ? Buffer.from(v).readBigUInt64BE(0) : 0n;
}

function lazy(fn: () => Generator<Entry>): Iterable<Entry> {
  return { [Symbol.iterator]: fn };
}

export function importEtcdBuckets(src: EtcdBucketSource): ImportPlan {
  const report: ImportReport = {
    consistentIndex: 0n,
    term: 0n,
    clusterVersion: undefined,
    storageVersion: undefined,
    confState: undefined,
    members: [],
    foreignPasswordUsers: [],
    ignored: [],
  };
  const known = new Set<string>(ETCD_BUCKETS);
  for (const name of src.bucketNames()) if (!known.has(name)) report.ignored.push(`bucket ${JSON.stringify(name)}`);
  const entries = (b: string): Iterable<readonly [Uint8Array, Uint8Array]> => src.entries(b) ?? [];

  // meta: the shared keys as they are, plus the alarms (which etcd-node keeps in meta)
  const meta: Entry[] = [];
  for (const [k, v] of entries(EtcdBucket.meta)) {
    const key = Buffer.from(k).toString('latin1');
    if (COPIED_META.has(key)) meta.push([Buffer.from(k), Buffer.from(v)]);
    if (key === MetaKey.consistentIndex) report.consistentIndex = u64(v);
    else if (key === MetaKey.term) report.term = u64(v);
    else if (key === MetaKey.storageVersion) report.storageVersion = Buffer.from(v).toString();
    else if (key === MetaKey.confState) report.confState = decodeConfState(v);
    else if (!KNOWN_META.has(key)) report.ignored.push(`meta key ${JSON.stringify(key)}`);
  }
  for (const [k] of entries(EtcdBucket.alarm)) {
    let a: AlarmMember;
    try {
      a = AlarmMember.decode(k);
    } catch {
      report.ignored.push(`alarm key 0x${Buffer.from(k).toString('hex')} (not an AlarmMember)`);
      continue;
    }
    const key = Buffer.alloc(NodeKey.alarmPrefix.length + 9);
    key.write(NodeKey.alarmPrefix);
    key.writeBigUInt64BE(BigInt.asUintN(64, a.memberID), NodeKey.alarmPrefix.length);
    key[NodeKey.alarmPrefix.length + 8] = a.alarm;
    meta.push([key, Buffer.from([1])]);
  }
  for (const [k, v] of entries(EtcdBucket.cluster)) {
    if (Buffer.from(k).toString('latin1') === CLUSTER_VERSION_KEY) report.clusterVersion = Buffer.from(v).toString();
    else report.ignored.push(`cluster key ${JSON.stringify(Buffer.from(k).toString('latin1'))}`);
  }

  // members: hex id → 8-byte id, JSON → MemberRecord; removed ones → 'r' + id
  const members: Entry[] = [];
  for (const [k, v] of entries(EtcdBucket.members)) {
    const id = parseMemberIdKey(k);
    const m = id === undefined ? undefined : decodeEtcdMember(id, v);
    if (id === undefined || !m) {
      report.ignored.push(`members key ${JSON.stringify(Buffer.from(k).toString('latin1'))} (not a member)`);
      continue;
    }
    const key = Buffer.alloc(8);
    key.writeBigUInt64BE(id);
    const rec: MemberRecord = { id, name: m.name, peerUrls: [...m.peerURLs], clientUrls: [...m.clientURLs], isLearner: m.isLearner };
    members.push([key, Buffer.from(MemberRecord.encode(rec).finish())]);
    report.members.push({ id, name: m.name, isLearner: m.isLearner });
  }
  for (const [k] of entries(EtcdBucket.membersRemoved)) {
    const id = parseMemberIdKey(k);
    if (id === undefined) {
      report.ignored.push(`members_removed key ${JSON.stringify(Buffer.from(k).toString('latin1'))}`);
      continue;
    }
    const key = Buffer.alloc(9);
    key[0] = NodeKey.removedMemberMark;
    key.writeBigUInt64BE(id, 1);
    members.push([key, Buffer.alloc(0)]);
  }

  // auth: settings, then role/…, then user/… (the byte order of etcd-node's keys)
  const settings: Entry[] = [];
  for (const [k, v] of entries(EtcdBucket.auth)) {
    const key = Buffer.from(k).toString('latin1');
    if (key === EtcdAuthKey.enabled) settings.push([Buffer.from(NodeKey.authEnabled), Buffer.from([v[0] === 1 ? 1 : 0])]);
    else if (key === EtcdAuthKey.revision) settings.push([Buffer.from(NodeKey.authRevision), Buffer.from(v)]);
    else report.ignored.push(`auth key ${JSON.stringify(key)}`);
  }
  function* auth(): Generator<Entry> {
    yield* settings.sort((a, b) => compareBytes(a[0], b[0]));
    for (const [k, v] of entries(EtcdBucket.authRoles)) yield [Buffer.concat([Buffer.from(NodeKey.rolePrefix), k]), v];
    for (const [k, v] of entries(EtcdBucket.authUsers)) {
      const password = Buffer.from(User.decode(v).password).toString('latin1');
      if (password !== '' && !password.startsWith(SCRYPT_PREFIX)) report.foreignPasswordUsers.push(Buffer.from(k).toString());
      yield [Buffer.concat([Buffer.from(NodeKey.userPrefix), k]), v];
    }
  }
  function* passThrough(bucket: string): Generator<Entry> {
    for (const [k, v] of entries(bucket)) yield [k, v];
  }

  const bySortedKey = (a: Entry, b: Entry): number => compareBytes(a[0], b[0]);
  return {
    buckets: [
      { name: 'auth', entries: lazy(auth) },
      { name: 'key', entries: lazy(() => passThrough(EtcdBucket.key)) },
      { name: 'lease', entries: lazy(() => passThrough(EtcdBucket.lease)) },
      { name: 'members', entries: members.sort(bySortedKey) },
      { name: 'meta', entries: meta.sort(bySortedKey) },
    ],
    report,
  };
}
