// EtcdBackup on the real control plane, with a real MinIO: a 3-member cluster under a steady write load
// is backed up (a full at start, a delta about every deltaPeriod, nothing stored in plaintext, status
// fields that match the store, the agent's metrics); the agent killed with SIGKILL → its successor goes
// on with no gap and no duplicate; the member the tail watches killed → the tail goes on elsewhere;
// suspend, a compaction past the tail while suspended, resume → a full at once and Degraded naming the
// hole; on-demand fulls and retention; a key Secret replaced without the old key → Degraded, fixed by
// keeping both; bad input (a schedule the schema or cron-parser refuses, a missing credentials Secret, a
// bucket that does not exist, an unreachable store, a malformed key) → a clear condition; deleting the
// EtcdBackup collects the agent but keeps the generated key. The store checker (`etcd-operator backup
// check`) verifies the store against the cluster's own history after each fault.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseName, type DeltaRef, type FullRef } from '../../etcd-node/src/backup/names.js';
import { S3Store } from '../../etcd-node/src/backup/store/s3-store.js';
import { etcdctl } from '../support/etcdctl.js';
import { startMinio, type MinioServer } from '../support/minio.js';
import { freePorts, repoRoot } from '../support/servers.js';
import { env, eventually, kubectl, operatorKubeconfig, otherBuild, podLog, sleep, spawnOperator, stopProcess } from './support.js';

const NS = 'bk';
const BUCKET = 'etcd-backups';

interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface BackupStatus {
  clusterId?: string;
  encryptionKeySecret?: string;
  lastFullSnapshot?: { revision: number; time: string; object: string; size: number; sha256: string };
  lastDelta?: { fromRevision: number; toRevision: number; time: string; object: string };
  latestRecoverable?: { revision: number; time: string };
  objects?: number;
  bytes?: number;
  gaps?: Array<{ fromRevision: number; toRevision: number }>;
  tail?: { endpoint?: string; lagRevisions: number };
  lastOnDemandSnapshot?: { request: string; revision: number };
  conditions?: Cond[];
}

async function backupStatus(name: string): Promise<BackupStatus> {
  const r = await kubectl(['get', 'etcdbackup', name, '-n', NS, '-o', 'jsonpath={.status}']);
  return r.stdout ? (JSON.parse(r.stdout) as BackupStatus) : {};
}
const cond = (s: BackupStatus, type: string): Cond | undefined => s.conditions?.find((c) => c.type === type);

async function podIPs(selector: string): Promise<string[]> {
  const r = await kubectl(['get', 'pods', '-n', NS, '-l', selector, '-o', 'jsonpath={.items[*].status.podIP}']);
  return r.stdout.split(' ').filter(Boolean);
}

/** The pid the pod runner reports for a pod's process (containerID local-process://<pid>). */
async function podPid(pod: string): Promise<number> {
  const r = await kubectl(['get', 'pod', pod, '-n', NS, '-o', 'jsonpath={.status.containerStatuses[0].containerID}']);
  const pid = Number(/local-process:\/\/(\d+)/.exec(r.stdout)?.[1] ?? 0);
  assert.ok(pid > 0, `pod ${pod} has a process: ${r.stdout}; its output ends:\n${podLog(NS, pod).slice(-3000)}`);
  return pid;
}

