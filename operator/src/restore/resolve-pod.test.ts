import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdRestoreSpec } from '../api/etcd-restore.js';
import { readResolvePod, resolvePod } from './resolve-pod.js';

const spec = etcdRestoreSpec.parse({
  source: { backupName: 'vol' },
  target: { time: '2026-12-02T16:30:00+01:00' },
  cluster: { name: 'db2', spec: { version: '0.3.0', replicas: 3, storage: { size: '1Gi' } } },
});
const owner = { name: 'r1', namespace: 'prod', uid: 'u-9' };

test('the resolve pod mounts the claim read-only and writes its plan to the termination log', () => {
  const pod = resolvePod(owner, spec, { volume: { claimName: 'bk', path: '/chains/' }, keySecret: 'vol-key', chain: { namespace: 'prod', cluster: 'db' } }) as {
    metadata: { name: string; ownerReferences: Array<{ uid: string }> };
    spec: { restartPolicy: string; volumes: unknown[]; containers: Array<{ image: string; args: string[]; terminationMessagePath: string }> };
  };
  assert.equal(pod.metadata.name, 'r1-resolve');
  assert.equal(pod.metadata.ownerReferences[0]!.uid, 'u-9');
  assert.equal(pod.spec.restartPolicy, 'Never');
  const c = pod.spec.containers[0]!;
  assert.equal(c.image, 'ghcr.io/etcd-ts/etcd-node:0.3.0', 'the image of the cluster to be restored');
  assert.deepEqual(c.args, [
    'backup', 'restore', '--store=/etc/etcd/restore-store/chains', '--key-file=/etc/etcd/restore-key',
    '--namespace=prod', '--cluster=db', '--to-time=2026-12-02T16:30:00+01:00',
    '--dry-run', '-w', 'json', '--plan-file=/dev/termination-log',
  ]);
  assert.equal(c.terminationMessagePath, '/dev/termination-log');
  assert.deepEqual(pod.spec.volumes, [
    { name: 'restore-key', secret: { secretName: 'vol-key' } },
    { name: 'restore-store', persistentVolumeClaim: { claimName: 'bk', readOnly: true } },
  ]);
});

const done = (phase: string, message: string | undefined, exitCode = phase === 'Succeeded' ? 0 : 1) => ({
  metadata: { name: 'r1-resolve' },
  status: { phase, containerStatuses: [{ state: { terminated: { exitCode, ...(message !== undefined ? { message } : {}) } } }] },
});

test('a finished resolve pod gives the plan, the engine\'s typed error, or its last error line', () => {
  assert.deepEqual(readResolvePod(done('Succeeded', '{"clusterId":"0123456789abcdef","revision":42,"time":"2026-12-02T15:30:00.000Z","full":"f","deltas":["d1"]}\n')), {
    kind: 'plan',
    plan: { clusterId: '0123456789abcdef', revision: 42, time: '2026-12-02T15:30:00.000Z', full: 'f', deltas: ['d1'] },
  });
  assert.deepEqual(readResolvePod(done('Failed', '{"error":{"code":"Unreachable","message":"revision 9 is after the newest (7)"}}')), { kind: 'error', code: 'Unreachable', message: 'revision 9 is after the newest (7)' });
  // refused before the plan file was written: FallbackToLogsOnError's log, its own error line
  const flags = readResolvePod(done('Failed', 'something\netcd-node backup restore: --key-file: the folder /k holds no "key" or "key.<name>" file\n', 2));
  assert.deepEqual(flags, { kind: 'error', code: 'Error', message: 'pod r1-resolve failed (exit 2): --key-file: the folder /k holds no "key" or "key.<name>" file' });
  assert.equal(readResolvePod(done('Succeeded', undefined)).kind, 'error', 'a pod that wrote no plan has none');
});

test('a resolve pod still running or waiting says where it is', () => {
  const waiting = readResolvePod({ metadata: { name: 'r1-resolve' }, status: { phase: 'Pending', containerStatuses: [{ state: { waiting: { reason: 'ContainerCreating' } } }] } });
  assert.deepEqual(waiting, { kind: 'pending', message: 'resolving the target in pod r1-resolve: Pending (ContainerCreating)' });
  assert.equal(readResolvePod({ metadata: { name: 'r1-resolve' } }).kind, 'pending');
});
