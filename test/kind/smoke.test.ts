// The kind cluster is a real cluster: a pod from a locally built image (loaded with `kind load
// docker-image`) runs on the node; cluster DNS resolves a Service's name from a pod; a PVC binds through
// kind's local-path provisioner and a pod writes to it; the Service's ClusterIP answers from another pod.
// Run by `npm run test:kind` (scripts/test-kind.sh), which sets KUBECONFIG to the kind cluster's and
// ETCD_TS_KIND_SMOKE_IMAGE to the image it loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const kubeconfig = process.env['KUBECONFIG'];
const image = process.env['ETCD_TS_KIND_SMOKE_IMAGE'];
const kubectlBin = process.env['ETCD_TS_KUBECTL'] ?? 'kubectl';
const skip = !kubeconfig || !image ? 'skipped: run with `npm run test:kind` (KUBECONFIG and ETCD_TS_KIND_SMOKE_IMAGE unset)' : false;
const ns = `smoke-${Date.now().toString(36)}`;

async function kubectl(args: string[], input?: string): Promise<string> {
  const p = run(kubectlBin, ['--kubeconfig', kubeconfig ?? '', ...args], { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    p.child.stdin?.end(input);
  }
  const { stdout } = await p;
  return stdout;
}

const apply = (yaml: string): Promise<string> => kubectl(['apply', '-n', ns, '-f', '-'], yaml);

function pod(name: string, script: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: ${image ?? ''}
      imagePullPolicy: Never
      command: [bash, -c, ${JSON.stringify(script)}]
${extra}`;
}

/** Waits for a pod that runs to completion and returns its log (fails with the log otherwise). */
async function completed(name: string): Promise<string> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const phase = await kubectl(['get', 'pod', '-n', ns, name, '-o', 'jsonpath={.status.phase}']);
    if (phase === 'Succeeded') return kubectl(['logs', '-n', ns, name]);
    if (phase === 'Failed' || Date.now() > deadline) {
      const logs = await kubectl(['logs', '-n', ns, name]).catch((e: unknown) => String(e));
      const desc = await kubectl(['describe', 'pod', '-n', ns, name]).catch((e: unknown) => String(e));
      assert.fail(`pod ${name} ${phase || 'pending'}:\n${logs}\n${desc}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('kind cluster smoke', { skip, timeout: 600_000 }, () => {
  before(async () => {
    await kubectl(['create', 'namespace', ns]);
    // the default ServiceAccount appears shortly after the namespace; pods need it
    for (let i = 0; i < 60; i++) {
      if (await kubectl(['get', 'serviceaccount', '-n', ns, 'default']).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  after(async () => {
    if (!process.env['ETCD_TS_KIND_KEEP']) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('runs a pod from a locally built image on the node', async () => {
    await apply(pod('hello', 'echo hello from $(hostname) on $(cat /etc/debian_version)'));
    const log = await completed('hello');
    assert.match(log, /^hello from hello on 12\./);
    const node = await kubectl(['get', 'pod', '-n', ns, 'hello', '-o', 'jsonpath={.spec.nodeName}']);
    assert.ok(node.length > 0);
  });

  it("resolves a Service by name and reaches its ClusterIP from another pod", async () => {
    // a server pod (etcd from the image) behind a Service; a client pod resolves the name through cluster
    // DNS and asks /health over the ClusterIP with bash's /dev/tcp
    await apply(`${pod('web', 'exec etcd --data-dir /tmp/etcd --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://127.0.0.1:2379')}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 2379}]
`);
    await kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod/web', '--timeout=180s']);
    const clusterIP = (await kubectl(['get', 'service', '-n', ns, 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    assert.match(clusterIP, /^\d+\.\d+\.\d+\.\d+$/);
    await apply(
      pod(
        'client',
        `set -e
getent hosts web.${ns}.svc.cluster.local
getent hosts web
for i in $(seq 1 30); do
  if exec 3<>/dev/tcp/web/80; then break; fi
  sleep 1
done
printf 'GET /health HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n' >&3
cat <&3`,
      ),
    );
    const log = await completed('client');
    assert.match(log, new RegExp(`^${clusterIP.replace(/\./g, '\\.')}\\s+web\\.${ns}\\.svc\\.cluster\\.local`, 'm'));
    assert.match(log, /HTTP\/1\.[01] 200/);
    assert.match(log, /"health":"true"/);
  });

  it('binds a PVC through the local-path provisioner and a pod writes to it', async () => {
    await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 64Mi}}
---
${pod('writer', 'echo written-by-writer > /data/proof && sync && cat /data/proof', `      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]`)}`);
    assert.equal((await completed('writer')).trim(), 'written-by-writer');
    const phase = await kubectl(['get', 'pvc', '-n', ns, 'data', '-o', 'jsonpath={.status.phase}']);
    assert.equal(phase, 'Bound');
    const sc = await kubectl(['get', 'pvc', '-n', ns, 'data', '-o', 'jsonpath={.spec.storageClassName}']);
    assert.equal(sc, 'standard');
    // a second pod reads what the first wrote
    await apply(
      pod('reader', 'cat /data/proof', `      volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]`),
    );
    assert.equal((await completed('reader')).trim(), 'written-by-writer');
  });
});
