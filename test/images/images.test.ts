// The container images `npm run images` builds (images/Dockerfile), checked as a user meets them: the
// etcd-node image runs as a non-root uid on a read-only root filesystem with its data on a volume (and a
// tmpfs /tmp for snapshots), answers etcdctl put/get and snapshot save through a published port, stops
// gracefully on `docker stop` (exit 0, well within the timeout, its log says why) and keeps its data
// across a restart; the etcd-operator image starts its program (and the backup agent's); both carry the
// OCI labels of this version and no devDependencies.
//
// Needs a Docker engine (`bash scripts/docker-up.sh`) and the images (`npm run images`, ~3 min cold):
// without them it is skipped with a message; under CI=true that is a failure.
//
//   npm run images && node --import tsx --test test/images/images.test.ts
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { etcdctl } from '../support/etcdctl.js';
import { freePorts, repoRoot, skipUnless } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const pkg = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string; devDependencies: Record<string, string> };
const NODE_IMAGE = `ghcr.io/etcd-ts/etcd-node:${pkg.version}`;
const OPERATOR_IMAGE = `ghcr.io/etcd-ts/etcd-operator:${pkg.version}`;
const run = promisify(execFile);

async function docker(args: string[], timeout = 60_000): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run('docker', args, { timeout, maxBuffer: 16 << 20 });
    return { stdout: r.stdout, stderr: r.stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number | string };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err), code: typeof e.code === 'number' ? e.code : -1 };
  }
}

async function whyMissing(): Promise<string | undefined> {
  if ((await docker(['info', '--format', '{{.ServerVersion}}'], 20_000)).code !== 0) return 'no Docker engine answers (bash scripts/docker-up.sh)';
  for (const image of [NODE_IMAGE, OPERATOR_IMAGE]) {
    if ((await docker(['image', 'inspect', image])).code !== 0) return `${image} is missing (npm run images)`;
  }
  return undefined;
}
const missing = await whyMissing();
const toolSkip = skipUnless('etcdctl').skip;
const skip = missing !== undefined && !inCI ? `skipped: ${missing}` : toolSkip;

