import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeContext } from '../gen/etcdtspb/internal.js';
import { ConfChangeType, decodeConfChange, encodeConfChange } from '../raft/confchange.js';
import { EntryType, type Entry } from '../raft/types.js';
import { committedConfState, forceNewClusterLog } from './force-new-cluster.js';

const cc = (index: number, type: ConfChangeType, nodeId: bigint): Entry => ({
  term: 1,
  index,
  type: EntryType.ConfChange,
  data: encodeConfChange({ type, nodeId, context: new Uint8Array(0) }),
});
const put = (index: number, term = 2): Entry => ({ term, index, type: EntryType.Normal, data: new Uint8Array([index]) });

test('the log is cut at the commit index and the other members are removed by committed conf changes', () => {
  const entries = [cc(1, ConfChangeType.AddNode, 1n), cc(2, ConfChangeType.AddNode, 2n), cc(3, ConfChangeType.AddNode, 3n), put(4), put(5), put(6, 3)];
  const hardState = { term: 3, vote: 2n, commit: 5 };
  const f = forceNewClusterLog({ snapshot: undefined, hardState, entries }, 2n, undefined);
  assert.deepEqual(f.removed, [1n, 3n]);
  assert.deepEqual(f.entries.map((e) => e.index), [1, 2, 3, 4, 5, 6, 7]);
  assert.equal(f.entries[5]!.type, EntryType.ConfChange, 'the uncommitted put at 6 is dropped');
  assert.deepEqual(f.appended.map((e) => [e.index, e.term, decodeConfChange(e.data).type, decodeConfChange(e.data).nodeId]), [
    [6, 3, ConfChangeType.RemoveNode, 1n],
    [7, 3, ConfChangeType.RemoveNode, 3n],
  ]);
  // a context the server applies membership from (it skips conf changes without one)
  for (const e of f.appended) assert.ok(ConfChangeContext.decode(decodeConfChange(e.data).context).requestId !== 0n);
  assert.deepEqual(f.hardState, { term: 3, vote: 2n, commit: 7 });
  assert.deepEqual(committedConfState(undefined, f.hardState, f.entries), { voters: [2n], learners: [] });
});

test('from a snapshot; a learner is removed too; a member alone already changes nothing', () => {
  const snapshot = { index: 10, term: 2, confState: { voters: [1n, 2n], learners: [3n] } };
  const f = forceNewClusterLog({ snapshot, hardState: { term: 2, vote: 1n, commit: 10 }, entries: [] }, 1n, undefined);
  assert.deepEqual(f.removed, [2n, 3n]);
  assert.deepEqual(f.appended.map((e) => e.index), [11, 12]);
  assert.deepEqual(committedConfState(snapshot, f.hardState, f.entries), { voters: [1n], learners: [] });
  const alone = { index: 10, term: 2, confState: { voters: [1n], learners: [] } };
  const g = forceNewClusterLog({ snapshot: alone, hardState: { term: 2, vote: 1n, commit: 10 }, entries: [put(11)] }, 1n, undefined);
  assert.deepEqual(g.appended, []);
  assert.deepEqual(g.entries.map((e) => e.index), [11]);
});
