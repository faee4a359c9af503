// A newcomer's path in a real kind cluster, as the README tells it: `helm install` the chart (the
// images of `npm run images`, loaded with `kind load docker-image`), apply deploy/examples/cluster.yaml,
// 3 members Available, etcdctl through the client Service from a pod in the cluster, MinIO in the
// cluster (a locally built image) and deploy/examples/backup-s3.yaml → objects in the bucket; then
// `helm upgrade` of the operator restarts no member, and `helm uninstall` leaves the EtcdCluster, its
// members and their data. Run by `npm run test:kind` (test/kind/run.sh sets the environment).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { parseName } from '../../etcd-node/src/backup/names.js';
import { S3Store } from '../../etcd-node/src/backup/store/s3-store.js';
import { completed, eventually, helm, kube, kubeconfig, kubectl, portForward } from './support.js';

const root = join(import.meta.dirname, '..', '..');
const toolsImage = process.env['ETCD_TS_KIND_SMOKE_IMAGE'];
const minioImage = process.env['ETCD_TS_KIND_MINIO_IMAGE'];
const skip = !kubeconfig || !toolsImage || !minioImage ? 'skipped: run with `npm run test:kind` (KUBECONFIG and the kind images unset)' : false;
const RELEASE = 'etcd-operator';
const OP_NS = 'etcd-operator';
const MINIO_USER = 'etcdts-newcomer';
const MINIO_PASSWORD = 'etcdts-newcomer-secret';

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface ClusterStatus {
  readyMembers?: number;
  members?: Array<{ name: string; isLearner: boolean; healthy: boolean }>;
  conditions?: Cond[];
  currentVersion?: string;
}

const clusterStatus = async (): Promise<ClusterStatus> => {
  const s = await kube(['get', 'etcdcluster', 'etcd', '-n', 'etcd', '-o', 'jsonpath={.status}']);
  return s ? (JSON.parse(s) as ClusterStatus) : {};
};
const available = (s: ClusterStatus): boolean => s.conditions?.some((c) => c.type === 'Available' && c.status === 'True') === true;
const whatWeSee = async (): Promise<string> =>
  [
    (await kubectl(['get', 'etcdcluster,statefulset,pods,pvc', '-n', 'etcd', '-o', 'wide'])).stdout,
    (await kubectl(['get', 'etcdcluster', 'etcd', '-n', 'etcd', '-o', 'jsonpath={.status}'])).stdout,
    (await kubectl(['get', 'events', '-n', 'etcd', '--sort-by=.lastTimestamp'])).stdout.split('\n').slice(-25).join('\n'),
    (await kubectl(['logs', '-n', OP_NS, '-l', 'app.kubernetes.io/name=etcd-operator', '--tail=40', '--prefix'])).stdout,
  ].join('\n');

/** A pod of the tools image (etcdctl) in the namespace etcd that runs a script to completion. */
async function runInCluster(name: string, script: string): Promise<string> {
  await kubectl(['delete', 'pod', '-n', 'etcd', name, '--ignore-not-found', '--wait=true']);
  await kube(
    ['apply', '-n', 'etcd', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: toolsImage, imagePullPolicy: 'Never', command: ['bash', '-ec', script] }] },
    }),
  );
  return completed('etcd', name);
}

/** Each member pod's uid and restart count, by name. */
async function memberPods(): Promise<Record<string, string>> {
  const out = await kube(['get', 'pods', '-n', 'etcd', '-l', 'app.kubernetes.io/instance=etcd,app.kubernetes.io/name=etcd', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.metadata.uid} {.status.containerStatuses[0].restartCount}{"\\n"}{end}']);
  const pods: Record<string, string> = {};
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [name, uid, restarts] = line.split(' ');
    pods[name!] = `${uid} restarts=${restarts}`;
  }
  return pods;
}

