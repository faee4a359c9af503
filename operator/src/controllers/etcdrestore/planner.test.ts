import assert from 'node:assert/strict';
import { test } from 'node:test';
import { phaseAfter, planRestore, type RestoreObserved } from './planner.js';

const resolved = { revision: 42, time: 1_796_000_000_000, clusterId: '0123456789abcdef', objects: ['full/x', 'delta/y'] };
const base: RestoreObserved = { phase: undefined, missing: [], resolved: undefined, cluster: undefined, replaceExisting: false };

test('Pending → Resolving → Restoring → Succeeded', () => {
  const s1 = planRestore(base);
  assert.equal(s1.kind, 'Resolve');
  assert.equal(phaseAfter(s1, undefined), 'Resolving');
  const s2 = planRestore({ ...base, phase: 'Resolving', resolved });
  assert.deepEqual(s2, { kind: 'CreateCluster', resolution: resolved });
  assert.equal(phaseAfter(s2, 'Resolving'), 'Restoring');
  const ours = { ours: true, available: false, runningMembers: 3, clusterId: undefined };
  assert.equal(planRestore({ ...base, phase: 'Restoring', resolved, cluster: ours }).kind, 'WaitForCluster');
  const done = planRestore({ ...base, phase: 'Restoring', resolved, cluster: { ...ours, available: true } });
  assert.equal(done.kind, 'Succeed');
  assert.equal(phaseAfter(done, 'Restoring'), 'Succeeded');
});

test('a missing source object waits in Pending (requeued), naming it', () => {
  const s = planRestore({ ...base, missing: ['EtcdBackup db/nightly'] });
  assert.equal(s.kind, 'WaitForSource');
  assert.match((s as { message: string }).message, /EtcdBackup db\/nightly/);
  assert.equal(phaseAfter(s, undefined), 'Pending');
});

test('terminal phases do nothing; an invalid spec fails', () => {
  assert.equal(planRestore({ ...base, phase: 'Succeeded' }).kind, 'Nothing');
  assert.equal(planRestore({ ...base, phase: 'Failed', resolved }).kind, 'Nothing');
  assert.equal(planRestore({ ...base, specProblem: 'spec.target: …' }).kind, 'Fail');
});

test('a name taken by a cluster not ours: refused without replaceExisting, nothing changed', () => {
  const other = { ours: false, available: true, runningMembers: 3, clusterId: 'aaaaaaaaaaaaaaaa' };
  const s = planRestore({ ...base, phase: 'Resolving', resolved, cluster: other });
  assert.equal(s.kind, 'Fail');
  assert.equal((s as { reason: string }).reason, 'ClusterExists');
});

test('replaceExisting: old members stopped (old id recorded), then the old object deleted, then the new cluster', () => {
  const other = { ours: false, available: true, runningMembers: 3, clusterId: 'aaaaaaaaaaaaaaaa' };
  const o = { ...base, phase: 'Resolving' as const, resolved, replaceExisting: true };
  assert.deepEqual(planRestore({ ...o, cluster: other }), { kind: 'StopOldMembers', replacedClusterId: 'aaaaaaaaaaaaaaaa' });
  assert.equal(planRestore({ ...o, cluster: { ...other, runningMembers: 0 } }).kind, 'DeleteOldCluster');
  assert.equal(planRestore({ ...o, cluster: undefined }).kind, 'CreateCluster');
});
