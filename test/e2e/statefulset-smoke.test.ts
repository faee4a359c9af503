// A StatefulSet of one etcd-node pod: the controller manager creates the pod and its claim, the pod
// runner provisions the volume, binds and runs the pod, the pod becomes Ready, etcd-node answers
// etcdctl on the pod's address, its DNS name resolves (through the pod runner's hosts file); Events are recorded (with
// leases on etcd-node); deleting the StatefulSet kills the process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { etcdctl } from '../support/etcdctl.js';
import { repoRoot } from '../support/servers.js';
import { env, eventually, kubectl } from './support.js';

const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: smoke}
---
apiVersion: v1
kind: Service
metadata: {name: etcd, namespace: smoke}
spec:
  clusterIP: None
  selector: {app: etcd}
  ports: [{name: client, port: 2379}, {name: peer, port: 2380}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: etcd, namespace: smoke}
spec:
  serviceName: etcd
  replicas: 1
  selector: {matchLabels: {app: etcd}}
  template:
    metadata: {labels: {app: etcd}}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: etcd
        image: etcd-ts/etcd-node:dev
        command: [etcd-node]
        args:
        - --name=$(POD_NAME)
        - --data-dir=/var/lib/etcd/data
        - --listen-client-urls=http://$(POD_IP):2379
        - --advertise-client-urls=http://$(POD_NAME).etcd.smoke.svc:2379
        - --listen-peer-urls=http://$(POD_IP):2380
        - --initial-advertise-peer-urls=http://$(POD_NAME).etcd.smoke.svc:2380
        - --initial-cluster=$(POD_NAME)=http://$(POD_NAME).etcd.smoke.svc:2380
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        ports: [{name: client, containerPort: 2379}, {name: peer, containerPort: 2380}]
        readinessProbe: {httpGet: {path: /readyz, port: 2379}, periodSeconds: 2}
        livenessProbe: {httpGet: {path: /livez, port: 2379}, periodSeconds: 5, failureThreshold: 5}
        volumeMounts: [{name: data, mountPath: /var/lib/etcd}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`;

describe('a StatefulSet of one etcd-node pod', () => {
  it('becomes Ready, serves etcdctl on its pod address, and its process dies with it', async () => {
    const applied = await kubectl(['apply', '-f', '-'], manifest);
    assert.equal(applied.code, 0, applied.stderr);
    await eventually(
      'the StatefulSet to have 1 ready replica',
      async () => {
        const r = await kubectl(['get', 'sts', 'etcd', '-n', 'smoke', '-o', 'jsonpath={.status.readyReplicas}']);
        return r.stdout === '1' ? true : undefined;
      },
      120_000,
    );
    const ip = (await kubectl(['get', 'pod', 'etcd-0', '-n', 'smoke', '-o', 'jsonpath={.status.podIP}'])).stdout;
    assert.match(ip, /^127\.\d+\.\d+\.\d+$/);
    const pvc = await kubectl(['get', 'pvc', 'data-etcd-0', '-n', 'smoke', '-o', 'jsonpath={.status.phase}']);
    assert.equal(pvc.stdout, 'Bound');
    assert.equal((await etcdctl(`${ip}:2379`, ['put', 'smoke', 'ok'])).stdout, 'OK\n');
    assert.equal((await etcdctl(`${ip}:2379`, ['get', 'smoke', '--print-value-only'])).stdout, 'ok\n');
    // the member advertises its DNS name, which resolves to the pod IP for processes that load the DNS hook
    const members = await etcdctl(`${ip}:2379`, ['member', 'list']);
    assert.match(members.stdout, /etcd-0, http:\/\/etcd-0\.etcd\.smoke\.svc:2380, http:\/\/etcd-0\.etcd\.smoke\.svc:2379/);
    const resolved = await new Promise<string>((resolve) => {
      const p = spawn(process.execPath, ['--import', join(repoRoot, 'test', 'k8s', 'dns-hook.mjs'), '-e', "require('node:dns').lookup('etcd-0.etcd.smoke.svc.cluster.local', (e, a) => console.log(e ? e.code : a))"], {
        env: { ...process.env, ETCD_TS_HOSTS_FILE: env.hostsFile },
      });
      let out = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.once('close', () => resolve(out.trim()));
    });
    assert.equal(resolved, ip);
    const events = await kubectl(['get', 'events', '-n', 'smoke', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events.stdout, /SuccessfulCreate/, `the controller manager recorded events: ${events.stdout}`);
    if (process.env['ETCD_TS_K8S_STORAGE'] !== 'etcd') {
      const leases = await etcdctl(env.storageEndpoint, ['lease', 'list']);
      assert.match(leases.stdout, /found [1-9]\d* leases/, 'kube-apiserver stores events with leases on etcd-node');
    }

    const del = await kubectl(['delete', 'sts', 'etcd', '-n', 'smoke', '--wait=true']);
    assert.equal(del.code, 0, del.stderr);
    await eventually(
      'the pod to be gone and its process to stop answering',
      async () => {
        const pods = await kubectl(['get', 'pods', '-n', 'smoke', '-o', 'name']);
        const r = await etcdctl(`${ip}:2379`, ['--dial-timeout=1s', '--command-timeout=1s', 'get', 'smoke']);
        return pods.stdout.trim() === '' && r.code !== 0 ? true : undefined;
      },
      60_000,
    );
    await kubectl(['delete', 'ns', 'smoke', '--wait=false']);
  });
});