describe('kind: the newcomer path (helm install, example cluster, etcdctl, backup, helm upgrade/uninstall)', { skip, timeout: 1_800_000 }, () => {
  let membersBefore: Record<string, string> = {};

  before(async () => {
    // an earlier kept run (ETCD_TS_KIND_KEEP=1) may have left the release or the namespaces
    await helm(['uninstall', RELEASE, '-n', OP_NS, '--wait']);
    for (const ns of ['etcd', 'minio']) await kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=180s']);
  });
  after(async () => {
    if (process.env['ETCD_TS_KIND_KEEP'] === '1') return;
    await kubectl(['delete', 'namespace', 'etcd', 'minio', '--ignore-not-found', '--wait=false']);
  });

  it('helm install, then deploy/examples/cluster.yaml: 3 voting members Available', async () => {
    const r = await helm(['install', RELEASE, join(root, 'charts', 'etcd-operator'), '-n', OP_NS, '--create-namespace', '--set', 'image.pullPolicy=Never', '--wait', '--timeout', '5m']);
    assert.equal(r.code, 0, `helm install: ${r.stderr}\n${(await kubectl(['get', 'pods,events', '-n', OP_NS])).stdout}`);
    assert.match(r.stdout, /STATUS: deployed/);
    const ready = await kube(['get', 'deployment', RELEASE, '-n', OP_NS, '-o', 'jsonpath={.status.readyReplicas}']);
    assert.equal(ready, '2', 'both operator replicas Ready (one leads, one stands by)');
    await kube(['apply', '-f', join(root, 'deploy', 'examples', 'cluster.yaml')]);
    const s = await eventually(
      'the example EtcdCluster to be Available with 3 voting members',
      async () => {
        const st = await clusterStatus();
        return available(st) && st.readyMembers === 3 && st.members?.length === 3 && st.members.every((m) => !m.isLearner && m.healthy) ? st : undefined;
      },
      600_000,
      whatWeSee,
    );
    assert.equal(s.currentVersion, '0.1.0', 'the version the members report');
    const claims = (await kube(['get', 'pvc', '-n', 'etcd', '-o', 'jsonpath={.items[*].status.phase}'])).split(' ');
    assert.deepEqual(claims, ['Bound', 'Bound', 'Bound'], 'each member on a claim the local-path provisioner bound');
  });

  it('etcdctl through the client Service from a pod in the cluster', async () => {
    const log = await runInCluster(
      'etcdctl-put',
      'e=http://etcd-client.etcd.svc:2379; etcdctl --endpoints=$e put newcomer hello; etcdctl --endpoints=$e get newcomer --print-value-only; etcdctl --endpoints=$e endpoint status --cluster -w json',
    );
    const lines = log.trim().split('\n');
    assert.equal(lines[0], 'OK');
    assert.equal(lines[1], 'hello');
    const status = JSON.parse(lines[2]!) as Array<{ Endpoint: string; Status: { leader: string; header: { member_id: string } } }>;
    assert.equal(status.length, 3, 'endpoint status --cluster reaches every member by its pod DNS name');
    assert.equal(new Set(status.map((e) => e.Status.leader)).size, 1, 'one leader');
    for (const e of status) assert.match(e.Endpoint, /^http:\/\/etcd-\d\.etcd\.etcd\.svc:2379$/);
  });

  it('deploy/examples/backup-s3.yaml against MinIO in the cluster: a full and deltas in the bucket', async () => {
    await kube(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Namespace
metadata: {name: minio}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: minio, namespace: minio}
spec:
  replicas: 1
  selector: {matchLabels: {app: minio}}
  template:
    metadata: {labels: {app: minio}}
    spec:
      containers:
        - name: minio
          image: ${minioImage}
          imagePullPolicy: Never
          command: [/usr/local/bin/minio, server, /data, --address, ":9000"]
          env:
            - {name: MINIO_ROOT_USER, value: ${MINIO_USER}}
            - {name: MINIO_ROOT_PASSWORD, value: ${MINIO_PASSWORD}}
          ports: [{containerPort: 9000}]
          readinessProbe: {httpGet: {path: /minio/health/ready, port: 9000}, periodSeconds: 2}
          volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: minio, namespace: minio}
spec:
  selector: {app: minio}
  ports: [{port: 9000, targetPort: 9000}]
`,
    );
    await kube(['rollout', 'status', 'deployment/minio', '-n', 'minio', '--timeout=180s']);
    const fwd = await portForward('minio', 'svc/minio', 9000);
    try {
      const s3 = new S3Client({ endpoint: fwd.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: MINIO_USER, secretAccessKey: MINIO_PASSWORD } });
      await s3.send(new CreateBucketCommand({ Bucket: 'etcd-backups' }));
      s3.destroy();
      // the example as a user fills it in: their store's keys where it says REPLACE-ME
      const example = readFileSync(join(root, 'deploy', 'examples', 'backup-s3.yaml'), 'utf8')
        .replace(/accessKeyId: REPLACE-ME/, `accessKeyId: ${MINIO_USER}`)
        .replace(/secretAccessKey: REPLACE-ME/, `secretAccessKey: ${MINIO_PASSWORD}`);
      assert.doesNotMatch(example, /REPLACE-ME/);
      await kube(['apply', '-f', '-'], example);
      const store = new S3Store({ endpoint: fwd.url, bucket: 'etcd-backups', region: 'us-east-1', forcePathStyle: true, accessKeyId: MINIO_USER, secretAccessKey: MINIO_PASSWORD });
      try {
        const kinds = await eventually(
          'a full snapshot and a delta in the bucket',
          async () => {
            await runInCluster('etcdctl-load', 'for i in 1 2 3; do etcdctl --endpoints=http://etcd-client.etcd.svc:2379 put backed-up-$i v$i; done');
            const refs = (await store.list('prod/')).map((o) => parseName(o.name, o.size)).filter((r) => r !== undefined);
            return refs.some((r) => r.kind === 'full') && refs.some((r) => r.kind === 'delta') ? refs.map((r) => r.kind) : undefined;
          },
          300_000,
          async () => `${(await kubectl(['get', 'etcdbackup', '-n', 'etcd', '-o', 'yaml'])).stdout}\n${(await kubectl(['get', 'pods', '-n', 'etcd'])).stdout}`,
        );
        assert.ok(kinds.length >= 2);
        const ready = await eventually(
          'the EtcdBackup to be Ready',
          async () => {
            const st = JSON.parse((await kube(['get', 'etcdbackup', 'etcd-backup', '-n', 'etcd', '-o', 'jsonpath={.status}'])) || '{}') as { conditions?: Cond[]; encryptionKeySecret?: string };
            return st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? st : undefined;
          },
          120_000,
        );
        assert.equal(ready.encryptionKeySecret, 'etcd-backup-encryption-key', 'the generated key, named in status');
      } finally {
        store.close();
      }
    } finally {
      await fwd.stop();
    }
  });

  it('helm upgrade of the operator: the operator rolls, no member restarts', async () => {
    membersBefore = await memberPods();
    assert.equal(Object.keys(membersBefore).length, 3);
    const stsGeneration = await kube(['get', 'statefulset', 'etcd', '-n', 'etcd', '-o', 'jsonpath={.metadata.generation}']);
    const opPods = await kube(['get', 'pods', '-n', OP_NS, '-l', 'app.kubernetes.io/name=etcd-operator', '-o', 'jsonpath={.items[*].metadata.uid}']);
    const r = await helm(['upgrade', RELEASE, join(root, 'charts', 'etcd-operator'), '-n', OP_NS, '--reuse-values', '--set', 'resyncSeconds=20', '--wait', '--timeout', '5m']);
    assert.equal(r.code, 0, r.stderr);
    // helm --wait returns once the new pods are Ready; the old ones may still be terminating
    await eventually(
      'two operator pods, all new',
      async () => {
        const pods = JSON.parse(await kube(['get', 'pods', '-n', OP_NS, '-l', 'app.kubernetes.io/name=etcd-operator', '-o', 'json'])) as { items: Array<{ metadata: { uid: string } }> };
        const uids = pods.items.map((p) => p.metadata.uid);
        return uids.length === 2 && uids.every((uid) => !opPods.includes(uid)) ? true : undefined;
      },
      120_000,
    );
    // the new leader reconciles every object (its resync is 20 s): give it two rounds
    await new Promise((res) => setTimeout(res, 45_000));
    assert.deepEqual(await memberPods(), membersBefore, 'the same member pods, never restarted');
    assert.equal(await kube(['get', 'statefulset', 'etcd', '-n', 'etcd', '-o', 'jsonpath={.metadata.generation}']), stsGeneration, 'the StatefulSet was not changed');
    assert.ok(available(await clusterStatus()), 'still Available');
  });

  it('helm uninstall leaves the EtcdCluster, its members and their data', async () => {
    const r = await helm(['uninstall', RELEASE, '-n', OP_NS, '--wait']);
    assert.equal(r.code, 0, r.stderr);
    await eventually('the operator pods to be gone', async () => ((await kube(['get', 'pods', '-n', OP_NS, '-o', 'name'])).trim() === '' ? true : undefined), 120_000);
    assert.match(await kube(['get', 'crd', 'etcdclusters.etcdts.dev', '-o', 'name']), /etcdclusters\.etcdts\.dev/, 'helm does not delete CRDs');
    assert.equal(await kube(['get', 'etcdcluster', 'etcd', '-n', 'etcd', '-o', 'jsonpath={.metadata.name}']), 'etcd');
    assert.deepEqual(await memberPods(), membersBefore, 'the members go on running');
    const log = await runInCluster('etcdctl-get', 'etcdctl --endpoints=http://etcd-client.etcd.svc:2379 get newcomer --print-value-only');
    assert.equal(log.trim(), 'hello');
  });
});
