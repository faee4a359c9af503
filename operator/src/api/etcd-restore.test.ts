import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdRestoreSpec } from './etcd-restore.js';

const cluster = { name: 'restored', spec: { version: '0.1.0', replicas: 3 } };
const s3 = { s3: { endpoint: 'http://minio:9000', bucket: 'etcd-backups', credentialsSecret: 's3-creds' } };

test('target.time: RFC 3339 with Z or any offset; no offset or an impossible day is refused', () => {
  const base = { source: { backupName: 'nightly' }, cluster };
  for (const t of ['2026-12-02T16:30:00+01:00', '2026-12-02T15:30:00Z', '2026-12-02T10:00:00.5-05:30']) {
    assert.equal(etcdRestoreSpec.safeParse({ ...base, target: { time: t } }).success, true, t);
  }
  for (const t of ['2026-12-02T16:30:00', '2026-12-02', '2026-02-30T00:00:00Z']) {
    assert.equal(etcdRestoreSpec.safeParse({ ...base, target: { time: t } }).success, false, t);
  }
});

test('source: exactly one of backupName, store, snapshot; each store exactly one of s3 or volume', () => {
  const ok = [
    { backupName: 'nightly' },
    { store: { store: s3, clusterName: 'main', encryption: { keySecret: 'main-encryption-key' } } },
    { store: { store: { volume: { claimName: 'backups', path: 'etcd' } }, clusterName: 'main', clusterId: '0123456789abcdef', encryption: { disabled: true } } },
    { snapshot: { store: s3, object: 'migration/etcd-3.6.db' } },
  ];
  for (const source of ok) assert.equal(etcdRestoreSpec.safeParse({ source, cluster }).success, true, JSON.stringify(source));
  const bad = [
    {},
    { backupName: 'a', snapshot: { store: s3, object: 'x' } },
    { store: { store: s3, clusterName: 'main' } }, // no key and not disabled
    { store: { store: s3, clusterName: 'main', encryption: { keySecret: 'k', disabled: true } } },
    { store: { store: { ...s3, volume: { claimName: 'v' } }, clusterName: 'main', encryption: { disabled: true } } },
    { store: { store: s3, clusterName: 'main', clusterId: 'XYZ', encryption: { disabled: true } } },
  ];
  for (const source of bad) assert.equal(etcdRestoreSpec.safeParse({ source, cluster }).success, false, JSON.stringify(source));
});

test('target: latest by default, exactly one of latest, revision, time; a snapshot source only latest', () => {
  const parsed = etcdRestoreSpec.parse({ source: { backupName: 'b' }, cluster });
  assert.deepEqual(parsed.target, { latest: {} });
  assert.equal(parsed.replaceExisting, false);
  assert.equal(etcdRestoreSpec.safeParse({ source: { backupName: 'b' }, cluster, target: { revision: 5, latest: {} } }).success, false);
  assert.equal(etcdRestoreSpec.safeParse({ source: { backupName: 'b' }, cluster, target: { revision: 0 } }).success, false);
  assert.equal(etcdRestoreSpec.safeParse({ source: { snapshot: { store: s3, object: 'x.db' } }, cluster, target: { revision: 5 } }).success, false);
});

test('cluster: a DNS-label name and a valid EtcdCluster spec', () => {
  assert.equal(etcdRestoreSpec.safeParse({ source: { backupName: 'b' }, cluster: { name: 'Bad_Name', spec: cluster.spec } }).success, false);
  assert.equal(etcdRestoreSpec.safeParse({ source: { backupName: 'b' }, cluster: { name: 'ok', spec: { replicas: 3 } } }).success, false); // neither version nor image
  assert.equal(etcdRestoreSpec.parse({ source: { backupName: 'b' }, cluster }).cluster.spec.storage.size, '8Gi');
});
