// Single-step membership changes: one member added, removed or promoted per change, so any two
// successive configurations share a majority (the Raft dissertation §4.1). A ConfChange travels inside an
// entry of type ConfChange, encoded by encodeConfChange; it takes effect on a member when the server
// applies that entry and calls RawNode.applyConfChange.
import type { ConfState } from './types.js';
import { MalformedError, Reader, Writer } from './wire.js';

export enum ConfChangeType {
  /** add a voter; on a learner, promotes it */
  AddNode = 0,
  RemoveNode = 1,
  AddLearnerNode = 2,
  /** a learner becomes a voter (the same as AddNode on a learner, named for MemberPromote) */
  PromoteLearner = 3,
}

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: bigint;
  /** opaque to Raft: the server's member record (name, peer URLs) */
  readonly context: Uint8Array;
}

const confChangeFormat = 1;
const confChangeTypes: readonly ConfChangeType[] = [ConfChangeType.AddNode, ConfChangeType.RemoveNode, ConfChangeType.AddLearnerNode, ConfChangeType.PromoteLearner];

/** version(1) type(1) nodeId(8, big-endian) context(varint length + bytes) */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return new Writer().u8(confChangeFormat).u8(cc.type).u64(cc.nodeId).bytes(cc.context).finish();
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const r = new Reader(data, 'conf change');
  const version = r.u8();
  if (version !== confChangeFormat) throw new MalformedError(`raft: malformed conf change: unknown format ${version}`);
  const code = r.u8();
  const type = confChangeTypes[code];
  if (type === undefined) throw new MalformedError(`raft: malformed conf change: unknown type ${code}`);
  const nodeId = r.u64();
  const context = r.bytes();
  r.end();
  return { type, nodeId, context };
}

/**
 * The configuration after `cc`, or the same one when the change does nothing or is not allowed: adding an
 * existing voter, removing an unknown member, promoting a non-learner, making a voter a learner (demotion
 * is not supported) and removing the last voter are no-ops, so every member that applies the same entry
 * reaches the same configuration.
 * Invariant of the result: voters ∩ learners = ∅; voters is never emptied by a change.
 */
export function changeConfig(cs: ConfState, cc: ConfChange): ConfState {
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  const id = cc.nodeId;
  if (id === 0n) return cs;
  switch (cc.type) {
    case ConfChangeType.AddNode:
    case ConfChangeType.PromoteLearner:
      if (voters.has(id)) return cs;
      if (cc.type === ConfChangeType.PromoteLearner && !learners.has(id)) return cs;
      learners.delete(id);
      voters.add(id);
      break;
    case ConfChangeType.AddLearnerNode:
      if (voters.has(id) || learners.has(id)) return cs;
      learners.add(id);
      break;
    case ConfChangeType.RemoveNode:
      if (voters.has(id)) {
        if (voters.size === 1) return cs;
        voters.delete(id);
      } else if (!learners.delete(id)) {
        return cs;
      }
      break;
  }
  return { voters: sortIds(voters), learners: sortIds(learners) };
}

export function sortIds(ids: Iterable<bigint>): bigint[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function confStatesEqual(a: ConfState, b: ConfState): boolean {
  const same = (x: readonly bigint[], y: readonly bigint[]): boolean => {
    const sx = sortIds(x);
    const sy = sortIds(y);
    return sx.length === sy.length && sx.every((v, i) => v === sy[i]);
  };
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}
