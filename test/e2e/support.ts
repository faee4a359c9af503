// What the e2e tests get from `npm run test:e2e` (scripts/test-e2e.ts starts the control plane and the
// pod runner, then runs these tests with the variables below set).
import { spawn } from 'node:child_process';
import { k8sTool } from '../k8s/tools.js';

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
};


export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl with the harness's kubeconfig; never throws on a non-zero exit. */
export function kubectl(args: string[], stdin?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(k8sTool('kubectl'), [`--kubeconfig=${env.kubeconfig}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
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
