// The CRDs in crds/ are what the zod schemas generate (npm run gen:crds), and the schemas accept and
// refuse what users will send.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allCrds, renderCrd, structural } from './crds.js';
import { etcdClusterSpec } from './etcd-cluster.js';
import { etcdBackupSpec } from './etcd-backup.js';
import { etcdRestoreSpec } from './etcd-restore.js';

describe('CRDs', () => {
  it('crds/*.yaml are up to date (run `npm run gen:crds` after changing operator/src/api)', () => {
    for (const [file, crd] of allCrds()) {
      assert.equal(readFileSync(new URL(`../../../crds/${file}`, import.meta.url), 'utf8'), renderCrd(crd), `crds/${file} is stale`);
    }
  });

  it('are structural: no additionalProperties beside properties, free-form objects keep unknown fields', () => {
    const s = structural({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false });
    assert.deepEqual(s, { type: 'object', properties: { a: { type: 'string' } } });
    assert.deepEqual(structural({ type: 'object', additionalProperties: {} }), { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    const text = JSON.stringify(allCrds());
    assert.doesNotMatch(text, /"additionalProperties":false/);
    assert.doesNotMatch(text, /"\$schema"/);
  });
});

describe('EtcdCluster spec', () => {
  it('fills defaults', () => {
    const s = etcdClusterSpec.parse({ version: '0.1.0' });
    assert.equal(s.replicas, 3);
    assert.deepEqual(s.storage, { size: '8Gi' });
    assert.equal(s.paused, false);
    assert.equal(s.pvcRetentionPolicy, 'Retain');
  });

  it('refuses what the operator cannot honour', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ version: '0.1.0', replicas: 0 }, /replicas/],
      [{ version: '0.1.0', replicas: 20 }, /replicas/],
      [{ version: 'latest' }, /version/],
      [{}, /either version or image/],
      [{ version: '0.1.0', storage: { size: 'lots' } }, /quantity/],
      [{ version: '0.1.0', options: { heartbeatInterval: 100, electionTimeout: 200 } }, /5 times/],
      [{ version: '0.1.0', surprise: true }, /surprise|Unrecognized/],
    ];
    for (const [spec, re] of bad) {
      const r = etcdClusterSpec.safeParse(spec);
      assert.equal(r.success, false, `${JSON.stringify(spec)} should be refused`);
      assert.match(JSON.stringify(r.error?.issues), re);
    }
  });
});

describe('EtcdBackup and EtcdRestore specs', () => {
  it('need exactly one store, and at most one restore target', () => {
    assert.equal(etcdBackupSpec.safeParse({ clusterName: 'a', store: {} }).success, false);
    assert.equal(etcdBackupSpec.safeParse({ clusterName: 'a', store: { volume: { claimName: 'b' } } }).success, true);
    assert.equal(etcdBackupSpec.safeParse({ clusterName: 'a', store: { volume: { claimName: 'b' }, s3: { bucket: 'bkt', credentialsSecret: 'c' } } }).success, false);
    assert.equal(etcdRestoreSpec.safeParse({ source: { backupName: 'b' }, cluster: { name: 'a', spec: { version: '0.1.0' } }, target: { revision: 5, time: '2026-01-01T00:00:00Z' } }).success, false);
  });
});

describe('EtcdBackup spec', () => {
  const store = { s3: { endpoint: 'https://minio:9000', bucket: 'backups', credentialsSecret: 'creds' } };
  it('fills the scheme\'s defaults', () => {
    const s = etcdBackupSpec.parse({ clusterName: 'main', store });
    assert.equal(s.fullSchedule, '*/30 * * * *');
    assert.equal(s.deltaPeriod, '10s');
    assert.equal(s.deltaMaxBytes, '8Mi');
    assert.equal(s.compression, 'gzip');
    assert.deepEqual(s.encryption, {});
    assert.deepEqual(s.retention, {});
    assert.equal(s.suspend, false);
    assert.deepEqual(s.store.s3, { endpoint: 'https://minio:9000', bucket: 'backups', prefix: '', region: 'us-east-1', forcePathStyle: true, credentialsSecret: 'creds' });
  });
  it('refuses what a schema can judge', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ fullSchedule: 'banana' }, /cron expression/],
      [{ fullSchedule: '* * *' }, /cron expression/],
      [{ deltaPeriod: 'soon' }, /duration/],
      [{ deltaMaxBytes: 'lots' }, /quantity/],
      [{ encryption: { disabled: true, keySecret: 'k' } }, /exclude each other/],
      [{ retention: { fullSnapshots: 3, maxAge: '24h' } }, /at most one/],
      [{ store: { s3: { bucket: 'Bad_Bucket', credentialsSecret: 'c' } } }, /bucket name/],
      [{ store: { s3: { bucket: 'ok-bucket', credentialsSecret: 'c', endpoint: 'minio:9000' } } }, /http/],
      [{ compression: 'zstd' }, /compression|Invalid/],
    ];
    for (const [patch, re] of bad) {
      const r = etcdBackupSpec.safeParse({ clusterName: 'main', store, ...patch });
      assert.equal(r.success, false, `${JSON.stringify(patch)} should be refused`);
      assert.match(JSON.stringify(r.error?.issues), re);
    }
    assert.equal(etcdBackupSpec.safeParse({ clusterName: 'main', store, fullSchedule: '61 * * * *' }).success, true, 'cron-parser, not the schema, refuses a minute of 61');
  });
});
