// kube-apiserver across a restore: the harness's kube-apiserver storage (etcd-node) is backed up by the
// backup agent (by hand, a folder store), restored with `etcd-node backup restore` into a new etcd-node,
// and a second kube-apiserver started on it serves the same objects with the same resourceVersions; a
// watch from a resourceVersion the first one handed out goes on against the second.
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { snapshotRevision } from '../../etcd-node/src/backup/snapshot-revision.js';
import { VolumeStore } from '../../etcd-node/src/backup/store/volume-store.js';
import { BackupAgent } from '../../operator/src/backup/agent.js';
import { EtcdSource } from '../../operator/src/backup/etcd-source.js';
import { parseSchedule } from '../../operator/src/backup/schedule.js';
import { createLogger } from '../../operator/src/runtime/log.js';
import { startControlPlane } from '../k8s/control-plane.js';
import { etcdctl } from '../support/etcdctl.js';
import { run } from '../support/etcd-tools.js';
import { freePorts, repoRoot, startServer } from '../support/servers.js';
import { env, eventually, kubectl, sleep } from './support.js';

const quiet = createLogger({ test: 'apiserver-restore' });
const log = { ...quiet, info: () => undefined, debug: () => undefined, with: () => log };

interface CmList {
  metadata: { resourceVersion: string };
  items: Array<{ metadata: { name: string; resourceVersion: string }; data?: Record<string, string> }>;
}

/** The first event a watch of ConfigMaps in `ns` from `rv` delivers within `ms`. */
function firstEvent(server: string, certDir: string, ns: string, rv: string, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v: string | undefined): void => {
      if (done) return;
      done = true;
      req.destroy();
      resolve(v);
    };
    const req = https.get(
      `${server}/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv}`,
      { ca: readFileSync(join(certDir, 'ca.crt')), cert: readFileSync(join(certDir, 'admin.crt')), key: readFileSync(join(certDir, 'admin.key')) },
      (res) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          const i = buf.indexOf('\n');
          if (i >= 0) {
            const ev = JSON.parse(buf.slice(0, i)) as { type: string; object: { metadata?: { name?: string } } };
            finish(`${ev.type} ${ev.object.metadata?.name ?? ''}`);
          }
        });
      },
    );
    req.on('error', () => finish(undefined));
    setTimeout(() => finish(undefined), ms);
  });
}

describe('kube-apiserver on a restored etcd-node', () => {
  it('serves the same objects with the same resourceVersions, and a watch from an old resourceVersion goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-apiserver-restore-'));
    const storeRoot = join(dir, 'store');
    mkdirSync(storeRoot);
    const ns = 'restore-e2e';
    let plane: Awaited<ReturnType<typeof startControlPlane>> | undefined;
    let restored: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      assert.equal((await kubectl(['create', 'namespace', ns])).code, 0);
      for (let i = 0; i < 4; i++) assert.equal((await kubectl(['-n', ns, 'create', 'configmap', `cm-${i}`, `--from-literal=n=${i}`])).code, 0);
      const source = new EtcdSource([env.storageEndpoint]);
      const agent = new BackupAgent({
        source,
        store: new VolumeStore({ root: storeRoot }),
        location: { prefix: '', namespace: 'e2e', cluster: 'apiserver' },
        keys: undefined,
        compression: 'gzip',
        schedule: parseSchedule('@yearly'),
        deltaPeriodMs: 300,
        deltaMaxBytes: 4 * 1024 * 1024,
        retention: { fullSnapshots: 4 },
        scratchDir: dir,
        snapshotRevision,
        log,
      });
      agent.start();
      let before: CmList;
      try {
        await eventually('the first full', async () => agent.report().lastFullSnapshot);
        // changes after the full: only the event tail carries them
        assert.equal((await kubectl(['-n', ns, 'patch', 'configmap', 'cm-1', '--type=merge', '-p', '{"data":{"n":"changed"}}'])).code, 0);
        assert.equal((await kubectl(['-n', ns, 'delete', 'configmap', 'cm-2'])).code, 0);
        assert.equal((await kubectl(['-n', ns, 'create', 'configmap', 'cm-after', '--from-literal=n=after'])).code, 0);
        // the API's own list (kubectl get -o json builds a List without a resourceVersion)
        before = JSON.parse((await kubectl(['get', '--raw', `/api/v1/namespaces/${ns}/configmaps`])).stdout) as CmList;
        assert.ok(before.metadata.resourceVersion !== '', 'the list has a resourceVersion');
        const head = Number((JSON.parse((await etcdctl(env.storageEndpoint, ['get', 'x', '-w', 'json'])).stdout) as { header: { revision: number } }).header.revision);
        await eventually('the tail past our changes', async () => ((agent.report().latestRecoverable?.revision ?? 0) >= head ? true : undefined));
      } finally {
        await agent.stop();
        source.close();
      }
      const [clientPort, peerPort] = await freePorts(2);
      const peer = `http://127.0.0.1:${peerPort}`;
      const dataDir = join(dir, 'restored');
      const r = await run(process.execPath, [join(repoRoot, 'bin', 'etcd-node.js'), 'backup', 'restore', '--store', storeRoot, '--no-encryption', '--namespace', 'e2e', '--cluster', 'apiserver', '--data-dir', dataDir, '--name', 'r1', '--initial-cluster', `r1=${peer}`, '--initial-advertise-peer-urls', peer]);
      assert.equal(r.code, 0, r.stderr);
      restored = await startServer({ kind: 'node', name: 'r1', dataDir, member: { host: '127.0.0.1', clientPort: clientPort!, peerPort: peerPort!, initialCluster: `r1=${peer}` } });
      plane = await startControlPlane({ storage: restored, controllerManager: false });
      const kc = `--kubeconfig=${plane.kubeconfig}`;
      const after = JSON.parse((await kubectl([kc, 'get', '--raw', `/api/v1/namespaces/${ns}/configmaps`])).stdout) as CmList;
      const view = (l: CmList): Array<[string, string, string]> =>
        l.items.filter((i) => i.metadata.name.startsWith('cm-')).map((i) => [i.metadata.name, i.metadata.resourceVersion, JSON.stringify(i.data ?? {})]);
      assert.deepEqual(view(after), view(before), 'names, resourceVersions and data');
      assert.deepEqual(view(after).map(([n]) => n), ['cm-0', 'cm-1', 'cm-3', 'cm-after']);
      // a client that listed on the old kube-apiserver watches the new one from that resourceVersion
      const watching = firstEvent(plane.server, plane.dir, ns, before.metadata.resourceVersion, 15_000);
      await sleep(1000);
      assert.equal((await kubectl([kc, '-n', ns, 'patch', 'configmap', 'cm-0', '--type=merge', '-p', '{"data":{"n":"on-restored"}}'])).code, 0);
      const ev = await watching;
      assert.equal(ev, 'MODIFIED cm-0', `the watch from resourceVersion ${before.metadata.resourceVersion} delivers the change made on the restored cluster first`);
    } finally {
      await plane?.stop();
      await restored?.stop();
      await kubectl(['delete', 'namespace', ns, '--wait=false']);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
