import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Condition } from '../api/etcd-cluster.js';
import { settleConditions } from './conditions.js';

test('a transition time moves only when the status changes', () => {
  const old: Condition[] = [
    { type: 'Ready', status: 'True', reason: 'A', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
    { type: 'Degraded', status: 'False', reason: 'B', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
  ];
  const next = settleConditions(
    [
      { type: 'Ready', status: 'True', reason: 'Other', message: 'changed text' },
      { type: 'Degraded', status: 'True', reason: 'C', message: 'now' },
      { type: 'New', status: 'False', reason: 'D', message: '' },
    ],
    old,
    7,
  );
  assert.equal(next[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.notEqual(next[1]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.match(next[2]!.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(next[0]!.observedGeneration, 7);
  assert.equal('observedGeneration' in settleConditions([{ type: 'X', status: 'True', reason: 'R', message: '' }], []), false);
});
