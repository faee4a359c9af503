// What the e2e tests get from `npm run test:e2e` (scripts/test-e2e.ts starts the control plane and the
// pod runner, then runs these tests with the variables below set).
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k8sTool } from '../k8s/tools.js';
import { repoRoot } from '../support/servers.js';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the e2e tests with \`npm run test:e2e\``);
  return v;
}

export const env = {
  get kubeconfig(): string {
    return need('KUBECONFIG');
  },
  get server(): string {
    return need('ETCD_TS_K8S_SERVER');
  },
  get certDir(): string {
    return need('ETCD_TS_K8S_CERTS');
  },
  /** the pod runner's hosts file (pod DNS names), for ETCD_TS_HOSTS_FILE with test/k8s/dns-hook.mjs */
  get hostsFile(): string {
    return need('ETCD_TS_HOSTS_FILE');
  },
  /** the endpoint (host:port) of the storage kube-apiserver runs on */
  get storageEndpoint(): string {
    return need('ETCD_TS_K8S_STORAGE_ENDPOINT');
  },
  /** the pod runner's folder of pod output, <namespace>_<pod>.log */
  get podLogs(): string {
    return need('ETCD_TS_POD_LOGS');
  },
  /** the pod runner's image → build map (test/k8s/README.md) */
  get podBuilds(): string {
    return need('ETCD_TS_POD_BUILDS');
  },
};

/**
 * Another build of this checkout whose package.json says `version` (etcd-node reports it in its
 * etcd_node_build_info metric), run by the pod runner for `image`: bin/ and dist/ copied, node_modules
 * shared. Returns the build's folder (removed by the caller).
 */
export function otherBuild(image: string, version: string): string {
  const root = mkdtempSync(join(tmpdir(), `etcd-ts-build-${version}-`));
  cpSync(join(repoRoot, 'bin'), join(root, 'bin'), { recursive: true });
  cpSync(join(repoRoot, 'dist'), join(root, 'dist'), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(root, 'package.json'), `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
  symlinkSync(realpathSync(join(repoRoot, 'node_modules')), join(root, 'node_modules'));
  writeFileSync(join(env.podBuilds, encodeURIComponent(image)), root);
  return root;
}

/** What a pod's process printed (all its restarts): the pod runner's stand-in for `kubectl logs`. */
export function podLog(namespace: string, pod: string): string {
  try {
    return readFileSync(join(env.podLogs, `${namespace}_${pod}.log`), 'utf8');
  } catch {
    return '';
  }
}


export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl with the harness's kubeconfig; never throws on a non-zero exit. */
export function kubectl(args: string[], stdin?: string, timeoutMs = 60_000): Promise<RunResult> {
  return runTool(k8sTool('kubectl'), [`--kubeconfig=${env.kubeconfig}`, ...args], stdin, timeoutMs);
}

/** A tool's output and exit code (killed after timeoutMs); never throws on a non-zero exit. */
export function runTool(bin: string, args: string[], stdin?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('error', reject);
    p.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(stdin ?? '');
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a value (not undefined), or fails after timeoutMs with `what`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err instanceof Error ? err : new Error(String(err));
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/**
 * A kubeconfig for the operator as the ServiceAccount of deploy/rbac.yaml (applied here), so a rule
 * missing there fails the tests that use it.
 */
export async function operatorKubeconfig(file: string): Promise<string> {
  const applied = await kubectl(['apply', '-f', join(repoRoot, 'deploy', 'rbac.yaml')]);
  if (applied.code !== 0) throw new Error(`kubectl apply deploy/rbac.yaml: ${applied.stderr}`);
  const token = await kubectl(['create', 'token', 'etcd-operator', '-n', 'etcd-ts-system', '--duration=2h']);
  if (token.code !== 0) throw new Error(`kubectl create token: ${token.stderr}`);
  const admin = readFileSync(env.kubeconfig, 'utf8');
  writeFileSync(file, admin.replace(/users:[\s\S]*?contexts:/, `users:\n- name: admin\n  user:\n    token: ${token.stdout.trim()}\ncontexts:`));
  return file;
}

/** The operator as a local process (its pods' names resolve through the pod runner's hosts file). */
export function spawnOperator(kubeconfig: string, args: string[], onOutput: (text: string) => void, extraEnv: Record<string, string> = {}): ChildProcess {
  const p = spawn(process.execPath, ['--import', join(repoRoot, 'test', 'k8s', 'dns-hook.mjs'), join(repoRoot, 'bin', 'etcd-operator.js'), `--kubeconfig=${kubeconfig}`, ...args], {
    env: { ...process.env, ETCD_TS_HOSTS_FILE: env.hostsFile, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout?.on('data', (b: Buffer) => onOutput(b.toString()));
  p.stderr?.on('data', (b: Buffer) => onOutput(b.toString()));
  return p;
}

/** SIGTERM, and wait for the exit. */
export async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
}
