// The real etcd releases scripts/build-tools.sh builds from the Go module proxy into
// .tools/etcd-<version>/{etcd,etcdctl,etcdutl} (versions in scripts/tools-versions.env), for suites that
// need more than Debian's etcd 3.4: etcdutl (3.5+) and servers of the 3.5 and 3.6 lines.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolVersions } from '../k8s/tools.js';
import { repoRoot } from './servers.js';

/** e.g. ['v3.5.35', 'v3.6.16'] */
export const ETCD_VERSIONS: readonly string[] = (toolVersions()['ETCD_VERSIONS'] ?? '').split(/\s+/).filter((v) => v !== '');

export type EtcdTool = 'etcd' | 'etcdctl' | 'etcdutl';

/** The built tool of the newest release of a line ('3.5', '3.6'), e.g. .tools/etcd-v3.6.16/etcdutl. */
export function etcdRelease(line: '3.5' | '3.6'): { version: string; path: (tool: EtcdTool) => string } {
  const version = ETCD_VERSIONS.filter((v) => v.startsWith(`v${line}.`)).at(-1) ?? `v${line}.?`;
  return { version, path: (tool) => join(repoRoot, '.tools', `etcd-${version}`, tool) };
}

/** undefined when every release's tools are built, else why not (a skip message). */
export function missingEtcdReleases(): string | undefined {
  for (const line of ['3.5', '3.6'] as const) {
    const r = etcdRelease(line);
    for (const t of ['etcd', 'etcdctl', 'etcdutl'] as const) {
      if (!existsSync(r.path(t))) return `skipped: ${r.path(t)} is missing (build it with \`bash scripts/build-tools.sh etcd\`)`;
    }
  }
  return undefined;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs a tool to its end (never throws on a non-zero exit; kills it after `timeoutMs`). */
export function run(file: string, args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
    env['ETCDCTL_API'] = '3';
    const c = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    c.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    c.once('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}
