// The objects an EtcdCluster owns, as built from specs: owner references, bootstrap configuration, the
// etcd-node flags, probes, claims, PDB quorum, and TLS when the spec names Secrets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdClusterSpec } from '../api/etcd-cluster.js';
import { bootstrapConfig, pdb, peerService, statefulSet } from './builders.js';
import { restoreInitOf, RESTORE_ANNOTATION } from './restore-init.js';

const owner = { name: 'main', namespace: 'db', uid: 'u-1' };
type Any = Record<string, unknown>;
const container = (sts: Any): Any => at(sts, 'spec', 'template', 'spec', 'containers', 0) as Any;
/** The value at a path of plain data. */
function at(o: unknown, ...path: Array<string | number>): unknown {
  return path.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)[k], o);
}

describe('builders', () => {
  it('owned objects carry the controller owner reference and the cluster labels', () => {
    const svc = peerService(owner);
    assert.deepEqual(at(svc, 'metadata', 'ownerReferences', 0), { apiVersion: 'etcdts.dev/v1alpha1', kind: 'EtcdCluster', name: 'main', uid: 'u-1', controller: true, blockOwnerDeletion: true });
    assert.equal(at(svc, 'metadata', 'labels', 'app.kubernetes.io/instance'), 'main');
    assert.equal(at(svc, 'spec', 'publishNotReadyAddresses'), true, 'joining members resolve before they are ready');
  });

  it('bootstrap configuration lists the initial members; the PDB keeps quorum', () => {
    const spec = etcdClusterSpec.parse({ version: '0.1.0', replicas: 5 });
    const cm = bootstrapConfig(owner, spec, 3, 'new');
    assert.deepEqual(cm['data'], {
      'initial-cluster': 'main-0=http://main-0.main.db.svc:2380,main-1=http://main-1.main.db.svc:2380,main-2=http://main-2.main.db.svc:2380',
      'initial-cluster-state': 'new',
    });
    assert.equal(((pdb(owner, spec.replicas)["spec"] as Any)["minAvailable"]), 3);
    assert.equal(((pdb(owner, 1)["spec"] as Any)["minAvailable"]), 1);
  });

  it('the StatefulSet runs etcd-node with the spec options, probes and a claim per member', () => {
    const spec = etcdClusterSpec.parse({ version: '0.2.0', options: { snapshotCount: 5000, heartbeatInterval: 100, electionTimeout: 1000 }, storage: { size: '2Gi', storageClassName: 'fast' } });
    const sts = statefulSet(owner, spec, 3);
    const c = container(sts);
    assert.equal(c['image'], 'ghcr.io/etcd-ts/etcd-node:0.2.0');
    const args = c['args'] as string[];
    for (const a of ['--snapshot-count=5000', '--heartbeat-interval=100', '--election-timeout=1000', '--advertise-client-urls=http://$(POD_NAME).main.db.svc:2379', '--initial-cluster-token=db-main-u-1']) {
      assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
    }
    assert.equal(at(c, 'readinessProbe', 'httpGet', 'path'), '/readyz');
    assert.deepEqual(at(sts, 'spec', 'volumeClaimTemplates', 0, 'spec'), { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '2Gi' } } });
  });

  it('TLS Secrets become volumes, etcd-node flags, https URLs and HTTPS probes', () => {
    const spec = etcdClusterSpec.parse({ version: '0.1.0', tls: { client: { secretName: 'c' }, peer: { secretName: 'p' } } });
    const sts = statefulSet(owner, spec, 3);
    const c = container(sts);
    const args = c['args'] as string[];
    for (const a of ['--cert-file=/etc/etcd/tls/client/tls.crt', '--peer-client-cert-auth', '--listen-peer-urls=https://$(POD_IP):2380', '--advertise-client-urls=https://$(POD_NAME).main.db.svc:2379']) {
      assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
    }
    assert.equal(at(c, 'readinessProbe', 'httpGet', 'scheme'), 'HTTPS');
    assert.deepEqual(at(sts, 'spec', 'template', 'spec', 'volumes'), [
      { name: 'client-tls', secret: { secretName: 'c' } },
      { name: 'peer-tls', secret: { secretName: 'p' } },
    ]);
    assert.match(String(at(bootstrapConfig(owner, spec, 1, 'new'), 'data', 'initial-cluster')), /^main-0=https:/);
  });

  it('a restored cluster: an init container restores the resolved revision with the member\'s own flags; the credentials from the Secret, the key as a folder', () => {
    const spec = etcdClusterSpec.parse({ version: '0.1.0', replicas: 3 });
    const init = restoreInitOf({
      [RESTORE_ANNOTATION]: JSON.stringify({
        restore: 'r1',
        uid: 'ru',
        s3: { endpoint: 'http://minio:9000', bucket: 'b', prefix: 'p/', region: 'us-east-1', forcePathStyle: true, credentialsSecret: 'creds' },
        keySecret: 'k',
        chain: { namespace: 'db', cluster: 'old', clusterId: '0123456789abcdef', revision: 42 },
      }),
    });
    const sts = statefulSet(owner, spec, 3, init);
    const ic = at(sts, 'spec', 'template', 'spec', 'initContainers', 0) as Any;
    const args = ic['args'] as string[];
    for (const a of ['--store=s3://b/p', '--s3-endpoint=http://minio:9000', '--key-file=/etc/etcd/restore-key', '--cluster=old', '--cluster-id=0123456789abcdef', '--to-revision=42', '--data-dir=/var/lib/etcd/data', '--initial-cluster-token=db-main-u-1', '--skip-existing', '--initial-cluster-state=$(ETCD_INITIAL_CLUSTER_STATE)']) {
      assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
    }
    // the same token and data dir as the member itself
    assert.ok((container(sts)['args'] as string[]).includes('--initial-cluster-token=db-main-u-1'));
    assert.deepEqual((ic['env'] as Any[]).find((e) => e['name'] === 'AWS_ACCESS_KEY_ID'), { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'creds', key: 'accessKeyId' } } });
    assert.deepEqual(at(sts, 'spec', 'template', 'spec', 'volumes'), [{ name: 'restore-key', secret: { secretName: 'k' } }]);
    assert.equal(at(statefulSet(owner, spec, 3), 'spec', 'template', 'spec', 'initContainers'), undefined, 'no init container for a cluster not restored');
    assert.throws(() => restoreInitOf({ [RESTORE_ANNOTATION]: '{"restore":"r"}' }), /annotation etcdts.dev\/restore: /);
  });
});