async function agentPod(backup: string): Promise<string | undefined> {
  const r = await kubectl(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/name=etcd-backup-agent,app.kubernetes.io/instance=${backup}`, '-o', 'jsonpath={.items[*].metadata.name}']);
  return r.stdout.split(' ').filter(Boolean)[0];
}

const backupYaml = (name: string, spec: string): string => `apiVersion: etcdts.dev/v1alpha1
kind: EtcdBackup
metadata: {name: ${name}, namespace: ${NS}}
spec:
  clusterName: db
${spec.replace(/^/gm, '  ')}
`;

describe('EtcdBackup: incremental backups to S3 (MinIO)', () => {
  let operator: ChildProcess | undefined;
  let logs = '';
  let minio: MinioServer;
  let store: S3Store;
  let s3spec = '';
  let writing = true;
  let writer: Promise<void> | undefined;
  let acked = 0;

  const objects = async (prefix = `main/${NS}/db/`): Promise<Array<FullRef | DeltaRef>> =>
    (await store.list(prefix)).map((o) => parseName(o.name, o.size)).filter((r): r is FullRef | DeltaRef => r !== undefined);

  /** `etcd-operator backup check` with the generated key, compared with the cluster's history */
  const check = async (keyFiles: string[], prefix = 'main'): Promise<{ code: number | null; report: { ok: boolean; chains: Array<{ gaps: unknown[]; errors: string[]; reachable: Array<{ from: number; to: number }>; history?: { compared: number }; fulls: number }> } }> => {
    const ips = await podIPs('app.kubernetes.io/name=etcd,app.kubernetes.io/instance=db');
    const args = [join(repoRoot, 'bin', 'etcd-operator.js'), 'backup', 'check', '--store', `s3://${BUCKET}/${prefix}`, '--s3-endpoint', minio.endpoint, '--namespace', NS, '--cluster', 'db', '--json', '--endpoints', ips.map((ip) => `${ip}:2379`).join(',')];
    for (const k of keyFiles) args.push('--key-file', k);
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, args, { env: { ...process.env, AWS_ACCESS_KEY_ID: minio.rootUser, AWS_SECRET_ACCESS_KEY: minio.rootPassword }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (b: Buffer) => (out += b.toString()));
      p.stderr.on('data', (b: Buffer) => (err += b.toString()));
      p.once('error', reject);
      p.once('close', (code) => {
        try {
          resolve({ code, report: JSON.parse(out) as never });
        } catch {
          reject(new Error(`backup check printed no report (exit ${code}): ${out}\n${err}`));
        }
      });
    });
  };

  const keyFile = async (secret: string, entry = 'key'): Promise<string> => {
    const r = await kubectl(['get', 'secret', secret, '-n', NS, '-o', `jsonpath={.data.${entry.replace('.', '\\.')}}`]);
    assert.equal(r.code, 0, r.stderr);
    const f = join(env.certDir, `${secret}-${entry}.key`);
    writeFileSync(f, Buffer.from(r.stdout, 'base64'));
    return f;
  };

  before(async () => {
    assert.equal((await kubectl(['apply', '-f', join(repoRoot, 'crds')])).code, 0);
    for (const crd of ['etcdclusters', 'etcdbackups']) await kubectl(['wait', '--for=condition=Established', `crd/${crd}.etcdts.dev`, '--timeout=30s']);
    await kubectl(['create', 'namespace', NS]);
    const kubeconfig = await operatorKubeconfig(join(env.certDir, 'operator-bk.kubeconfig'));
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
      async () => {
        const r = await kubectl(['get', 'etcdcluster', 'db', '-n', NS, '-o', 'jsonpath={.status.phase} {.status.readyMembers}']);
        return r.stdout === 'Running 3' ? true : undefined;
      },
      180_000,
    );
    // a steady write load from the start: puts through every member in turn
    const ips = await podIPs('app.kubernetes.io/name=etcd,app.kubernetes.io/instance=db');
    writer = (async () => {
      for (let i = 0; writing; i++) {
        const r = await etcdctl(`${ips[i % ips.length]}:2379`, ['--command-timeout=3s', 'put', `load/${i % 200}`, `plaintext-marker-${i}`]);
        if (r.code === 0) acked++;
        else await sleep(100);
      }
    })();
  });

  after(async () => {
    writing = false;
    await writer;
    await stopProcess(operator);
    store?.close();
    await minio?.stop();
    if (process.env['SHOW_OPERATOR_LOGS']) console.log(logs);
  });

  it('refuses a schedule the schema can judge at apply time, and reports one cron-parser refuses at once', async () => {
    const banana = await kubectl(['apply', '-f', '-'], backupYaml('banana', `fullSchedule: banana\nstore: {${s3spec}}}`));
    assert.notEqual(banana.code, 0);
    assert.match(banana.stderr, /spec\.fullSchedule: Invalid value: "banana": spec\.fullSchedule in body should match/);
    const ok = await kubectl(['apply', '-f', '-'], backupYaml('minute61', `fullSchedule: "61 * * * *"\nstore: {${s3spec}, prefix: m61}}`));
    assert.equal(ok.code, 0, ok.stderr);
    const s = await eventually('minute61 to be Degraded', async () => {
      const st = await backupStatus('minute61');
      return cond(st, 'Degraded')?.status === 'True' ? st : undefined;
    });
    assert.equal(cond(s, 'Degraded')?.reason, 'InvalidSchedule');
    assert.match(cond(s, 'Degraded')!.message, /spec\.fullSchedule: schedule "61 \* \* \* \*": Constraint error, got value 61 expected range 0-59/);
    assert.equal(cond(s, 'Ready')?.status, 'False');
    // no agent runs for a schedule that cannot work: none was ever created (or it is scaled to 0)
    const replicas = await kubectl(['get', 'deployment', 'minute61-backup-agent', '-n', NS, '-o', 'jsonpath={.spec.replicas}']);
    if (replicas.code === 0) assert.equal(replicas.stdout, '0', 'the agent of an invalid schedule is scaled to 0');
    else assert.match(replicas.stderr, /NotFound/);
    assert.equal(await agentPod('minute61'), undefined, 'no agent pod');
    const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=minute61', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events.stdout, /InvalidSchedule/);
    await kubectl(['delete', 'etcdbackup', 'minute61', '-n', NS]);
  });

  it('a full snapshot at start, then a delta about every deltaPeriod; encrypted; status matches the store', async () => {
    // the default schedule (*/30) puts a scheduled full into whichever test runs at :00 or :30 (with a
    // full every minute the suspend test fails: the scheduled full clears TailCompacted before it is
    // seen); the suite takes minutes, so a daily full 12 hours from now never fires during it
    const quiet = `0 ${(new Date().getUTCHours() + 12) % 24} * * *`;
    const applied = await kubectl(['apply', '-f', '-'], backupYaml('main', `fullSchedule: "${quiet}"\ndeltaPeriod: 3s\nstore: {${s3spec}, prefix: main}}`));
    assert.equal(applied.code, 0, applied.stderr);
    const ready = await eventually(
      'the backup to be Ready',
      async () => {
        const st = await backupStatus('main');
        return cond(st, 'Ready')?.status === 'True' ? st : undefined;
      },
      120_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- operator log (tail) ---\n${logs.split('\n').slice(-30).join('\n')}`, { cause: err });
    });
    assert.equal(ready.encryptionKeySecret, 'main-encryption-key');
    const secret = JSON.parse((await kubectl(['get', 'secret', 'main-encryption-key', '-n', NS, '-o', 'json'])).stdout) as { metadata: { ownerReferences?: unknown[] } };
    assert.equal(secret.metadata.ownerReferences, undefined, 'nothing owns the generated key');
    assert.ok(ready.lastFullSnapshot, 'a full snapshot at start');
    const since = Date.now();
    await sleep(15_000);
    const objs = await objects();
    const deltas = objs.filter((o): o is DeltaRef => o.kind === 'delta' && o.time >= since);
    assert.ok(deltas.length >= 3, `${deltas.length} deltas in 15 s of writes with a 3 s period`);
    for (let i = 1; i < deltas.length; i++) assert.ok(deltas[i]!.time - deltas[i - 1]!.time >= 1500, `deltas ${deltas[i - 1]!.name} and ${deltas[i]!.name} are less than half a period apart`);
    // nothing in plaintext: the load writes values that say so
    for (const o of objs.slice(-5)) assert.equal((await store.get(o.name)).indexOf('plaintext-marker'), -1, `${o.name} holds plaintext`);
    // status tells what the store holds. The agent writes status at most every 2 s while it uploads every
    // 3 s, so status may be one upload behind the store (two when an upload lands while this reads it):
    // the store is listed before and after status is read, and status must name an object's end revision
    // among the store's last three, with a count between the two listings'.
    const endOf = (o: FullRef | DeltaRef): number => (o.kind === 'full' ? o.revision : o.to);
    const listed = await objects();
    const st = await backupStatus('main');
    const now = await objects();
    const ends = now.map(endOf).sort((a, b) => a - b);
    const at = ends.lastIndexOf(st.latestRecoverable?.revision ?? -1);
    assert.ok(at >= 0 && ends.length - 1 - at <= 2, `latestRecoverable ${st.latestRecoverable?.revision} is not the end of one of the store's last objects (${ends.slice(-4).join(', ')})`);
    assert.ok(st.objects !== undefined && st.objects >= listed.length - 2 && st.objects <= now.length, `status.objects ${st.objects}, the store had ${listed.length} then ${now.length}`);
    assert.ok(now.some((o) => o.name === st.lastFullSnapshot?.object), 'lastFullSnapshot.object is in the store');
    // the agent's metrics
    const ip = (await podIPs('app.kubernetes.io/name=etcd-backup-agent,app.kubernetes.io/instance=main'))[0]!;
    const metrics = await new Promise<string>((resolve, reject) => {
      http.get({ host: ip, port: 8080, path: '/metrics' }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.match(metrics, /^etcd_backup_last_full_snapshot_timestamp_seconds \d/m);
    assert.match(metrics, /^etcd_backup_uploaded_objects_total\{kind="delta"\} [1-9]/m);
    const table = await kubectl(['get', 'etcdbackups', '-n', NS]);
    assert.match(table.stdout, /^NAME\s+CLUSTER\s+READY\s+RECOVERABLE\s+LAST-FULL\s+OBJECTS\s+AGE/);
    assert.match(table.stdout, /\nmain\s+db\s+True\s+\d+/);
  });

  it('the agent killed (SIGKILL) mid-write: the next one goes on with no gap and no duplicate', async () => {
    for (let round = 0; round < 2; round++) {
      const pod = (await agentPod('main'))!;
      const pid = await podPid(pod);
      await sleep(500 + Math.floor(Math.random() * 2500));
      process.kill(pid, 'SIGKILL');
      // the pod runner starts it again; the new agent waits for the Lease, then resumes from the store
      await eventually(
        'a new agent process',
        async () => {
          const now = await podPid(pod).catch(() => 0);
          return now > 0 && now !== pid ? true : undefined;
        },
        30_000,
      );
    }
    const before = (await backupStatus('main')).latestRecoverable?.revision ?? 0;
    await eventually(
      'the new agent to write again',
      async () => ((await backupStatus('main')).latestRecoverable?.revision ?? 0) > before + 5 || undefined,
      90_000,
    );
    const { code, report } = await check([await keyFile('main-encryption-key')]);
    const c = report.chains[0]!;
    assert.equal(code, 0, JSON.stringify(c.errors));
    assert.deepEqual(c.gaps, []);
    assert.equal(c.reachable.length, 1);
    assert.ok((c.history?.compared ?? 0) > 50, `compared ${c.history?.compared} revisions with the cluster`);
  });

  it('the member the tail watches killed: the tail goes on through another member', async () => {
    const st = await backupStatus('main');
    const watched = st.tail?.endpoint;
    assert.ok(watched, `status names the member the tail watches: ${JSON.stringify(st.tail)}`);
    const pod = watched.split('.')[0]!;
    process.kill(await podPid(pod), 'SIGKILL');
    await eventually(
      'the tail to move to another member',
      async () => {
        const s = await backupStatus('main');
        return s.tail?.endpoint && s.tail.endpoint !== watched && (s.latestRecoverable?.revision ?? 0) > (st.latestRecoverable?.revision ?? 0) + 5 ? true : undefined;
      },
      60_000,
    ).catch(async (err: unknown) => {
      const agent = await agentPod('main');
      throw new Error(`${String(err)}\nbefore: ${JSON.stringify(st.tail)} at ${st.latestRecoverable?.revision}\nnow: ${JSON.stringify(await backupStatus('main'))}\nagent ${agent}:\n${agent ? podLog(NS, agent).slice(-4000) : ''}`);
    });
    const { code, report } = await check([await keyFile('main-encryption-key')]);
    assert.equal(code, 0, JSON.stringify(report.chains[0]?.errors));
    assert.deepEqual(report.chains[0]!.gaps, []);
  });

  it('suspend, a compaction past the tail, resume: a full at once and Degraded naming the hole', async () => {
    assert.equal((await kubectl(['patch', 'etcdbackup', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}'])).code, 0);
    await eventually('the agent to stop', async () => ((await agentPod('main')) === undefined ? true : undefined), 60_000);
    const suspended = await backupStatus('main');
    assert.equal(cond(suspended, 'Ready')?.reason, 'Suspended');
    const end = suspended.latestRecoverable!.revision;
    await sleep(3000); // the load goes on
    const ip = (await podIPs('app.kubernetes.io/name=etcd,app.kubernetes.io/instance=db'))[0]!;
    const head = Number((JSON.parse((await etcdctl(`${ip}:2379`, ['get', 'x', '-w', 'json'])).stdout) as { header: { revision: number } }).header.revision);
    assert.ok(head > end + 2);
    assert.equal((await etcdctl(`${ip}:2379`, ['compact', String(head)])).code, 0);
    assert.equal((await kubectl(['patch', 'etcdbackup', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":false}}'])).code, 0);
    const degraded = await eventually(
      'Degraded with the hole named',
      async () => {
        const s = await backupStatus('main');
        return cond(s, 'Degraded')?.reason === 'TailCompacted' && /cannot be restored/.test(cond(s, 'Degraded')!.message) ? s : undefined;
      },
      90_000,
    );
    assert.match(cond(degraded, 'Degraded')!.message, new RegExp(`revisions ${end + 1}–\\d+ cannot be restored: compaction at revision ${head} removed them`));
    assert.ok(degraded.lastFullSnapshot!.revision >= head, 'a full snapshot at or after the compaction');
    assert.equal(degraded.gaps?.[0]?.fromRevision, end + 1);
    const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=main', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events.stdout, /TailCompacted/);
  });

  it('on-demand fulls (annotation) and retention keeping only what the kept fulls need', async () => {
    assert.equal((await kubectl(['patch', 'etcdbackup', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"retention":{"fullSnapshots":2}}}'])).code, 0);
    for (const n of ['1', '2', '3']) {
      assert.equal((await kubectl(['annotate', '--overwrite', 'etcdbackup', 'main', '-n', NS, `etcdts.dev/snapshot-now=${n}`])).code, 0);
      await eventually(`the requested full ${n}`, async () => ((await backupStatus('main')).lastOnDemandSnapshot?.request === n ? true : undefined), 90_000);
      await sleep(1000);
    }
    const objs = await objects();
    const fulls = objs.filter((o): o is FullRef => o.kind === 'full');
    assert.equal(fulls.length, 2, fulls.map((f) => f.name).join(' '));
    const oldest = Math.min(...fulls.map((f) => f.revision));
    for (const d of objs) if (d.kind === 'delta') assert.ok(d.to > oldest, `${d.name} ends at or before the oldest kept full (${oldest})`);
    const { code, report } = await check([await keyFile('main-encryption-key')]);
    assert.equal(code, 0, JSON.stringify(report.chains[0]?.errors));
    assert.equal(report.chains[0]!.fulls, 2);
    assert.deepEqual(report.chains[0]!.gaps, [], 'the hole went with the fulls before it');
  });

  it('a key Secret that drops the chain\'s key: Degraded, nothing written; keeping both keys fixes it', async () => {
    const fresh = randomBytes(32).toString('base64');
    const oldKey = (await kubectl(['get', 'secret', 'main-encryption-key', '-n', NS, '-o', 'jsonpath={.data.key}'])).stdout;
    assert.equal((await kubectl(['create', 'secret', 'generic', 'new-key', '-n', NS, `--from-literal=key=${fresh}`])).code, 0);
    assert.equal((await kubectl(['patch', 'etcdbackup', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"encryption":{"keySecret":"new-key"}}}'])).code, 0);
    const s = await eventually('Degraded for the key', async () => {
      const st = await backupStatus('main');
      return cond(st, 'Degraded')?.reason === 'EncryptionKeyMismatch' ? st : undefined;
    }, 60_000);
    assert.match(cond(s, 'Degraded')!.message, /is encrypted with key [0-9a-f]{16}, which the keys given do not hold/);
    const stuck = (await objects()).length;
    await sleep(4000);
    assert.equal((await objects()).length, stuck, 'nothing is written with a key that would split the chain');
    const both = JSON.stringify({ data: { key: Buffer.from(fresh).toString('base64'), 'key.old': oldKey } });
    assert.equal((await kubectl(['patch', 'secret', 'new-key', '-n', NS, '--type=merge', '-p', both])).code, 0);
    await eventually('Ready again', async () => (cond(await backupStatus('main'), 'Ready')?.status === 'True' ? true : undefined), 90_000);
    const { code, report } = await check([await keyFile('new-key'), await keyFile('new-key', 'key.old')]);
    assert.equal(code, 0, JSON.stringify(report.chains[0]?.errors));
  });

  it('bad input: a missing Secret, a missing bucket, an unreachable store, a malformed key → a condition naming the cause', async () => {
    const free = (await freePorts(1))[0]!;
    assert.equal((await kubectl(['create', 'secret', 'generic', 'short-key', '-n', NS, '--from-literal=key=short'])).code, 0);
    const cases: Array<[string, string, string, RegExp]> = [
      ['nocreds', `store: {s3: {endpoint: "${minio.endpoint}", bucket: ${BUCKET}, prefix: x1, credentialsSecret: nope}}`, 'SecretNotFound', /Secret bk\/nope not found/],
      ['nobucket', `store: {s3: {endpoint: "${minio.endpoint}", bucket: no-such-bucket, prefix: x2, credentialsSecret: s3-creds}}`, 'BucketNotFound', /no-such-bucket/],
      ['nostore', `store: {s3: {endpoint: "http://127.0.0.1:${free}", bucket: ${BUCKET}, prefix: x3, credentialsSecret: s3-creds}}`, 'StoreUnreachable', new RegExp(`127\\.0\\.0\\.1:${free}`)],
      ['badkey', `encryption: {keySecret: short-key}\nstore: {s3: {endpoint: "${minio.endpoint}", bucket: ${BUCKET}, prefix: x4, credentialsSecret: s3-creds}}`, 'EncryptionKeyInvalid', /Secret bk\/short-key, entry key: not an AES-256 key/],
    ];
    for (const [name, spec] of cases) assert.equal((await kubectl(['apply', '-f', '-'], backupYaml(name, spec))).code, 0);
    for (const [name, , reason, message] of cases) {
      const s = await eventually(
        `${name} to be Degraded with ${reason}`,
        async () => {
          const st = await backupStatus(name);
          return cond(st, 'Degraded')?.reason === reason ? st : undefined;
        },
        90_000,
      );
      assert.match(cond(s, 'Degraded')!.message, message);
      assert.equal(cond(s, 'Ready')?.status, 'False');
    }
    for (const p of ['x1', 'x2', 'x3', 'x4']) assert.deepEqual(await store.list(`${p}/`), [], `nothing written under ${p}/`);
    await kubectl(['delete', 'etcdbackup', ...cases.map((c) => c[0]), '-n', NS]);
  });

  it('a version change waits for a full from each EtcdBackup of the cluster; one that cannot take it stops the upgrade until suspended', async () => {
    const build = otherBuild('ghcr.io/etcd-ts/etcd-node:0.2.0', '0.2.0');
    try {
      const from = logs.length;
      const free = (await freePorts(1))[0]!;
      const broken = backupYaml('broken', `store: {s3: {endpoint: "http://127.0.0.1:${free}", bucket: ${BUCKET}, prefix: x5, credentialsSecret: s3-creds}}`);
      assert.equal((await kubectl(['apply', '-f', '-'], broken)).code, 0);
      await eventually('broken to be Degraded', async () => (cond(await backupStatus('broken'), 'Degraded')?.reason === 'StoreUnreachable' ? true : undefined), 90_000);
      const uids = async (): Promise<string> => (await kubectl(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=etcd,app.kubernetes.io/instance=db', '-o', 'jsonpath={.items[*].metadata.uid}'])).stdout;
      const uidsBefore = await uids();
      assert.equal((await kubectl(['patch', 'etcdcluster', 'db', '-n', NS, '--type=merge', '-p', '{"spec":{"version":"0.2.0"}}'])).code, 0);
      const generation = (await kubectl(['get', 'etcdcluster', 'db', '-n', NS, '-o', 'jsonpath={.metadata.generation}'])).stdout;
      const request = `before-0.2.0-g${generation}`;
      const degraded = await eventually('db to be Degraded with BackupBeforeUpgradeFailed', async () => {
        const r = await kubectl(['get', 'etcdcluster', 'db', '-n', NS, '-o', 'jsonpath={.status.conditions[?(@.type=="Degraded")]}']);
        const c = r.stdout ? (JSON.parse(r.stdout) as Cond) : undefined;
        return c?.status === 'True' && c.reason === 'BackupBeforeUpgradeFailed' ? c : undefined;
      }, 90_000);
      assert.match(degraded.message, /EtcdBackup broken cannot take the full snapshot asked before the change to 0\.2\.0 \(StoreUnreachable: .*127\.0\.0\.1:\d+.*\).*set its spec\.suspend: true/);
      assert.equal((await kubectl(['get', 'etcdbackup', 'broken', '-n', NS, '-o', 'jsonpath={.metadata.annotations.etcdts\\.dev/snapshot-now}'])).stdout, request, 'the full was asked for');
      await sleep(3000);
      assert.equal((await kubectl(['get', 'sts', 'db', '-n', NS, '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).stdout, 'ghcr.io/etcd-ts/etcd-node:0.1.0', 'the new template is not applied');
      assert.equal(await uids(), uidsBefore, 'no member restarted');
      // the user's way on: suspend the broken backup; the healthy one takes its full, then the roll-out runs
      assert.equal((await kubectl(['patch', 'etcdbackup', 'broken', '-n', NS, '--type=merge', '-p', '{"spec":{"suspend":true}}'])).code, 0);
      await eventually('every member to report 0.2.0', async () => {
        const r = await kubectl(['get', 'etcdcluster', 'db', '-n', NS, '-o', 'jsonpath={.status.phase} {.status.updatedMembers} {.status.currentVersion}']);
        return r.stdout === 'Running 3 0.2.0' ? true : undefined;
      }, 300_000);
      const main = await backupStatus('main');
      assert.equal(main.lastOnDemandSnapshot?.request, request, 'the healthy backup took the full asked before the change');
      const steps = logs
        .slice(from)
        .split('\n')
        .filter((l) => l.includes('"msg":"reconcile"') && l.includes('"etcdcluster":"bk/db"'))
        .map((l) => JSON.parse(l) as { step: string; backup?: string });
      const asked = steps.findIndex((x) => x.step === 'RequestBackup' && x.backup === 'main');
      const applied = steps.findIndex((x) => x.step === 'UpdateStatefulSet');
      assert.ok(asked >= 0 && applied > asked, `main was asked before the template was applied: ${steps.map((x) => x.step).join(' ')}`);
      const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster,involvedObject.name=db', '-o', 'jsonpath={.items[*].reason}']);
      assert.match(events.stdout, /BackupRequested/);
      assert.match(events.stdout, /BackupBeforeUpgradeFailed/);
      // the backup chain went on through the roll-out: no gap, history matches
      await sleep(12_000);
      const { code, report } = await check([await keyFile('new-key'), await keyFile('new-key', 'key.old')]);
      assert.equal(code, 0, JSON.stringify(report.chains[0]?.errors));
      assert.deepEqual(report.chains[0]!.gaps, []);
    } finally {
      await kubectl(['delete', 'etcdbackup', 'broken', '-n', NS]);
      rmSync(build, { recursive: true, force: true });
    }
  });

  it('deleting the EtcdBackup collects its agent and keeps the generated key', async () => {
    assert.equal((await kubectl(['delete', 'etcdbackup', 'main', '-n', NS])).code, 0);
    await eventually('the agent Deployment to be collected', async () => ((await kubectl(['get', 'deployment', 'main-backup-agent', '-n', NS])).code !== 0 ? true : undefined), 60_000);
    assert.equal((await kubectl(['get', 'secret', 'main-encryption-key', '-n', NS])).code, 0, 'the key stays');
    assert.ok(acked > 100, `${acked} writes acknowledged during the test`);
  });
});
