// helm, actionlint and kubectl as scripts/build-tools.sh builds them into .tools/, and the chart's renders
// the deploy tests and the e2e chart test share.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { k8sTool, toolVersions } from '../k8s/tools.js';
import { repoRoot } from '../support/servers.js';

const versions = toolVersions();
export const helmBin = process.env['ETCD_TS_HELM'] ?? join(repoRoot, '.tools', `helm-${versions['HELM_VERSION'] ?? 'unknown'}`, 'helm');
export const actionlintBin = join(repoRoot, '.tools', `actionlint-${versions['ACTIONLINT_VERSION'] ?? 'unknown'}`, 'actionlint');
export const kubectlBin = k8sTool('kubectl');
export const chartDir = join(repoRoot, 'charts', 'etcd-operator');

/** Why a tool is missing (a skip message), undefined when present. Under CI=true a test fails instead. */
export function missing(bin: string, target: string): string | undefined {
  if (existsSync(bin)) return undefined;
  const why = `${bin} is missing (build it with \`bash scripts/build-tools.sh ${target}\`)`;
  if (process.env['CI'] === 'true') throw new Error(`${why}; CI=true: .ci/run must build it`);
  return `skipped: ${why}`;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[]): Run {
  const r = spawnSync(bin, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export const RELEASE = 'etcd-operator';
export const NAMESPACE = 'etcd-ts-system';

/** `helm template` of the chart as release etcd-operator in etcd-ts-system; throws on a refusal. */
export function helmTemplate(extra: string[] = []): string {
  const r = run(helmBin, ['template', RELEASE, chartDir, '--namespace', NAMESPACE, ...extra]);
  if (r.code !== 0) throw new Error(`helm template ${extra.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Values combinations every test renders: the defaults, and everything on. */
export const COMBINATIONS: Record<string, string[]> = {
  defaults: [],
  'monitoring on': ['--set', 'serviceMonitor.enabled=true,podMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true'],
  'cluster and backup': [
    '--set', 'cluster.enabled=true,backup.enabled=true',
    '--set', 'backup.spec.store.s3.bucket=etcd-backups,backup.spec.store.s3.credentialsSecret=etcd-backup-s3,backup.spec.store.s3.endpoint=http://minio.minio.svc:9000',
  ],
  'one namespace, no leader election, one replica': ['--set', 'watchNamespace=db,leaderElection.enabled=false,replicas=1,image.tag=0.2.0,metrics.service.enabled=false'],
};

export function readRepo(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The objects of a multi-document YAML stream (documents of only comments skipped). */
export function parseObjects(text: string): K8sObject[] {
  return text
    .split(/^---\s*$/m)
    .filter((doc) => doc.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#')))
    .map((doc) => loadYaml<K8sObject>(doc));
}

export const idOf = (o: K8sObject): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
