// Where the Go-built Kubernetes binaries are (scripts/build-tools.sh puts them in .tools/k8s-<version>/),
// and a plain message when they are not there.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/servers.js';

/** scripts/tools-versions.env as name → value (the versions build-tools.sh builds into .tools/). */
export function toolVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(repoRoot, 'scripts', 'tools-versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)="?([^"]*)"?$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

export const K8S_VERSION: string = toolVersions()['K8S_VERSION'] ?? 'unknown';

/** The folder of kube-apiserver, kube-controller-manager and kubectl (ETCD_TS_K8S_BIN overrides). */
export const k8sBin: string = process.env['ETCD_TS_K8S_BIN'] ?? join(repoRoot, '.tools', `k8s-${K8S_VERSION}`);

export function k8sTool(name: 'kube-apiserver' | 'kube-controller-manager' | 'kubectl'): string {
  return join(k8sBin, name);
}

/** undefined when the binaries are there, else why not (for a skip message). */
export function missingK8s(): string | undefined {
  for (const t of ['kube-apiserver', 'kube-controller-manager', 'kubectl'] as const) {
    if (!existsSync(k8sTool(t))) return `skipped: ${k8sTool(t)} is missing (build it with \`bash scripts/build-tools.sh k8s\`, about 10 minutes)`;
  }
  return undefined;
}
