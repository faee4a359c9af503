// The pod runner: the kubelet's and the volume provisioner's part for tests, on a machine without a
// container runtime. It registers a Node (and renews its Lease), binds pending pods to it, provisions a
// PersistentVolume (a folder) for every pending claim, runs each pod's etcd-node container as a local
// process with the pod's command, args and env on the pod's own loopback address (reported as its pod
// IP), probes readiness and liveness over HTTP, reports pod status, restarts per restart policy, and
// kills the process when the pod is deleted. Pod DNS names (<pod>.<subdomain>.<ns>.svc[.cluster.local])
// resolve for the processes it starts through a hosts file and a DNS hook (dns-hook.mjs). README.md
// here says what it does not emulate.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { repoRoot } from '../support/servers.js';
import { KubeError, type Kube } from '../../operator/src/runtime/kube.js';
import { parseBytes } from '../../operator/src/api/units.js';

export const NODE_NAME = 'etcd-ts-local';
const NODE_LABELS: Readonly<Record<string, string>> = { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux' };

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  deletionTimestamp?: string;
  resourceVersion?: string;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}
interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  periodSeconds?: number;
  failureThreshold?: number;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  ports?: Array<{ containerPort: number; name?: string }>;
}
export interface Pod {
  metadata: Meta;
  spec: {
    nodeName?: string;
    nodeSelector?: Record<string, string>;
    serviceAccountName?: string;
    hostname?: string;
    subdomain?: string;
    restartPolicy?: string;
    initContainers?: Container[];
    containers: Container[];
    volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object; secret?: { secretName: string } }>;
  };
  status?: { phase?: string; podIP?: string };
}
interface Pvc {
  metadata: Meta;
  spec: { volumeName?: string; storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string; capacity?: { storage?: string } };
}
interface List<T> {
  items: T[];
}

