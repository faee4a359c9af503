// What the kind suites share: kubectl and helm against the kind cluster of `npm run test:kind`
// (test/kind/run.sh sets KUBECONFIG, ETCD_TS_KUBECTL, ETCD_TS_HELM and the image names), and waiting.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export const kubeconfig = process.env['KUBECONFIG'];
const kubectlBin = process.env['ETCD_TS_KUBECTL'] ?? 'kubectl';
const helmBin = process.env['ETCD_TS_HELM'] ?? 'helm';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const p = execFile(bin, args, { maxBuffer: 64 << 20, env: { ...process.env, KUBECONFIG: kubeconfig ?? '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 1 ? err.message : '') });
    });
    if (input !== undefined) p.stdin?.end(input);
  });
}

export const kubectl = (args: string[], input?: string): Promise<Run> => run(kubectlBin, args, input);
export const helm = (args: string[]): Promise<Run> => run(helmBin, args);

/** kubectl that must succeed: its stdout, or an error with its stderr. */
export async function kube(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a value; fails naming what it waited for and what it saw last. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms: number, seen?: () => Promise<string>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${seen ? `\n${await seen().catch((e: unknown) => String(e))}` : ''}`);
    await sleep(1000);
  }
}

/** Waits for a pod that runs to completion; its log, or an error with the log and `describe`. */
export async function completed(ns: string, name: string, ms = 180_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const phase = (await kubectl(['get', 'pod', '-n', ns, name, '-o', 'jsonpath={.status.phase}'])).stdout;
    if (phase === 'Succeeded') return kube(['logs', '-n', ns, name]);
    if (phase === 'Failed' || Date.now() > end) {
      const logs = await kubectl(['logs', '-n', ns, name]);
      const desc = await kubectl(['describe', 'pod', '-n', ns, name]);
      throw new Error(`pod ${ns}/${name} ${phase || 'pending'}:\n${logs.stdout}${logs.stderr}\n${desc.stdout}`);
    }
    await sleep(1000);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** `kubectl port-forward` to a Service on a loopback port of this machine, until stop(). */
export async function portForward(ns: string, target: string, port: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const local = await freePort();
  const p: ChildProcess = spawn(kubectlBin, ['port-forward', '-n', ns, '--address', '127.0.0.1', target, `${local}:${port}`], {
    env: { ...process.env, KUBECONFIG: kubeconfig ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`kubectl port-forward ${target}: no forward within 30 s: ${out}`)), 30_000);
    const on = (b: Buffer): void => {
      out += b.toString();
      if (out.includes('Forwarding from')) {
        clearTimeout(t);
        resolve();
      }
    };
    p.stdout?.on('data', on);
    p.stderr?.on('data', on);
    p.once('exit', (c) => {
      clearTimeout(t);
      reject(new Error(`kubectl port-forward ${target} exited (${c}): ${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${local}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (p.exitCode !== null) return resolve();
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      }),
  };
}
