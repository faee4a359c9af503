// EtcdRestore on the real control plane, with a real MinIO: a 3-member cluster under writes is backed up
// by an EtcdBackup; EtcdRestores then make new clusters from the chain — at the latest revision, at
// revisions picked at random, at a moment given with a +01:00 offset — each compared key by key (create
// and mod revisions, versions, values, leases) with the original cluster read at the restored revision;
// a restored cluster scales up (the new member joins, its init container restores nothing); a plain
// snapshot of a real etcd 3.6 becomes an etcd-ts cluster (migration); replaceExisting replaces a cluster
// and collects its claims once the new one is Available; bad input (a revision the chain does not reach,
// a missing EtcdBackup, a spec change) gets a clear answer, and nothing is created for a failed restore.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Store } from '../../etcd-node/src/backup/store/s3-store.js';
import { etcdRelease, missingEtcdReleases } from '../support/etcd-tools.js';
import { etcdctl } from '../support/etcdctl.js';
import { startMinio, type MinioServer } from '../support/minio.js';
import { freePorts, repoRoot, startServer } from '../support/servers.js';
import { env, eventually, kubectl, operatorKubeconfig, podLog, sleep, spawnOperator, stopProcess } from './support.js';

const NS = 'rs';
const BUCKET = 'restores';

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface RestoreStatus {
  phase?: string;
  restoredRevision?: number;
  restoredTime?: string;
  sourceObjects?: string[];
  sourceClusterId?: string;
  replacedClaims?: string[];
  replacedClusterId?: string;
  conditions?: Cond[];
}
interface Kv {
  key: string;
  value?: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease?: number;
}

const b64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString();

async function restoreStatus(name: string): Promise<RestoreStatus> {
  const r = await kubectl(['get', 'etcdrestore', name, '-n', NS, '-o', 'jsonpath={.status}']);
  return r.stdout ? (JSON.parse(r.stdout) as RestoreStatus) : {};
}