interface Running {
  readonly uid: string;
  readonly ip: string;
  proc: ChildProcess | undefined;
  restarts: number;
  ready: boolean;
  livenessFailures: number;
  startedAt: string;
  lastProbe: number;
  exitedAt: number;
  terminated: boolean;
  log: string;
  /** init containers that exited 0 (they run in order, each once, before the main container) */
  initDone: number;
  /** restarts of the init container that runs now, and its last non-zero exit */
  initRestarts: number;
  initLastExit: number | undefined;
  /** the output of the init container's last run: its termination message when it fails
   *  (terminationMessagePolicy FallbackToLogsOnError: the log's last 2048 bytes) */
  initOutput: string;
  /** initOutput as it was when the init container last failed (a new run starts a new output) */
  initFailureOutput: string;
  /** the main container's output (last 2048 bytes), its termination message under FallbackToLogsOnError */
  mainOutput: string;
  /** the main container's exit when restartPolicy keeps it from restarting (the pod completed) */
  completed: { exitCode: number; message: string | undefined } | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class PodRunner {
  private readonly pods = new Map<string, Running>(); // key: uid
  private nextIp = 1;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastHeartbeat = 0;
  private readonly hostsFile: string;

  /**
   * `kube`: the operator's API client, here with the admin kubeconfig; `api`: the API server's URL and CA,
   * for the kubeconfig a pod with a ServiceAccount gets.
   */
  constructor(
    private readonly kube: Kube,
    private readonly workDir: string,
    private readonly api?: { server: string; ca: Buffer },
  ) {
    mkdirSync(join(workDir, 'volumes'), { recursive: true });
    mkdirSync(this.logDir, { recursive: true });
    mkdirSync(this.buildsDir, { recursive: true });
    this.hostsFile = join(workDir, 'hosts');
    writeFileSync(this.hostsFile, '');
  }

  /** The hosts file pods' names resolve through (set ETCD_TS_HOSTS_FILE to it, with dns-hook.mjs). */
  get hosts(): string {
    return this.hostsFile;
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.round();
        } catch (err) {
          if (!this.stopped) process.stderr.write(`pod-runner: ${String(err)}\n`);
        }
        await sleep(300);
      }
    })();
  }

  /** Kills every process it started. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.pods.values()].map((r) => this.kill(r)));
    this.kube.close();
  }

  /**
   * Images → other builds of this project: a file named after the image (encodeURIComponent) holding the
   * root folder of a build (bin/, dist/, package.json). A container whose image has one runs that build's
   * program; every other image runs this checkout's. Tests write it to upgrade between two builds.
   */
  get buildsDir(): string {
    return join(this.workDir, 'builds');
  }

  private buildRoot(image: string | undefined): string {
    if (!image) return repoRoot;
    try {
      return readFileSync(join(this.buildsDir, encodeURIComponent(image)), 'utf8').trim() || repoRoot;
    } catch {
      return repoRoot;
    }
  }

  /** Where each pod's output goes, as <namespace>_<pod>.log. */
  get logDir(): string {
    return join(this.workDir, 'logs');
  }

  /** The output of the pod's process (all restarts). */
  logs(namespace: string, name: string): string {
    const r = [...this.pods.entries()].find(([k]) => k.startsWith(`${namespace}/${name}/`))?.[1];
    return r?.log ?? '';
  }

  // ---- one round: node, volumes, scheduling, processes, status ----

  private async round(): Promise<void> {
    await this.heartbeat();
    await this.provisionVolumes();
    const pods = (await this.kube.request<List<Pod>>('GET', '/api/v1/pods')).items;
    const seen = new Set<string>();
    for (const pod of pods) {
      const key = podKey(pod);
      if (!pod.spec.nodeName && !pod.metadata.deletionTimestamp) {
        // as the scheduler would: a pod whose nodeSelector the node does not match stays Pending
        if (Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => NODE_LABELS[k] === v)) await this.bind(pod);
        continue;
      }
      if (pod.spec.nodeName !== NODE_NAME) continue;
      seen.add(key);
      if (pod.metadata.deletionTimestamp) {
        await this.finishDeletion(pod, key);
        continue;
      }
      await this.sync(pod, key);
    }
    // pods gone from the API (deleted with grace 0 elsewhere): kill their processes
    for (const [key, r] of this.pods) {
      if (!seen.has(key)) {
        await this.kill(r);
        this.pods.delete(key);
      }
    }
    this.writeHosts(pods);
  }

  private async heartbeat(): Promise<void> {
    const now = Date.now();
    if (now - this.lastHeartbeat < 10_000) return;
    this.lastHeartbeat = now;
    const ts = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    const micro = new Date(now).toISOString().replace('Z', '000Z');
    const status = {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'etcd-ts pod runner', lastHeartbeatTime: ts, lastTransitionTime: ts }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: NODE_NAME }],
      capacity: { cpu: '2', memory: '24Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '24Gi', pods: '110' },
      nodeInfo: { kubeletVersion: 'etcd-ts-pod-runner', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'local-process://1', kernelVersion: '', osImage: '', machineID: '', systemUUID: '', bootID: '', kubeProxyVersion: '' },
    };
    try {
      const node = await this.kube.request<{ metadata: Meta }>('GET', `/api/v1/nodes/${NODE_NAME}`);
      await this.kube.request('PUT', `/api/v1/nodes/${NODE_NAME}/status`, { apiVersion: 'v1', kind: 'Node', metadata: node.metadata, status });
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
      await this.kube.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE_NAME, labels: NODE_LABELS }, status });
    }
    // the node lease: without it the node lifecycle controller marks the node NotReady and evicts pods
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE_NAME}`;
    try {
      const lease = await this.kube.request<{ metadata: Meta; spec: object }>('GET', leasePath);
      await this.kube.request('PUT', leasePath, { ...lease, spec: { ...lease.spec, renewTime: micro, holderIdentity: NODE_NAME, leaseDurationSeconds: 40 } });
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
      await this.kube
        .request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: NODE_NAME, namespace: 'kube-node-lease' },
          spec: { holderIdentity: NODE_NAME, leaseDurationSeconds: 40, renewTime: micro },
        })
        .catch(() => undefined);
    }
  }

  /** A PersistentVolume (a folder) pre-bound to every claim that has none; the PV binder binds them. */
  private async provisionVolumes(): Promise<void> {
    const pvcs = (await this.kube.request<List<Pvc>>('GET', '/api/v1/persistentvolumeclaims')).items;
    for (const c of pvcs) {
      if (c.status?.phase === 'Bound' && !c.metadata.deletionTimestamp) await this.resize(c);
      if (c.spec.volumeName || c.status?.phase !== 'Pending' || c.metadata.deletionTimestamp) continue;
      const name = `pv-${c.metadata.uid}`;
      const path = join(this.workDir, 'volumes', name);
      mkdirSync(path, { recursive: true, mode: 0o700 });
      await this.kube
        .request('POST', '/api/v1/persistentvolumes', {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name, labels: { 'etcd-ts/provisioned-by': 'pod-runner' } },
          spec: {
            capacity: { storage: c.spec.resources?.requests?.storage ?? '1Gi' },
            accessModes: c.spec.accessModes ?? ['ReadWriteOnce'],
            storageClassName: c.spec.storageClassName ?? '',
            persistentVolumeReclaimPolicy: 'Delete',
            hostPath: { path, type: 'DirectoryOrCreate' },
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: c.metadata.namespace, name: c.metadata.name, uid: c.metadata.uid },
          },
        })
        .catch((err: unknown) => {
          if (!(err instanceof KubeError && err.status === 409)) throw err;
        });
    }
  }

  /**
   * As a CSI resizer and the kubelet would: a bound claim that asks for more than its capacity (the API
   * server let that through only where the StorageClass allows expansion) gets it — the PV's capacity,
   * then the claim's status. The folder has no size; the numbers are what the operator observes.
   */
  private async resize(c: Pvc): Promise<void> {
    const want = c.spec.resources?.requests?.storage;
    const have = c.status?.capacity?.storage;
    if (!want || !have || !c.spec.volumeName || parseBytes(want) <= parseBytes(have)) return;
    await this.kube.request('PATCH', `/api/v1/persistentvolumes/${c.spec.volumeName}`, { spec: { capacity: { storage: want } } }, 'application/merge-patch+json');
    await this.kube.request('PATCH', `/api/v1/namespaces/${c.metadata.namespace}/persistentvolumeclaims/${c.metadata.name}/status`, { status: { capacity: { storage: want } } }, 'application/merge-patch+json');
  }

  private async bind(pod: Pod): Promise<void> {
    await this.kube
      .request('POST', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
        target: { apiVersion: 'v1', kind: 'Node', name: NODE_NAME },
      })
      .catch((err: unknown) => {
        if (!(err instanceof KubeError && (err.status === 409 || err.status === 404))) throw err;
      });
  }

  /** The folder each of the pod's volumes is, or undefined while a claim is not bound yet. */
  private async volumeDirs(pod: Pod): Promise<Map<string, string> | undefined> {
    const out = new Map<string, string>();
    for (const v of pod.spec.volumes ?? []) {
      if (v.persistentVolumeClaim) {
        const pvc = await this.kube.request<Pvc>('GET', `/api/v1/namespaces/${pod.metadata.namespace}/persistentvolumeclaims/${v.persistentVolumeClaim.claimName}`).catch(() => undefined);
        if (!pvc?.spec.volumeName || pvc.status?.phase !== 'Bound') return undefined;
        const pv = await this.kube.request<{ spec: { hostPath?: { path: string } } }>('GET', `/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
        if (!pv.spec.hostPath) return undefined;
        out.set(v.name, pv.spec.hostPath.path);
      } else if (v.secret) {
        // a Secret volume: one file per key, as the kubelet writes them
        const secret = await this.kube.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${pod.metadata.namespace}/secrets/${v.secret.secretName}`).catch(() => undefined);
        if (!secret) return undefined;
        const dir = join(this.workDir, 'secrets', pod.metadata.uid ?? 'x', v.name);
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        for (const [k, b64] of Object.entries(secret.data ?? {})) writeFileSync(join(dir, k), Buffer.from(b64, 'base64'), { mode: 0o600 });
        out.set(v.name, dir);
      } else {
        const dir = join(this.workDir, 'emptydir', pod.metadata.uid ?? 'x', v.name);
        mkdirSync(dir, { recursive: true });
        out.set(v.name, dir);
      }
    }
    return out;
  }

  private async sync(pod: Pod, key: string): Promise<void> {
    let r = this.pods.get(key);
    if (!r) {
      const dirs = await this.volumeDirs(pod);
      if (!dirs) return; // wait for its claims
      const ip = `127.0.${1 + Math.floor(this.nextIp / 250)}.${1 + (this.nextIp % 250)}`;
      this.nextIp++;
      r = { uid: pod.metadata.uid ?? '', ip, proc: undefined, restarts: 0, ready: false, livenessFailures: 0, startedAt: '', lastProbe: 0, exitedAt: 0, terminated: false, log: '', initDone: 0, initRestarts: 0, initLastExit: undefined, initOutput: '', initFailureOutput: '', mainOutput: '', completed: undefined };
      this.pods.set(key, r);
      this.spawn(pod, r, dirs, await this.refValues(pod), await this.serviceAccountConfig(pod));
    } else if (!r.proc && !r.terminated && r.initDone < (pod.spec.initContainers ?? []).length && (r.initLastExit === undefined || Date.now() - r.exitedAt > 1000)) {
      // the next init container, or the failed one again after a second (as a kubelet, with less backoff)
      const dirs = await this.volumeDirs(pod);
      if (dirs) {
        if (r.initLastExit !== undefined) r.initRestarts++;
        this.spawn(pod, r, dirs, await this.refValues(pod), await this.serviceAccountConfig(pod));
      }
    } else if (!r.proc && !r.terminated && r.startedAt === '' && r.initDone === (pod.spec.initContainers ?? []).length) {
      // the init containers are done: the main container's first start
      const dirs = await this.volumeDirs(pod);
      if (dirs) this.spawn(pod, r, dirs, await this.refValues(pod), await this.serviceAccountConfig(pod));
    } else if (!r.proc && !r.terminated && !r.completed && Date.now() - r.exitedAt > 1000) {
      const dirs = await this.volumeDirs(pod);
      if (dirs) {
        r.restarts++;
        this.spawn(pod, r, dirs, await this.refValues(pod), await this.serviceAccountConfig(pod));
      }
    }
    await this.probe(pod, r);
    await this.reportStatus(pod, r);
  }

  /** The ConfigMap and Secret values the containers' env refers to, read at (re)start as a kubelet does;
   *  keyed by the ref (kind/name/key). */
  private async refValues(pod: Pod): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        const sec = e.valueFrom?.secretKeyRef;
        const ref = cm ?? sec;
        if (!ref) continue;
        const collection = cm ? 'configmaps' : 'secrets';
        const obj = await this.kube.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${pod.metadata.namespace}/${collection}/${ref.name}`).catch(() => undefined);
        const v = obj?.data?.[ref.key];
        if (v !== undefined) out.set(`${collection}/${ref.name}/${ref.key}`, cm ? v : Buffer.from(v, 'base64').toString());
      }
    }
    return out;
  }

  /**
   * For a pod with a ServiceAccount: a kubeconfig with a token bound to the pod (the TokenRequest API, as
   * the kubelet's projected token), the path given to the process as KUBECONFIG — where a kubelet would
   * mount the token and set KUBERNETES_SERVICE_HOST, which a local process cannot use.
   */
  private async serviceAccountConfig(pod: Pod): Promise<string | undefined> {
    const sa = pod.spec.serviceAccountName;
    if (!sa || !this.api || sa === 'default') return undefined;
    const ns = pod.metadata.namespace ?? 'default';
    const tr = await this.kube
      .request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 24 * 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid } },
      })
      .catch(() => undefined);
    const token = tr?.status?.token;
    if (!token) return undefined;
    const dir = join(this.workDir, 'serviceaccounts', pod.metadata.uid ?? 'x');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${this.api.server}\n    certificate-authority-data: ${this.api.ca.toString('base64')}\n` +
        `users:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: c\n  context: {cluster: c, user: u, namespace: ${ns}}\ncurrent-context: c\n`,
      { mode: 0o600 },
    );
    return file;
  }

  private spawn(pod: Pod, r: Running, dirs: Map<string, string>, refValues: Map<string, string>, kubeconfig: string | undefined): void {
    const inits = pod.spec.initContainers ?? [];
    const init = r.initDone < inits.length;
    const c = init ? inits[r.initDone]! : pod.spec.containers[0]!;
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (e.value !== undefined) env[e.name] = expand(e.value, env);
      else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath, r.ip);
      else if (cm ?? sec) {
        const ref = (cm ?? sec)!;
        const v = refValues.get(`${cm ? 'configmaps' : 'secrets'}/${ref.name}/${ref.key}`);
        if (v !== undefined) env[e.name] = v;
      }
    }
    // a mount path in an argument or variable means the volume's folder here; the termination message
    // file (as a kubelet mounts one at terminationMessagePath) is a file of the log folder
    const termFile = join(this.logDir, `${pod.metadata.namespace ?? 'default'}_${pod.metadata.name}_${c.name}.termination-log`);
    rmSync(termFile, { force: true });
    const mounts = [...(c.volumeMounts ?? []).map((m) => [m.mountPath, dirs.get(m.name) ?? m.mountPath] as const), [c.terminationMessagePath ?? '/dev/termination-log', termFile] as const].sort((a, b) => b[0].length - a[0].length);
    const local = (s: string): string => {
      for (const [from, to] of mounts) if (s.includes(from)) return s.split(from).join(to);
      return s;
    };
    for (const k of Object.keys(env)) env[k] = local(env[k]!);
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => local(expand(a, env)));
    const exe = argv.shift() ?? '';
    const program = /(^|\/)(etcd-node|etcd-operator)$/.exec(exe)?.[2];
    if (!program) {
      r.log += `pod-runner: cannot run ${exe}: only the etcd-node and etcd-operator commands are supported\n`;
      r.terminated = true;
      return;
    }
    const proc = spawn(process.execPath, ['--import', join(repoRoot, 'test', 'k8s', 'dns-hook.mjs'), join(this.buildRoot(c.image), 'bin', `${program}.js`), ...argv], {
      env: { PATH: process.env['PATH'] ?? '', ...env, ETCD_TS_HOSTS_FILE: this.hostsFile, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    r.proc = proc;
    r.ready = false;
    r.livenessFailures = 0;
    if (!init) r.startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    // also to <workDir>/logs/<namespace>_<pod>.log (every restart), which tests and people read as
    // `kubectl logs` (the runner serves no logs endpoint)
    const logFile = join(this.logDir, `${pod.metadata.namespace ?? 'default'}_${pod.metadata.name}.log`);
    if (init) r.initOutput = '';
    else r.mainOutput = '';
    const add = (b: Buffer): void => {
      if (init) r.initOutput = (r.initOutput + b.toString()).slice(-2048);
      else r.mainOutput = (r.mainOutput + b.toString()).slice(-2048);
      r.log += b.toString();
      if (r.log.length > 1_000_000) r.log = r.log.slice(-500_000);
      appendFileSync(logFile, b);
    };
    proc.stdout?.on('data', add);
    proc.stderr?.on('data', add);
    proc.once('exit', (code, signal) => {
      const what = init ? `init container ${c.name} exited` : 'exited';
      r.log += `\n----- ${what} (${signal ?? code}) -----\n`;
      appendFileSync(logFile, `\n----- ${what} (${signal ?? code}) -----\n`);
      if (r.proc === proc) r.proc = undefined;
      r.ready = false;
      r.exitedAt = Date.now();
      if (init && code === 0) {
        r.initDone++;
        r.initRestarts = 0;
        r.initLastExit = undefined;
      } else if (init) {
        r.initLastExit = code ?? 128;
        r.initFailureOutput = r.initOutput;
      } else if (!r.terminated && (pod.spec.restartPolicy === 'Never' || (pod.spec.restartPolicy === 'OnFailure' && code === 0))) {
        // the pod completes: its message is the file the container wrote (at most 4096 bytes, as a
        // kubelet reads it), or under FallbackToLogsOnError a failed container's last output
        const exitCode = code ?? 128;
        const written = existsSync(termFile) ? readFileSync(termFile).subarray(0, 4096).toString() : '';
        const message = written || (exitCode !== 0 && c.terminationMessagePolicy === 'FallbackToLogsOnError' ? r.mainOutput : '');
        r.completed = { exitCode, message: message || undefined };
      }
    });
  }

  private async probe(pod: Pod, r: Running): Promise<void> {
    const c = pod.spec.containers[0]!;
    if (!r.proc || r.initDone < (pod.spec.initContainers ?? []).length) return;
    // probe periods are capped at 1 s: tests wait less than a real kubelet would make them
    if (Date.now() - r.lastProbe < Math.min(1000, (c.readinessProbe?.periodSeconds ?? 1) * 1000)) return;
    r.lastProbe = Date.now();
    r.ready = c.readinessProbe ? await httpProbe(c.readinessProbe, r.ip, c) : true;
    // as the kubelet: no liveness probe before its initial delay (capped at 10 s here)
    const sinceStart = Date.now() - Date.parse(r.startedAt);
    if (c.livenessProbe && r.proc && sinceStart >= Math.min(10, c.livenessProbe.initialDelaySeconds ?? 0) * 1000) {
      if (await httpProbe(c.livenessProbe, r.ip, c)) r.livenessFailures = 0;
      else if (++r.livenessFailures >= (c.livenessProbe.failureThreshold ?? 3)) {
        r.log += '\n----- liveness probe failed: restarting -----\n';
        appendFileSync(join(this.logDir, `${pod.metadata.namespace ?? 'default'}_${pod.metadata.name}.log`), '\n----- liveness probe failed: restarting -----\n');
        r.livenessFailures = 0;
        r.proc.kill('SIGKILL');
      }
    }
  }

  private async reportStatus(pod: Pod, r: Running): Promise<void> {
    const c = pod.spec.containers[0]!;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const inits = pod.spec.initContainers ?? [];
    const initialized = r.initDone >= inits.length;
    const running = initialized && r.proc !== undefined;
    const cond = (type: string, ok: boolean): object => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: now });
    const initContainerStatuses = inits.map((ic, i) => {
      const failed = i === r.initDone && r.initLastExit !== undefined;
      const state =
        i < r.initDone
          ? { terminated: { exitCode: 0, reason: 'Completed' } }
          : i === r.initDone && r.proc
            ? { running: { startedAt: now } }
            : failed
              ? { waiting: { reason: 'CrashLoopBackOff' } }
              : { waiting: { reason: 'PodInitializing' } };
      return {
        name: ic.name,
        image: ic.image ?? '',
        imageID: '',
        containerID: i === r.initDone && r.proc ? `local-process://${r.proc.pid ?? 0}` : '',
        ready: i < r.initDone,
        started: i === r.initDone && r.proc !== undefined,
        restartCount: i === r.initDone ? r.initRestarts : 0,
        state,
        ...(failed
          ? { lastState: { terminated: { exitCode: r.initLastExit, reason: 'Error', ...((ic as { terminationMessagePolicy?: string }).terminationMessagePolicy === 'FallbackToLogsOnError' ? { message: r.initFailureOutput } : {}) } } }
          : {}),
      };
    });
    const status = {
      phase: r.completed ? (r.completed.exitCode === 0 ? 'Succeeded' : 'Failed') : r.terminated ? 'Failed' : initialized ? 'Running' : 'Pending',
      hostIP: '127.0.0.1',
      podIP: r.ip,
      podIPs: [{ ip: r.ip }],
      startTime: r.startedAt || now,
      conditions: [cond('PodScheduled', true), cond('Initialized', initialized), cond('ContainersReady', r.ready), cond('Ready', r.ready)],
      ...(inits.length > 0 ? { initContainerStatuses } : {}),
      containerStatuses: [
        {
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          containerID: `local-process://${r.proc?.pid ?? 0}`,
          ready: r.ready,
          started: running,
          restartCount: r.restarts,
          state: r.completed
            ? { terminated: { exitCode: r.completed.exitCode, reason: r.completed.exitCode === 0 ? 'Completed' : 'Error', ...(r.completed.message ? { message: r.completed.message } : {}) } }
            : running
              ? { running: { startedAt: r.startedAt } }
              : { waiting: { reason: r.terminated ? 'CannotRun' : initialized ? 'CrashLoopBackOff' : 'PodInitializing' } },
        },
      ],
    };
    const summary = JSON.stringify([status.phase, r.completed, r.ip, r.ready, running, r.restarts, r.initDone, r.initRestarts, r.initLastExit, r.proc?.pid]);
    if ((r as Running & { reported?: string }).reported === summary) return;
    const fresh = await this.kube.request<Pod>('GET', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`).catch(() => undefined);
    if (!fresh || fresh.metadata.uid !== r.uid) return;
    await this.kube
      .request('PUT', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`, { ...fresh, status })
      .then(() => {
        (r as Running & { reported?: string }).reported = summary;
      })
      .catch((err: unknown) => {
        if (!(err instanceof KubeError && (err.status === 409 || err.status === 404))) throw err;
      });
  }

  /** A pod being deleted: stop its process (SIGTERM, then SIGKILL after the grace period), then let the
   *  API server forget it (a delete with grace 0 is what a kubelet sends when the containers are gone). */
  private async finishDeletion(pod: Pod, key: string): Promise<void> {
    const r = this.pods.get(key);
    if (r) await this.kill(r);
    this.pods.delete(key);
    await this.kube
      .request('DELETE', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } })
      .catch((err: unknown) => {
        if (!(err instanceof KubeError && (err.status === 404 || err.status === 409))) throw err;
      });
  }

  private async kill(r: Running): Promise<void> {
    r.terminated = true;
    const p = r.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGTERM');
    await Promise.race([new Promise((res) => p.once('exit', res)), sleep(5000)]);
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }

  private writeHosts(pods: Pod[]): void {
    const lines: string[] = [];
    for (const p of pods) {
      const r = this.pods.get(podKey(p));
      if (!r || !p.spec.subdomain) continue;
      const host = p.spec.hostname ?? p.metadata.name;
      const fqdn = `${host}.${p.spec.subdomain}.${p.metadata.namespace}.svc`;
      lines.push(`${r.ip} ${fqdn} ${fqdn}.cluster.local`);
    }
    writeFileSync(this.hostsFile, `${lines.join('\n')}\n`);
  }
}

function podKey(p: Pod): string {
  return `${p.metadata.namespace}/${p.metadata.name}/${p.metadata.uid}`;
}

/** Kubernetes' $(VAR) expansion; $$(VAR) stays literal. */
function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => (m === '$$' ? '$' : (env[name!] ?? m)));
}

function fieldRef(pod: Pod, path: string, ip: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'status.podIP':
      return ip;
    case 'spec.nodeName':
      return NODE_NAME;
    default:
      return '';
  }
}

function httpProbe(p: Probe, ip: string, c: Container): Promise<boolean> {
  if (!p.httpGet) return Promise.resolve(true);
  const port = typeof p.httpGet.port === 'number' ? p.httpGet.port : (c.ports?.find((x) => x.name === p.httpGet!.port)?.containerPort ?? Number(p.httpGet.port));
  const get = p.httpGet.scheme === 'HTTPS' ? https.get : http.get;
  return new Promise((resolve) => {
    // as the kubelet: an HTTPS probe does not verify the certificate
    const req = get({ host: ip, port, path: p.httpGet!.path ?? '/', timeout: Math.min(5, p.timeoutSeconds ?? 1) * 1000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}
