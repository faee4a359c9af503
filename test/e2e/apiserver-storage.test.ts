// kube-apiserver with etcd-node as its only storage: namespaces list, a ConfigMap is created, updated
// (a watch sees the change) and deleted, and etcdctl on etcd-node lists the objects under /registry.
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { etcdctl } from '../support/etcdctl.js';
import { env, kubectl } from './support.js';

/** The events a watch on one ConfigMap sees from `rv` on, for `ms`. */
function watchConfigMap(name: string, rv: string, ms: number): Promise<string[]> {
  return new Promise((resolve) => {
    const events: string[] = [];
    const req = https.get(
      `${env.server}/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3D${name}&resourceVersion=${rv}`,
      { ca: readFileSync(join(env.certDir, 'ca.crt')), cert: readFileSync(join(env.certDir, 'admin.crt')), key: readFileSync(join(env.certDir, 'admin.key')) },
      (res) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            const ev = JSON.parse(buf.slice(0, i)) as { type: string; object: { data?: Record<string, string> } };
            buf = buf.slice(i + 1);
            events.push(`${ev.type} ${JSON.stringify(ev.object.data ?? {})}`);
          }
        });
      },
    );
    req.on('error', () => undefined);
    setTimeout(() => {
      req.destroy();
      resolve(events);
    }, ms);
  });
}

describe('kube-apiserver on etcd-node', () => {
  it('serves namespaces, ConfigMap create/update/delete with a watch, and stores under /registry', async () => {
    const ns = await kubectl(['get', 'ns', '-o', 'name']);
    assert.equal(ns.code, 0, ns.stderr);
    for (const n of ['default', 'kube-system', 'kube-public']) assert.ok(ns.stdout.includes(`namespace/${n}`), ns.stdout);

    const created = await kubectl(['create', 'configmap', 'e2e-cm', '--from-literal=color=blue', '-o', 'jsonpath={.metadata.resourceVersion}']);
    assert.equal(created.code, 0, created.stderr);
    const watching = watchConfigMap('e2e-cm', created.stdout.trim(), 4000);
    await new Promise((r) => setTimeout(r, 1000));
    const patched = await kubectl(['patch', 'configmap', 'e2e-cm', '--type=merge', '-p', '{"data":{"color":"green"}}']);
    assert.equal(patched.code, 0, patched.stderr);
    assert.equal((await kubectl(['get', 'configmap', 'e2e-cm', '-o', 'jsonpath={.data.color}'])).stdout, 'green');
    const keys = await etcdctl(env.storageEndpoint, ['get', '/registry', '--prefix', '--keys-only']);
    assert.equal(keys.code, 0, keys.stderr);
    for (const k of ['/registry/namespaces/default', '/registry/configmaps/default/e2e-cm']) assert.ok(keys.stdout.includes(k), `etcdctl lists ${k}`);
    const deleted = await kubectl(['delete', 'configmap', 'e2e-cm']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const events = await watching;
    assert.deepEqual(events, ['MODIFIED {"color":"green"}', 'DELETED {"color":"green"}']);
    const after = await etcdctl(env.storageEndpoint, ['get', '/registry/configmaps/default/e2e-cm', '--keys-only']);
    assert.equal(after.stdout, '');
  });
});
