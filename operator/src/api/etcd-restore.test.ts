import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdRestoreSpec } from './etcd-restore.js';

test('targetTime: RFC 3339 with Z or any offset; no offset or an impossible day is refused', () => {
  const base = { clusterName: 'restored', backupName: 'nightly' };
  for (const t of ['2026-12-02T16:30:00+01:00', '2026-12-02T15:30:00Z', '2026-12-02T10:00:00.5-05:30']) {
    assert.equal(etcdRestoreSpec.safeParse({ ...base, targetTime: t }).success, true, t);
  }
  for (const t of ['2026-12-02T16:30:00', '2026-12-02', '2026-02-30T00:00:00Z']) {
    assert.equal(etcdRestoreSpec.safeParse({ ...base, targetTime: t }).success, false, t);
  }
});
