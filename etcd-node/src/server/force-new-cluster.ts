// --force-new-cluster: a member's data brought up as a new one-member cluster that keeps the data, as etcd
// does it. On a restart with the flag the log is cut at the commit index (what was not committed is
// dropped), and conf-change entries are appended and marked committed: one that adds this member as a
// voter when it is not one, and one per other member that removes it. Applying them (in log order, like
// any conf change) rewrites Raft's configuration and the members database to this member alone; the
// cluster id and the keys stay.
import { ConfChangeContext, type MemberRecord } from '../gen/etcdtspb/internal.js';
import { changeConfig, ConfChangeType, decodeConfChange, encodeConfChange } from '../raft/confchange.js';
import { EntryType, type ConfState, type Entry, type HardState, type SnapshotMeta } from '../raft/types.js';

export interface ForcedLog {
  /** the entries to keep in memory: the committed ones, then the appended conf changes */
  readonly entries: Entry[];
  /** the appended conf changes (to write to the WAL) */
  readonly appended: Entry[];
  readonly hardState: HardState;
  /** the members removed */
  readonly removed: bigint[];
}

/** The configuration at the commit index: the snapshot's, then every committed conf change after it. */
export function committedConfState(snapshot: SnapshotMeta | undefined, hardState: HardState, entries: readonly Entry[]): ConfState {
  let cs: ConfState = snapshot?.confState ?? { voters: [], learners: [] };
  for (const e of entries) {
    if (e.index > hardState.commit) break;
    if (e.type === EntryType.ConfChange) cs = changeConfig(cs, decodeConfChange(e.data));
  }
  return cs;
}

export function forceNewClusterLog(
  opened: { snapshot: SnapshotMeta | undefined; hardState: HardState; entries: readonly Entry[] },
  self: bigint,
  selfRecord: MemberRecord | undefined,
): ForcedLog {
  const { snapshot, hardState } = opened;
  const committed = opened.entries.filter((e) => e.index <= hardState.commit);
  const cs = committedConfState(snapshot, hardState, committed);
  const others = [...cs.voters, ...cs.learners].filter((id) => id !== self);
  const changes: Array<{ type: ConfChangeType; id: bigint; member?: MemberRecord }> = [];
  if (!cs.voters.includes(self)) changes.push({ type: ConfChangeType.AddNode, id: self, member: selfRecord });
  for (const id of others) changes.push({ type: ConfChangeType.RemoveNode, id });
  let index = Math.max(hardState.commit, snapshot?.index ?? 0);
  const appended = changes.map(({ type, id, member }): Entry => {
    index += 1;
    // a non-zero request id: the server applies the membership part of a conf change only with a context
    const context = ConfChangeContext.encode({ requestId: (1n << 62n) + BigInt(index), member }).finish();
    return { term: hardState.term, index, type: EntryType.ConfChange, data: encodeConfChange({ type, nodeId: id, context }) };
  });
  if (appended.length === 0) return { entries: [...opened.entries], appended, hardState, removed: [] };
  return { entries: [...committed, ...appended], appended, hardState: { ...hardState, commit: index }, removed: others };
}