async function podIPs(cluster: string): Promise<string[]> {
  const r = await kubectl(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/name=etcd,app.kubernetes.io/instance=${cluster}`, '-o', 'jsonpath={.items[*].status.podIP}']);
  return r.stdout.split(' ').filter(Boolean);
}

/** Every key of the cluster (at `rev`, or now), as etcdctl's JSON gives them, decoded. */
async function keysAt(endpoint: string, rev?: number): Promise<{ revision: number; kvs: Kv[] }> {
  const r = await etcdctl(endpoint, ['get', '', '--from-key', '-w', 'json', ...(rev ? [`--rev=${rev}`] : [])]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { header: { revision: number }; kvs?: Kv[] };
  return { revision: Number(j.header.revision), kvs: (j.kvs ?? []).map((kv) => ({ ...kv, key: b64(kv.key), value: b64(kv.value) })) };
}

const restoreYaml = (name: string, source: string, target: string, cluster: string, extra = ''): string => `apiVersion: etcdts.dev/v1alpha1
kind: EtcdRestore
metadata: {name: ${name}, namespace: ${NS}}
spec:
  source: ${source}
  ${target ? `target: ${target}` : ''}
  cluster: {name: ${cluster}, spec: {version: "0.1.0", replicas: 3, storage: {size: 1Gi}}}
${extra}
`;

async function waitPhase(name: string, phase: string, timeoutMs = 180_000): Promise<RestoreStatus> {
  return eventually(
    `EtcdRestore ${name} to be ${phase}`,
    async () => {
      const s = await restoreStatus(name);
      if (s.phase === phase) return s;
      if (s.phase === 'Failed' && phase !== 'Failed') throw new Error(`EtcdRestore ${name} failed: ${JSON.stringify(s.conditions)}`);
      return undefined;
    },
    timeoutMs,
  );
}

/** A restore to a revision no chain reaches: Failed with TargetUnreachable naming it, no cluster made. */
async function failsUnreachable(name: string, source: string, cluster: string, timeoutMs: number): Promise<void> {
  assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml(name, source, '{revision: 999999999}', cluster))).code, 0);
  const s = await waitPhase(name, 'Failed', timeoutMs);
  const failed = s.conditions?.find((c) => c.type === 'Failed');
  assert.equal(failed?.reason, 'TargetUnreachable');
  assert.match(failed.message, /999999999/);
  assert.notEqual((await kubectl(['get', 'etcdcluster', cluster, '-n', NS])).code, 0, 'no EtcdCluster for a failed restore');
}

async function deleteCluster(name: string): Promise<void> {
  await kubectl(['delete', 'etcdcluster', name, '-n', NS, '--wait=true']);
  await eventually(`the pods of ${name} to go`, async () => ((await podIPs(name)).length === 0 ? true : undefined), 60_000);
}

describe('EtcdRestore: new clusters from the backups', () => {
  let operator: ChildProcess | undefined;
  let logs = '';
  let minio: MinioServer;
  let store: S3Store;
  let s3spec = '';
  let writing = true;
  let writer: Promise<void> | undefined;
  /** revision → the moment its put was acknowledged */
  const acked: Array<{ revision: number; at: number }> = [];
  let source = '';
  let leaseId = '';

  /** The restored cluster `name` holds exactly what the source held at `rev`; its new revisions go on from it. */
  const sameAsSourceAt = async (name: string, rev: number): Promise<void> => {
    const restored = (await podIPs(name)).map((ip) => `${ip}:2379`);
    assert.equal(restored.length, 3);
    const want = await keysAt(source, rev);
    for (const ep of restored) {
      const got = await keysAt(ep);
      assert.equal(got.revision, rev, `${ep}: the restored cluster's revision`);
      assert.deepEqual(
        got.kvs.map((kv) => ({ ...kv, lease: undefined })),
        want.kvs.map((kv) => ({ ...kv, lease: undefined })),
        `${ep}: keys, values, create/mod revisions and versions as the source at ${rev}`,
      );
    }
    // the source's lease is a lease of the restored cluster, with its key (ids in hex: JSON numbers of
    // etcdctl's output lose a 64-bit id's low bits)
    assert.ok(want.kvs.some((kv) => kv.key === 'leased/a' && kv.lease), 'leased/a has a lease in the source');
    const ttl = await etcdctl(restored[0]!, ['lease', 'timetolive', leaseId, '--keys']);
    assert.match(ttl.stdout, new RegExp(`lease ${leaseId} granted with TTL\\(7200s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased/a\\]\\)`), ttl.stdout);
    const put = await etcdctl(restored[0]!, ['put', 'after-restore', 'x', '-w', 'json']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(Number((JSON.parse(put.stdout) as { header: { revision: number } }).header.revision), rev + 1, 'the next revision follows the restored one');
  };

  before(async () => {
    assert.equal((await kubectl(['apply', '-f', join(repoRoot, 'crds')])).code, 0);
    for (const crd of ['etcdclusters', 'etcdbackups', 'etcdrestores']) await kubectl(['wait', '--for=condition=Established', `crd/${crd}.etcdts.dev`, '--timeout=30s']);
    await kubectl(['create', 'namespace', NS]);
    const kubeconfig = await operatorKubeconfig(join(env.certDir, 'operator-rs.kubeconfig'));
    const port = (await freePorts(1))[0]!;
    operator = spawnOperator(kubeconfig, [`--namespace=${NS}`, `--metrics-address=127.0.0.1:${port}`, '--agent-image=etcd-ts/etcd-operator:test'], (t) => {
      logs += t;
      if (logs.length > 2_000_000) logs = logs.slice(-1_000_000);
    });
    minio = await startMinio();
    await minio.createBucket(BUCKET);
    store = new S3Store({ endpoint: minio.endpoint, bucket: BUCKET, region: minio.region, forcePathStyle: true, accessKeyId: minio.rootUser, secretAccessKey: minio.rootPassword });
    const creds = await kubectl(['create', 'secret', 'generic', 's3-creds', '-n', NS, `--from-literal=accessKeyId=${minio.rootUser}`, `--from-literal=secretAccessKey=${minio.rootPassword}`]);
    assert.equal(creds.code, 0, creds.stderr);
    s3spec = `s3: {endpoint: "${minio.endpoint}", bucket: ${BUCKET}, credentialsSecret: s3-creds`;
    const ec = await kubectl(['apply', '-f', '-'], `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdCluster\nmetadata: {name: db, namespace: ${NS}}\nspec: {version: "0.1.0", replicas: 3, storage: {size: 1Gi}}\n`);
    assert.equal(ec.code, 0, ec.stderr);
    await eventually(
      'the EtcdCluster db to be Available with 3 members',
      async () => ((await kubectl(['get', 'etcdcluster', 'db', '-n', NS, '-o', 'jsonpath={.status.phase} {.status.readyMembers}'])).stdout === 'Running 3' ? true : undefined),
      180_000,
    );
    const ips = await podIPs('db');
    source = `${ips[0]}:2379`;
    // a lease with keys, deletes and overwrites: what a restore must get exactly right
    const grant = await etcdctl(source, ['lease', 'grant', '7200']);
    const lease = /lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1];
    assert.ok(lease, grant.stdout);
    leaseId = lease;
    assert.equal((await etcdctl(source, ['put', 'leased/a', 'v', `--lease=${lease}`])).code, 0);
    const bk = await kubectl(['apply', '-f', '-'], `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdBackup\nmetadata: {name: main, namespace: ${NS}}\nspec:\n  clusterName: db\n  deltaPeriod: 2s\n  store: {${s3spec}, prefix: bk}}\n`);
    assert.equal(bk.code, 0, bk.stderr);
    await eventually('the backup to be Ready', async () => {
      const r = await kubectl(['get', 'etcdbackup', 'main', '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return r.stdout === 'True' ? true : undefined;
    }, 120_000);
    writer = (async () => {
      for (let i = 0; writing; i++) {
        const args = i % 7 === 3 ? ['del', `k/${(i * 13) % 50}`, '-w', 'json'] : ['put', `k/${i % 50}`, `v${i}`, '-w', 'json'];
        const r = await etcdctl(`${ips[i % ips.length]}:2379`, ['--command-timeout=3s', ...args]);
        if (r.code === 0) acked.push({ revision: Number((JSON.parse(r.stdout) as { header: { revision: number } }).header.revision), at: Date.now() });
        else await sleep(100);
      }
    })();
    await sleep(8000);
  });

  after(async () => {
    writing = false;
    await writer;
    await stopProcess(operator);
    store?.close();
    await minio?.stop();
    if (process.env['SHOW_OPERATOR_LOGS']) console.log(logs);
  });

  it('latest: the members restore the newest revision the chain holds, recorded once in status', async () => {
    const before = acked[acked.length - 1]!.revision;
    await sleep(4000); // two delta periods: the chain reaches past `before`
    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-latest', '{backupName: main}', '', 'db-latest'))).code, 0);
    const s = await waitPhase('r-latest', 'Succeeded');
    assert.ok(s.restoredRevision && s.restoredRevision >= before, `restoredRevision ${s.restoredRevision} reaches ${before}`);
    assert.match(s.sourceClusterId ?? '', /^[0-9a-f]{16}$/);
    assert.match(s.sourceObjects?.[0] ?? '', /\/full\//, 'a full snapshot first');
    assert.ok((s.sourceObjects ?? []).length >= 2, 'then deltas');
    const complete = s.conditions?.find((c) => c.type === 'Complete');
    assert.equal(complete?.status, 'True');
    assert.match(complete.message, new RegExp(`db-latest is Available at revision ${s.restoredRevision}`));
    // the record is kept as it was resolved, though the chain has grown since
    await sleep(3000);
    assert.equal((await restoreStatus('r-latest')).restoredRevision, s.restoredRevision);
    await sameAsSourceAt('db-latest', s.restoredRevision);
    const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=r-latest', '-o', 'jsonpath={.items[*].reason}']);
    for (const r of ['Resolved', 'ClusterCreated', 'Restored']) assert.match(events.stdout, new RegExp(r));
    // the spec is immutable: another attempt is another EtcdRestore
    const patch = await kubectl(['patch', 'etcdrestore', 'r-latest', '-n', NS, '--type=json', '-p', '[{"op":"replace","path":"/spec/target","value":{"revision":5}}]']);
    assert.notEqual(patch.code, 0);
    assert.match(patch.stderr, /spec: Invalid value: an EtcdRestore cannot be changed; create another/);
  });

  it('a re-created member pod keeps its data; a scale-up\'s new member joins, and neither restores again', async () => {
    const before = await keysAt(`${(await podIPs('db-latest'))[0]}:2379`);
    assert.equal((await kubectl(['delete', 'pod', 'db-latest-1', '-n', NS, '--wait=true'])).code, 0);
    await eventually(
      'db-latest-1 to be back and ready',
      async () => ((await kubectl(['get', 'pod', 'db-latest-1', '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True' ? true : undefined),
      120_000,
    );
    // the new pod's init container wrote nothing: its member is there (--skip-existing), or the cluster is
    // settled and a member joins an existing one (--initial-cluster-state existing)
    const log1 = podLog(NS, 'db-latest-1');
    assert.equal(log1.split('restored revision').length - 1, 1, 'restored once, when the cluster was created');
    assert.match(log1.slice(log1.indexOf('----- exited')), /nothing to restore/);
    const ip1 = (await kubectl(['get', 'pod', 'db-latest-1', '-n', NS, '-o', 'jsonpath={.status.podIP}'])).stdout;
    await eventually('db-latest-1 to serve the same keys', async () => {
      const now = await keysAt(`${ip1}:2379`).catch(() => undefined);
      return now && JSON.stringify(now.kvs) === JSON.stringify(before.kvs) ? true : undefined;
    }, 30_000);
    assert.equal((await kubectl(['patch', 'etcdcluster', 'db-latest', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":4}}'])).code, 0);
    await eventually(
      'db-latest to run 4 members',
      async () => ((await kubectl(['get', 'etcdcluster', 'db-latest', '-n', NS, '-o', 'jsonpath={.status.phase} {.status.readyMembers}'])).stdout === 'Running 4' ? true : undefined),
      180_000,
    );
    const ips = await podIPs('db-latest');
    const a = await keysAt(`${ips[0]}:2379`);
    const newest = (await kubectl(['get', 'pod', 'db-latest-3', '-n', NS, '-o', 'jsonpath={.status.podIP}'])).stdout;
    const b = await keysAt(`${newest}:2379`);
    assert.deepEqual(b.kvs, a.kvs, 'the joined member serves the same data');
    assert.match(podLog(NS, 'db-latest-3'), /joins an existing cluster \(--initial-cluster-state existing\): nothing to restore/);
    await deleteCluster('db-latest');
  });

  it('revisions picked at random and a moment with a +01:00 offset restore exactly that state', async () => {
    const done = acked.filter((a) => a.at < Date.now() - 5000);
    const first = done[0]!.revision;
    const last = done[done.length - 1]!.revision;
    const picks = [0, 1, 2].map(() => first + Math.floor(Math.random() * (last - first)));
    // a moment: 1.5 s after a put was acknowledged (the agent received it by then), written at +01:00
    const mark = done[Math.floor(done.length / 2)]!;
    const at = new Date(mark.at + 1500 + 3_600_000).toISOString().replace(/\.\d+Z$/, '+01:00');
    for (const [i, rev] of picks.entries()) {
      assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml(`r-rev${i}`, '{backupName: main}', `{revision: ${rev}}`, `db-rev${i}`))).code, 0);
      const s = await waitPhase(`r-rev${i}`, 'Succeeded');
      assert.equal(s.restoredRevision, rev);
      await sameAsSourceAt(`db-rev${i}`, rev);
      await deleteCluster(`db-rev${i}`);
    }
    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-time', '{backupName: main}', `{time: "${at}"}`, 'db-time'))).code, 0);
    const s = await waitPhase('r-time', 'Succeeded');
    assert.ok(s.restoredRevision! >= mark.revision, `the put at revision ${mark.revision} (acknowledged 1.5 s before ${at}) is in the restore (${s.restoredRevision})`);
    assert.ok(Date.parse(s.restoredTime!) <= Date.parse(at), `restoredTime ${s.restoredTime} is at or before ${at}`);
    const later = acked.find((a) => a.at > Date.parse(at) + 2000);
    if (later) assert.ok(s.restoredRevision! < later.revision, `a put acknowledged 2 s after ${at} (revision ${later.revision}) is not in it`);
    await sameAsSourceAt('db-time', s.restoredRevision!);
    await deleteCluster('db-time');
  });

  it('bad input: a revision the chain does not reach fails and creates nothing; a missing EtcdBackup waits, naming it', async () => {
    await failsUnreachable('r-far', '{backupName: main}', 'db-far', 60_000);
    const ev = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=r-far', '-o', 'jsonpath={.items[*].type}/{.items[*].reason}']);
    assert.match(ev.stdout, /Warning.*TargetUnreachable/);

    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-nobackup', '{backupName: nightly}', '', 'db-nb'))).code, 0);
    const p = await waitPhase('r-nobackup', 'Pending', 30_000);
    assert.match(p.conditions?.find((c) => c.type === 'Complete')?.message ?? '', /not found: EtcdBackup rs\/nightly/);
    assert.notEqual((await kubectl(['get', 'etcdcluster', 'db-nb', '-n', NS])).code, 0);
    await kubectl(['delete', 'etcdrestore', 'r-nobackup', '-n', NS]);

    const two = await kubectl(['apply', '-f', '-'], restoreYaml('r-two', '{backupName: main, snapshot: {store: {s3: {bucket: some-bucket, credentialsSecret: creds}}, object: o}}', '', 'db-two'));
    assert.notEqual(two.code, 0);
    assert.match(two.stderr, /exactly one of backupName, store or snapshot/);
  });

  it('a volume store: a resolve pod reads the claim for the operator, the members restore from it read-only', async () => {
    const pvc = await kubectl(['apply', '-f', '-'], `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bk-vol, namespace: ${NS}}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n`);
    assert.equal(pvc.code, 0, pvc.stderr);
    const bk = await kubectl(['apply', '-f', '-'], `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdBackup\nmetadata: {name: vol, namespace: ${NS}}\nspec:\n  clusterName: db\n  deltaPeriod: 2s\n  store: {volume: {claimName: bk-vol, path: chains}}\n`);
    assert.equal(bk.code, 0, bk.stderr);
    const recoverable = async (): Promise<number> => {
      const r = await kubectl(['get', 'etcdbackup', 'vol', '-n', NS, '-o', 'jsonpath={.status.latestRecoverable.revision}']);
      return Number(r.stdout || 0);
    };
    const first = await eventually('the volume backup to hold a recoverable revision', async () => ((await recoverable()) > 0 ? recoverable() : undefined), 120_000);
    const latest = await eventually('the volume chain to grow past its full snapshot', async () => {
      const n = await recoverable();
      return n > first + 10 ? n : undefined;
    }, 60_000);
    const candidates = acked.filter((a) => a.revision > first && a.revision <= latest);
    assert.ok(candidates.length > 0, `writes acknowledged between ${first} and ${latest}`);
    const rev = candidates[Math.floor(candidates.length / 2)]!.revision;
    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-vol', '{backupName: vol}', `{revision: ${rev}}`, 'db-vol'))).code, 0);
    const s = await waitPhase('r-vol', 'Succeeded');
    assert.equal(s.restoredRevision, rev);
    assert.match(s.sourceObjects?.[0] ?? '', /\/full\//, `the chain's full snapshot first: ${JSON.stringify(s.sourceObjects)}`);
    const resolved = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=r-vol,reason=Resolved', '-o', 'jsonpath={.items[*].message}']);
    assert.match(resolved.stdout, new RegExp(`resolved to revision ${rev} of chain ${s.sourceClusterId}`));
    assert.notEqual((await kubectl(['get', 'pod', 'r-vol-resolve', '-n', NS])).code, 0, 'the resolve pod is deleted once read');
    await sameAsSourceAt('db-vol', rev);
    const sts = await kubectl(['get', 'statefulset', 'db-vol', '-n', NS, '-o', 'jsonpath={.spec.template.spec.volumes[?(@.name=="restore-store")].persistentVolumeClaim}']);
    assert.deepEqual(JSON.parse(sts.stdout), { claimName: 'bk-vol', readOnly: true }, 'the members mount the backup claim read-only');
    await deleteCluster('db-vol');

    // what the resolve pod finds wrong reaches the EtcdRestore as it would from S3: reason and message
    await failsUnreachable('r-vol-far', '{backupName: vol}', 'db-vol-far', 90_000);
    await eventually('the failed resolve pod to be deleted', async () => ((await kubectl(['get', 'pod', 'r-vol-far-resolve', '-n', NS])).code !== 0 ? true : undefined), 30_000);
    await kubectl(['delete', 'etcdbackup', 'vol', '-n', NS, '--wait=true']);
  });

  it('a snapshot of a real etcd 3.6 (etcdctl snapshot save) becomes an etcd-ts cluster: migration', { skip: missingEtcdReleases() && process.env['CI'] !== 'true' ? missingEtcdReleases() : false }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'etcd-ts-restore-e2e-'));
    try {
      const etcd = await startServer({ kind: 'etcd', etcdBinary: etcdRelease('3.6').path('etcd'), dataDir: join(work, 'etcd') });
      let want: { revision: number; kvs: Kv[] };
      try {
        for (let i = 0; i < 30; i++) assert.equal((await etcdctl(etcd.endpoint, ['put', `m/${i % 10}`, `from-etcd-${i}`])).code, 0);
        assert.equal((await etcdctl(etcd.endpoint, ['del', 'm/3'])).code, 0);
        const saved = await etcdctl(etcd.endpoint, ['snapshot', 'save', join(work, 'etcd.db')]);
        assert.equal(saved.code, 0, saved.stderr);
        want = await keysAt(etcd.endpoint);
      } finally {
        await etcd.stop();
      }
      await store.put('migrate/etcd-3.6.db', readFileSync(join(work, 'etcd.db')));
      const src = `{snapshot: {store: {${s3spec}}}, object: migrate/etcd-3.6.db}}`;
      assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-migrate', src, '', 'db-migrated'))).code, 0);
      await waitPhase('r-migrate', 'Succeeded');
      for (const ip of await podIPs('db-migrated')) {
        const got = await keysAt(`${ip}:2379`);
        assert.equal(got.revision, want.revision);
        assert.deepEqual(got.kvs, want.kvs, `${ip}: the keys of the real etcd, with their revisions and versions`);
      }
      await deleteCluster('db-migrated');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('replaceExisting: the old members stop, the new cluster takes the name, the old claims go once it is Available', async () => {
    const rev = acked[Math.floor(acked.length / 3)]!.revision;
    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-base', '{backupName: main}', `{revision: ${rev}}`, 'db-x'))).code, 0);
    await waitPhase('r-base', 'Succeeded');
    const oldClaims = (await kubectl(['get', 'pvc', '-n', NS, '-l', 'app.kubernetes.io/instance=db-x', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ').filter(Boolean).sort();
    assert.deepEqual(oldClaims, ['data-db-x-0', 'data-db-x-1', 'data-db-x-2']);
    const oldId = (await kubectl(['get', 'etcdcluster', 'db-x', '-n', NS, '-o', 'jsonpath={.status.clusterId}'])).stdout;

    const refused = await kubectl(['apply', '-f', '-'], restoreYaml('r-taken', '{backupName: main}', '', 'db-x'));
    assert.equal(refused.code, 0);
    const f = await waitPhase('r-taken', 'Failed', 60_000);
    assert.equal(f.conditions?.find((c) => c.type === 'Failed')?.reason, 'ClusterExists');

    const rev2 = acked[Math.floor((2 * acked.length) / 3)]!.revision;
    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-replace', '{backupName: main}', `{revision: ${rev2}}`, 'db-x', '  replaceExisting: true'))).code, 0);
    const s = await waitPhase('r-replace', 'Succeeded', 240_000);
    assert.equal(s.replacedClusterId, oldId);
    assert.deepEqual(s.replacedClaims, oldClaims);
    await sameAsSourceAt('db-x', rev2);
    await eventually('the old claims to be deleted', async () => {
      const left = (await kubectl(['get', 'pvc', '-n', NS, '-l', 'app.kubernetes.io/instance=db-x', '-o', 'jsonpath={.items[*].metadata.name}'])).stdout.split(' ').filter(Boolean);
      return oldClaims.every((c) => !left.includes(c)) && left.length === 3 ? true : undefined;
    }, 60_000);
    await deleteCluster('db-x');
  });

  it('a corrupted delta: the members\' restores fail naming the object; Failed, and the cluster it made is deleted', async () => {
    const prefix = 'bk/rs/db/';
    const deltas = (await store.list(prefix)).filter((o) => o.name.includes('/delta/'));
    const victim = deltas[Math.floor(deltas.length / 2)]!;
    const body = await store.get(victim.name);
    const at = Math.floor(body.length / 2);
    body.writeUInt8(body.readUInt8(at) ^ 0xff, at);
    await store.put(victim.name, body);
    assert.equal((await kubectl(['apply', '-f', '-'], restoreYaml('r-corrupt', '{backupName: main}', '', 'db-corrupt'))).code, 0);
    // five failed attempts, each replaying the chain up to the bad delta: minutes on a loaded machine
    const s = await waitPhase('r-corrupt', 'Failed', 300_000);
    const failed = s.conditions?.find((c) => c.type === 'Failed');
    assert.equal(failed?.reason, 'RestoreFailed');
    assert.ok(failed.message.includes(victim.name.split('/').pop()!), `the message names ${victim.name}: ${failed.message}`);
    await eventually('the cluster it created to be gone', async () => ((await kubectl(['get', 'etcdcluster', 'db-corrupt', '-n', NS])).code !== 0 ? true : undefined), 60_000);
  });
});
