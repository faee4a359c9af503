// A real Kubernetes control plane on this machine for the operator's tests: etcd-node as the storage
// (ETCD_TS_K8S_STORAGE=etcd selects Debian's etcd instead), kube-apiserver with certificates made by
// openssl, service-account keys and RBAC on, and kube-controller-manager with its controllers
// (StatefulSet, garbage collector, disruption, endpoints, service accounts, namespaces, PV binder, …).
// The kubelet's part is played by the pod runner (pod-runner.ts). stop() leaves nothing running.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, startServer, tool, type RunningServer } from '../support/servers.js';
import { k8sTool, K8S_VERSION } from './tools.js';

export interface ControlPlane {
  /** admin kubeconfig (client certificate in system:masters) */
  readonly kubeconfig: string;
  /** https://127.0.0.1:<port> */
  readonly server: string;
  readonly dir: string;
  /** what kube-apiserver stores its objects in */
  readonly storage: { kind: 'etcd-node' | 'etcd'; endpoint: string; server: RunningServer };
  readonly version: string;
  /** the processes' output, for a failing test */
  logs(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function makeCerts(dir: string): void {
  const openssl = tool('openssl');
  const run = (args: string[]): void => {
    execFileSync(openssl, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=etcd-ts test cluster CA']);
  const sign = (name: string, subj: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj]);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  sign(
    'apiserver',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n',
  );
  sign('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n');
  // service-account token signing keys
  run(['genrsa', '-out', 'sa.key', '2048']);
  run(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function kubeconfig(server: string, dir: string): string {
  const b64 = (f: string): string => readFileSync(join(dir, f)).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: etcd-ts
  cluster:
    server: ${server}
    certificate-authority-data: ${b64('ca.crt')}
users:
- name: admin
  user:
    client-certificate-data: ${b64('admin.crt')}
    client-key-data: ${b64('admin.key')}
contexts:
- name: etcd-ts
  context: {cluster: etcd-ts, user: admin}
current-context: etcd-ts
`;
}

/** GET path on the API server as admin; resolves with the status code and body. */
export function apiGet(server: string, dir: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = https.get(
      `${server}${path}`,
      { ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, 'admin.crt')), key: readFileSync(join(dir, 'admin.key')), timeout: 3000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, body: e.message }));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

export interface ControlPlaneOptions {
  /** kube-apiserver stores in this server (the caller's: not stopped with the plane) instead of a new one */
  storage?: RunningServer;
  /** start kube-controller-manager too (default true) */
  controllerManager?: boolean;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-k8s-'));
  const procs: ChildProcess[] = [];
  let log = '';
  const started: RunningServer[] = [];
  const stopAll = async (): Promise<void> => {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await Promise.race([new Promise((r) => p.once('exit', r)), sleep(5000)]);
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }
    }
    for (const s of started) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    makeCerts(dir);
    const kind = opts.storage ? (opts.storage.binary === 'etcd' ? 'etcd' : 'etcd-node') : process.env['ETCD_TS_K8S_STORAGE'] === 'etcd' ? 'etcd' : 'etcd-node';
    const storage = opts.storage ?? (await startServer({ kind: kind === 'etcd' ? 'etcd' : 'node' }));
    if (!opts.storage) started.push(storage);
    const [apiPort, kcmPort] = await freePorts(2);
    const server = `https://127.0.0.1:${apiPort}`;
    const run = (name: string, file: string, args: string[]): ChildProcess => {
      const p = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const add = (b: Buffer): void => {
        log += b
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((l) => `[${name}] ${l}\n`)
          .join('');
        if (log.length > 2_000_000) log = log.slice(-1_000_000);
      };
      p.stdout?.on('data', add);
      p.stderr?.on('data', add);
      procs.push(p);
      return p;
    };
    const f = (n: string): string => join(dir, n);
    const api = run('kube-apiserver', k8sTool('kube-apiserver'), [
      `--etcd-servers=${storage.clientUrl}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--tls-cert-file=${f('apiserver.crt')}`,
      `--tls-private-key-file=${f('apiserver.key')}`,
      `--client-ca-file=${f('ca.crt')}`,
      `--cert-dir=${dir}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${f('sa.pub')}`,
      `--service-account-signing-key-file=${f('sa.key')}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      // no kubelets to reach, and the "kubernetes" service's endpoints are not needed
      '--endpoint-reconciler-type=none',
    ]);
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (api.exitCode !== null) throw new Error(`kube-apiserver exited (${api.exitCode}):\n${log.slice(-5000)}`);
      const r = await apiGet(server, dir, '/readyz');
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready after 90 s (${r.status} ${r.body}):\n${log.slice(-5000)}`);
      await sleep(300);
    }
    const kc = f('admin.kubeconfig');
    writeFileSync(kc, kubeconfig(server, dir));
    if (opts.controllerManager !== false) run('kube-controller-manager', k8sTool('kube-controller-manager'), [
      `--kubeconfig=${kc}`,
      `--authentication-kubeconfig=${kc}`,
      `--authorization-kubeconfig=${kc}`,
      '--controllers=*',
      `--service-account-private-key-file=${f('sa.key')}`,
      `--root-ca-file=${f('ca.crt')}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--use-service-account-credentials=false',
    ]);
    const version = JSON.parse((await apiGet(server, dir, '/version')).body) as { gitVersion?: string };
    return {
      kubeconfig: kc,
      server,
      dir,
      storage: { kind, endpoint: storage.endpoint, server: storage },
      version: version.gitVersion ?? K8S_VERSION,
      logs: () => log,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
