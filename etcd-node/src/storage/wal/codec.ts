// Record payloads: the raft layer's types (numbers for index and term) to and from the etcdtspb protobuf
// messages (uint64 as bigint). Decoders throw a plain Error describing what is wrong; the WAL turns it
// into a WalCorruptError naming the file and offset.

import * as pb from '../../gen/etcdtspb/internal.js';
import { encodeEntryFields } from '../../util/fast-encode.js';
import { EntryType, type ConfState, type Entry, type HardState, type SnapshotMeta } from '../../raft/types.js';

export interface WalIdentityFields {
  readonly memberId: bigint;
  readonly clusterId: bigint;
}

function toNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} ${v} is out of range`);
  return Number(v);
}

function assertIndex(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`wal: ${what} ${n} is not a non-negative integer`);
}

function checkIndex(n: number, what: string): bigint {
  assertIndex(n, what);
  return BigInt(n);
}

export function encodeEntry(e: Entry): Uint8Array {
  assertIndex(e.term, 'entry term');
  assertIndex(e.index, 'entry index');
  const type = e.type === EntryType.ConfChange ? pb.EntryType.ENTRY_CONF_CHANGE : pb.EntryType.ENTRY_NORMAL;
  return encodeEntryFields(e.term, e.index, type, e.data);
}

export function decodeEntry(payload: Uint8Array): Entry {
  const m = pb.Entry.decode(payload);
  let type: EntryType;
  if (m.type === pb.EntryType.ENTRY_NORMAL) type = EntryType.Normal;
  else if (m.type === pb.EntryType.ENTRY_CONF_CHANGE) type = EntryType.ConfChange;
  else throw new Error(`unknown entry type ${m.type}`);
  return { term: toNumber(m.term, 'term'), index: toNumber(m.index, 'index'), type, data: m.data };
}

export function encodeHardState(h: HardState): Uint8Array {
  return pb.HardState.encode({
    term: checkIndex(h.term, 'hardstate term'),
    vote: h.vote,
    commit: checkIndex(h.commit, 'hardstate commit'),
  }).finish();
}

export function decodeHardState(payload: Uint8Array): HardState {
  const m = pb.HardState.decode(payload);
  return { term: toNumber(m.term, 'term'), vote: m.vote, commit: toNumber(m.commit, 'commit') };
}

export function encodeMetadata(id: WalIdentityFields): Uint8Array {
  return pb.WalMetadata.encode({ memberId: id.memberId, clusterId: id.clusterId }).finish();
}

export function decodeMetadata(payload: Uint8Array): WalIdentityFields {
  const m = pb.WalMetadata.decode(payload);
  return { memberId: m.memberId, clusterId: m.clusterId };
}

export function encodeSnapshot(s: SnapshotMeta): Uint8Array {
  return pb.WalSnapshot.encode({
    index: checkIndex(s.index, 'snapshot index'),
    term: checkIndex(s.term, 'snapshot term'),
    confState: { voters: [...s.confState.voters], learners: [...s.confState.learners] },
  }).finish();
}

export function decodeSnapshot(payload: Uint8Array): SnapshotMeta {
  const m = pb.WalSnapshot.decode(payload);
  const confState: ConfState = { voters: m.confState?.voters ?? [], learners: m.confState?.learners ?? [] };
  return { index: toNumber(m.index, 'index'), term: toNumber(m.term, 'term'), confState };
}