/** GET http://127.0.0.1:<port><path> → status and body, or undefined when nothing answers. */
function httpGet(port: number, path: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

/** Milliseconds until /health says healthy (fails after 60 s). */
async function untilHealthy(port: number, since: number): Promise<number> {
  while (Date.now() - since < 60_000) {
    const r = await httpGet(port, '/health');
    if (r?.status === 200 && r.body.includes('"health":"true"')) return Date.now() - since;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`etcd-node in its container did not answer /health on 127.0.0.1:${port} within 60 s`);
}

describe('container images', { skip }, () => {
  const tag = `etcd-ts-images-test-${process.pid}`;
  const volume = `${tag}-data`;
  const container = `${tag}-etcd`;
  let port = 0;

  before(async () => {
    if (missing !== undefined) throw new Error(`${missing} (CI=true: .ci/run builds the images first)`);
    port = (await freePorts(1))[0]!;
    assert.equal((await docker(['volume', 'create', volume])).code, 0);
  });
  after(async () => {
    await docker(['rm', '-f', container]);
    await docker(['volume', 'rm', '-f', volume]);
  });

  test('both images carry the OCI labels of this version, run as uid 65532, hold both programs and no devDependencies', async () => {
    for (const [image, title] of [[NODE_IMAGE, 'etcd-node'], [OPERATOR_IMAGE, 'etcd-operator']] as const) {
      const r = await docker(['image', 'inspect', '--format', '{{json .Config}}', image]);
      assert.equal(r.code, 0, r.stderr);
      const config = JSON.parse(r.stdout) as { User: string; Labels: Record<string, string>; Entrypoint: string[] };
      assert.equal(config.User, '65532:65532', `${image}: the numeric non-root user`);
      assert.deepEqual(config.Entrypoint, [title]);
      const l = config.Labels;
      assert.equal(l['org.opencontainers.image.version'], pkg.version, `${image}: version label`);
      assert.equal(l['org.opencontainers.image.title'], title);
      assert.equal(l['org.opencontainers.image.licenses'], 'Apache-2.0');
      assert.match(l['org.opencontainers.image.source'] ?? '', /^https:\/\//);
      assert.match(l['org.opencontainers.image.revision'] ?? '', /^[0-9a-f]{40}(-dirty)?$/, `${image}: revision label is a commit`);
      // what is in /opt/etcd-ts/node_modules, asked of the image's own node
      const script =
        `const fs=require('fs');const dev=${JSON.stringify(Object.keys(pkg.devDependencies))};` +
        // a devDependency may be there only as a production package's own dependency (@types/node is one of
        // @kubernetes/client-node's): npm's hidden lock file of the installed tree says which
        `const lock=JSON.parse(fs.readFileSync('/opt/etcd-ts/node_modules/.package-lock.json','utf8')).packages;` +
        `const have=dev.filter((d)=>fs.existsSync('/opt/etcd-ts/node_modules/'+d)&&(lock['node_modules/'+d]||{}).dev!==false&&(lock['node_modules/'+d]||{dev:true}).dev);` +
        `const devTree=Object.keys(lock).filter((k)=>lock[k].dev===true);` +
        `const tools=['typescript','eslint','tsx','ts-proto','dpdm','fast-check','etcd3'].filter((d)=>fs.existsSync('/opt/etcd-ts/node_modules/'+d));` +
        `console.log(JSON.stringify({have,devTree,tools,lmdb:fs.existsSync('/opt/etcd-ts/node_modules/lmdb'),npm:fs.existsSync('/usr/local/lib/node_modules/npm'),uid:process.getuid(),node:process.version}))`;
      const n = await docker(['run', '--rm', '--read-only', '--entrypoint', 'node', image, '-e', script]);
      assert.equal(n.code, 0, n.stderr);
      const seen = JSON.parse(n.stdout) as { have: string[]; devTree: string[]; tools: string[]; lmdb: boolean; npm: boolean; uid: number; node: string };
      assert.deepEqual(seen.have, [], `${image} holds devDependencies`);
      assert.deepEqual(seen.devTree, [], `${image} holds packages of the dev tree`);
      assert.deepEqual(seen.tools, [], `${image} holds build and test tools`);
      assert.ok(seen.lmdb, `${image}: lmdb (a production dependency) is missing`);
      assert.equal(seen.npm, false, `${image}: npm is not needed at run time`);
      assert.equal(seen.uid, 65532);
      assert.match(seen.node, /^v20\./);
      // the pods the operator writes run `etcd-node` (members, restore init) and `etcd-operator` (the
      // operator, backup agents) by name: both are on PATH in both images
      for (const cmd of [['etcd-node', '--version'], ['etcd-operator', '--help'], ['etcd-operator', 'backup-agent', '--help']]) {
        const c = await docker(['run', '--rm', '--read-only', '--entrypoint', cmd[0]!, image, ...cmd.slice(1)]);
        assert.equal(c.code, 0, `${image}: ${cmd.join(' ')} exited ${c.code}: ${c.stderr}`);
      }
    }
  });

  test('etcd-node: non-root on a read-only root, etcdctl put/get/snapshot through a published port, graceful docker stop, data kept across a restart', async () => {
    const ep = `127.0.0.1:${port}`;
    const started = Date.now();
    const r = await docker([
      'run', '-d', '--name', container, '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '-v', `${volume}:/var/lib/etcd`, '-p', `${ep}:2379`, NODE_IMAGE,
      '--name=m1', '--data-dir=/var/lib/etcd/data',
      '--listen-client-urls=http://0.0.0.0:2379', `--advertise-client-urls=http://${ep}`,
      '--listen-peer-urls=http://0.0.0.0:2380', '--initial-advertise-peer-urls=http://localhost:2380',
      '--initial-cluster=m1=http://localhost:2380',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const ms = await untilHealthy(port, started);
    console.log(`etcd-node container: docker run → healthy /health in ${ms} ms`);

    const id = await docker(['exec', container, 'id', '-u']);
    assert.equal(id.stdout.trim(), '65532');
    const top = await docker(['top', container, '-o', 'pid,uid,args']);
    assert.match(top.stdout, /\s65532\s+node \/usr\/local\/bin\/etcd-node/, `PID 1 is etcd-node itself, as uid 65532:\n${top.stdout}`);
    // the root filesystem really is read-only
    const w = await docker(['exec', container, 'touch', '/opt/etcd-ts/x']);
    assert.notEqual(w.code, 0, 'a write to the root filesystem succeeded');
    assert.match(w.stderr, /Read-only file system/);

    const put = await etcdctl(ep, ['put', 'greeting', 'hello from a container']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout.trim(), 'OK');
    const got = await etcdctl(ep, ['get', 'greeting', '--print-value-only']);
    assert.equal(got.stdout.trim(), 'hello from a container');
    // Maintenance.Snapshot stages its copy in $TMPDIR (/tmp): the tmpfs the README asks for
    mkdirSync(`${repoRoot}/tmp`, { recursive: true });
    const snap = await etcdctl(ep, ['snapshot', 'save', `${repoRoot}/tmp/images-test-${process.pid}.db`]);
    assert.equal(snap.code, 0, snap.stderr + snap.stdout);

    // the backup agent (the etcd-operator image's `etcd-operator backup-agent`, run by hand) beside it, in
    // the member's network namespace: a full snapshot on its volume, then SIGTERM ends it with 0
    const agent = `${tag}-agent`;
    try {
      const a = await docker([
        'run', '-d', '--name', agent, '--read-only', '--cap-drop', 'ALL', '--network', `container:${container}`,
        '--tmpfs', '/backup:uid=65532,gid=65532', '--tmpfs', '/tmp', OPERATOR_IMAGE,
        'backup-agent', '--endpoints=127.0.0.1:2379', '--store=/backup', '--no-encryption', '--metrics-address=127.0.0.1:8081',
      ]);
      assert.equal(a.code, 0, a.stderr);
      let fulls = '';
      for (const since = Date.now(); Date.now() - since < 30_000 && !fulls.includes('.snap'); ) {
        await new Promise((res) => setTimeout(res, 250));
        fulls = (await docker(['exec', agent, 'find', '/backup', '-name', '*.snap*'])).stdout;
      }
      const alog = await docker(['logs', agent]);
      assert.match(fulls, /\/full\/\d+-\d+\.snap/, `no full snapshot from the backup agent:\n${alog.stdout}${alog.stderr}`);
      const ta = Date.now();
      assert.equal((await docker(['stop', '--time', '30', agent], 60_000)).code, 0);
      const as = JSON.parse((await docker(['inspect', '--format', '{{json .State}}', agent])).stdout) as { ExitCode: number };
      const alog2 = await docker(['logs', agent]);
      assert.equal(as.ExitCode, 0, `the backup agent exits 0 on SIGTERM:\n${alog2.stdout}${alog2.stderr}`);
      assert.ok(Date.now() - ta < 10_000, `docker stop of the backup agent took ${Date.now() - ta} ms`);
      console.log(`backup agent container: full snapshot written, docker stop → exited 0 in ${Date.now() - ta} ms`);
    } finally {
      await docker(['rm', '-f', agent]);
    }

    const t0 = Date.now();
    const stop = await docker(['stop', '--time', '30', container], 60_000);
    const stopMs = Date.now() - t0;
    assert.equal(stop.code, 0, stop.stderr);
    const state = JSON.parse((await docker(['inspect', '--format', '{{json .State}}', container])).stdout) as { ExitCode: number; OOMKilled: boolean };
    assert.equal(state.ExitCode, 0, 'etcd-node exits 0 on SIGTERM (137 would be the SIGKILL after the timeout)');
    assert.ok(stopMs < 10_000, `docker stop took ${stopMs} ms of its 30 s`);
    console.log(`etcd-node container: docker stop → exited 0 in ${stopMs} ms`);
    const logs = await docker(['logs', container]);
    assert.match(logs.stdout + logs.stderr, /received signal; shutting down.*SIGTERM|SIGTERM.*received signal; shutting down/);

    const t1 = Date.now();
    assert.equal((await docker(['start', container])).code, 0);
    const ms2 = await untilHealthy(port, t1);
    console.log(`etcd-node container: docker start (existing data) → healthy in ${ms2} ms`);
    const again = await etcdctl(ep, ['get', 'greeting', '--print-value-only']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), 'hello from a container', 'the data survive a restart of the container');
    await docker(['rm', '-f', container]);
    await run('rm', ['-f', `${repoRoot}/tmp/images-test-${process.pid}.db`]);
  });

  test('etcd-operator: starts in its image on a read-only root and exits at once with a clear error when no Kubernetes API answers', async () => {
    // no Kubernetes here: pointed at an API server that is not there, the operator must say so and end
    // (not hang); its --help was run above
    const kubeconfig = [
      'apiVersion: v1', 'kind: Config', 'current-context: none',
      'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: none, user: {token: x}}]',
      'contexts: [{name: none, context: {cluster: none, user: none}}]',
    ].join('\n');
    const t0 = Date.now();
    const r = await docker([
      'run', '--rm', '--read-only', '--cap-drop', 'ALL', '-e', `KUBECONFIG_TEXT=${kubeconfig}`, '--entrypoint', '/bin/sh', OPERATOR_IMAGE,
      '-c', 'printf "%s" "$KUBECONFIG_TEXT" > /dev/shm/kubeconfig && exec etcd-operator --kubeconfig /dev/shm/kubeconfig --metrics-address=:8080',
    ]);
    assert.equal(r.code, 1, `exit code ${r.code}:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, /"msg":"etcd-operator started"/);
    assert.match(r.stdout + r.stderr, /etcd-operator: connect ECONNREFUSED 127\.0\.0\.1:1/);
    assert.ok(Date.now() - t0 < 30_000);
  });
});
