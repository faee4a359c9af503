// The CRDs on a real kube-apiserver: they install and become Established; a valid EtcdCluster is
// stored with its defaults; what the schema can refuse is refused at apply time, with the message
// (replicas 0 and 20, a malformed version, neither version nor image, a changed tls); `kubectl get
// etcdclusters` shows the printer columns.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/servers.js';
import { eventually, kubectl } from './support.js';

const cluster = (spec: string): string => `apiVersion: etcdts.dev/v1alpha1
kind: EtcdCluster
metadata: {name: main, namespace: default}
spec: ${spec}
`;

describe('the operator CRDs on kube-apiserver', () => {
  it('install, default, validate and print', async () => {
    const applied = await kubectl(['apply', '-f', join(repoRoot, 'crds')]);
    assert.equal(applied.code, 0, applied.stderr);
    for (const crd of ['etcdclusters', 'etcdbackups', 'etcdrestores']) {
      const r = await kubectl(['wait', '--for=condition=Established', `crd/${crd}.etcdts.dev`, '--timeout=30s']);
      assert.equal(r.code, 0, r.stderr);
    }
    await eventually('the etcdclusters resource to be served', async () => ((await kubectl(['get', 'etcdclusters'])).code === 0 ? true : undefined), 30_000);

    const ok = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0"}'));
    assert.equal(ok.code, 0, ok.stderr);
    const stored = JSON.parse((await kubectl(['get', 'etcdcluster', 'main', '-o', 'json'])).stdout) as { spec: Record<string, unknown> };
    assert.deepEqual(stored.spec, { version: '0.1.0', replicas: 3, storage: { size: '8Gi' }, progressDeadlineSeconds: 600, paused: false, pvcRetentionPolicy: 'Retain', adoptExistingClaims: false });

    const refused: Array<[string, RegExp]> = [
      ['{version: "0.1.0", replicas: 0}', /spec\.replicas: Invalid value: 0: spec\.replicas in body should be greater than or equal to 1/],
      ['{version: "0.1.0", replicas: 20}', /spec\.replicas: Invalid value: 20: spec\.replicas in body should be less than or equal to 9/],
      ['{version: "latest"}', /spec\.version: Invalid value: "latest": spec\.version in body should match/],
      ['{replicas: 3}', /either version or image is required/],
      ['{version: "0.1.0", storage: {size: "lots"}}', /spec\.storage\.size/],
    ];
    for (const [spec, re] of refused) {
      const r = await kubectl(['apply', '-f', '-'], cluster(spec).replace('name: main', 'name: bad'));
      assert.notEqual(r.code, 0, `${spec} should be refused`);
      assert.match(r.stderr, re);
    }
    const withTls = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0", tls: {client: {secretName: a}}}').replace('name: main', 'name: tls'));
    assert.equal(withTls.code, 0, withTls.stderr);
    const changed = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0", tls: {client: {secretName: b}}}').replace('name: main', 'name: tls'));
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /tls is immutable/);
    // neither added to a plain cluster nor removed from a TLS one
    const plain = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0", storage: {size: 2Gi}}').replace('name: main', 'name: plain'));
    assert.equal(plain.code, 0, plain.stderr);
    const added = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0", storage: {size: 2Gi}, tls: {client: {secretName: a}}}').replace('name: main', 'name: plain'));
    assert.notEqual(added.code, 0, 'tls added to a plain cluster');
    assert.match(added.stderr, /tls is immutable: it cannot be added to or removed from a cluster/);
    const removed = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0"}').replace('name: main', 'name: tls'));
    assert.notEqual(removed.code, 0, 'tls removed from a TLS cluster');
    assert.match(removed.stderr, /tls is immutable: it cannot be added to or removed from a cluster/);
    // storage: no shrinking, no storageClassName added (growing is the operator's: operator.test.ts)
    for (const [storage, re] of [
      ['{size: 1Gi}', /storage.size cannot shrink: a claim never does/],
      ['{size: 2Gi, storageClassName: fast}', /storageClassName is immutable/],
    ] as const) {
      const r = await kubectl(['apply', '-f', '-'], cluster(`{version: "0.1.0", storage: ${storage}}`).replace('name: main', 'name: plain'));
      assert.notEqual(r.code, 0, `storage ${storage} on a 2Gi cluster`);
      assert.match(r.stderr, re);
    }
    const same = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0", storage: {size: 2048Mi}}').replace('name: main', 'name: plain'));
    assert.equal(same.code, 0, `the same size written another way is no change: ${same.stderr}`);
    const grown = await kubectl(['apply', '-f', '-'], cluster('{version: "0.1.0", storage: {size: 4Gi}}').replace('name: main', 'name: plain'));
    assert.equal(grown.code, 0, `a larger size is accepted: ${grown.stderr}`);

    const table = await kubectl(['get', 'etcdclusters']);
    assert.match(table.stdout, /^NAME\s+REPLICAS\s+READY\s+LEADER\s+VERSION\s+PHASE\s+AGE/);
    const wide = await kubectl(['get', 'etcdclusters', '-o', 'wide']);
    assert.match(wide.stdout, /^NAME\s+REPLICAS\s+READY\s+LEADER\s+VERSION\s+PHASE\s+UPDATED\s+WANTED\s+CLUSTER-ID\s+ENDPOINT\s+AGE\n/);
    assert.match(wide.stdout, /\nmain\s+3\s+.*\s0\.1\.0\s/, 'WANTED is the spec\'s version');
    assert.match(table.stdout, /\nmain\s+3\s+/);
    await kubectl(['delete', 'etcdcluster', 'main', 'tls', 'plain']);
  });
});
