// The Helm chart (charts/etcd-operator), the kustomize base (deploy/) and the CI workflow, checked
// without Kubernetes: helm lint and helm template of several values combinations, a values file the
// schema refuses (with the field named), the CRD copies byte-identical with crds/, `kubectl kustomize
// deploy/` the same objects as the chart's default render, actionlint on .github/workflows/. Skipped
// (saying so) where helm, kubectl or actionlint are not built; under CI=true a missing tool fails.
// The server-side dry run of every rendered object is test/e2e/chart.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMBINATIONS, NAMESPACE, actionlintBin, chartDir, helmBin, helmTemplate, idOf, kubectlBin, missing, parseObjects, readRepo, run, type K8sObject } from './tools.js';

describe('CRD copies', () => {
  for (const copy of ['charts/etcd-operator/crds', 'deploy/crds']) {
    it(`${copy}/ is byte-identical with crds/ (npm run gen:crds writes all three)`, () => {
      const yamls = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
      const want = yamls('crds');
      assert.deepEqual(yamls(copy), want);
      for (const f of want) assert.equal(readRepo(`${copy}/${f}`), readRepo(`crds/${f}`), `${copy}/${f} differs from crds/${f}`);
    });
  }
});

describe('helm chart', () => {
  const skip = missing(helmBin, 'helm');

  it('helm lint passes (strict) with the defaults and with everything on', { skip }, () => {
    for (const [name, args] of Object.entries(COMBINATIONS)) {
      const r = run(helmBin, ['lint', '--strict', chartDir, ...args]);
      assert.equal(r.code, 0, `helm lint (${name}): ${r.stdout}${r.stderr}`);
    }
  });

  for (const [name, args] of Object.entries(COMBINATIONS)) {
    it(`helm template: ${name}`, { skip }, () => {
      const objs = parseObjects(helmTemplate(['--include-crds', ...args]));
      const ids = objs.map(idOf);
      assert.equal(new Set(ids).size, ids.length, `duplicate objects: ${ids.join(', ')}`);
      for (const crd of ['etcdclusters', 'etcdbackups', 'etcdrestores']) assert.ok(ids.includes(`CustomResourceDefinition//${crd}.etcdts.dev`), ids.join(', '));
      const dep = objs.find((o) => o.kind === 'Deployment') as K8sObject & { spec: { replicas: number; template: { spec: { containers: Array<{ args: string[]; image: string; securityContext: Record<string, unknown> }>; securityContext: Record<string, unknown> } } } };
      assert.ok(dep, 'a Deployment');
      const c = dep.spec.template.spec.containers[0]!;
      assert.equal(c.securityContext['readOnlyRootFilesystem'], true);
      assert.equal(dep.spec.template.spec.securityContext['runAsNonRoot'], true);
      if (name === 'defaults') {
        assert.equal(dep.spec.replicas, 2);
        assert.equal(c.image, 'ghcr.io/etcd-ts/etcd-operator:0.1.0');
        assert.ok(c.args.includes('--leader-elect=true') && c.args.includes(`--leader-election-namespace=${NAMESPACE}`), c.args.join(' '));
        assert.deepEqual(objs.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com') || o.apiVersion.startsWith('etcdts.dev')), []);
      }
      if (name === 'monitoring on') {
        for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) assert.ok(objs.some((o) => o.kind === kind), kind);
        const cm = objs.find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
        assert.equal(cm.metadata.labels?.['grafana_dashboard'], '1');
        const dash = JSON.parse(cm.data['etcd-ts.json']!) as { panels: Array<{ targets: Array<{ expr: string }> }> };
        const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
        // every metric the dashboard and the alerts use is one the code exports
        const rules = JSON.stringify(objs.find((o) => o.kind === 'PrometheusRule'));
        const code = [readRepo('etcd-node/src/api/http/metrics.ts'), readRepo('operator/src/runtime/metrics.ts'), readRepo('operator/src/backup/agent-metrics.ts')].join('\n');
        for (const m of new Set(`${exprs}\n${rules}`.match(/\betcd_[a-z_]+/g) ?? [])) {
          const base = m.replace(/_(bucket|sum|count)$/, '');
          assert.ok(code.includes(`'${base}'`), `${m} is not a metric etcd-node, the operator or the backup agent exports`);
        }
      }
      if (name === 'cluster and backup') {
        const backup = objs.find((o) => o.kind === 'EtcdBackup') as K8sObject & { spec: { clusterName: string } };
        assert.equal(backup.spec.clusterName, 'etcd');
        assert.ok(objs.some((o) => o.kind === 'EtcdCluster'));
      }
      if (name.startsWith('one namespace')) {
        assert.ok(c.args.includes('--namespace=db') && c.args.includes('--leader-elect=false'), c.args.join(' '));
        assert.equal(c.image, 'ghcr.io/etcd-ts/etcd-operator:0.2.0');
        assert.ok(!objs.some((o) => o.kind === 'Service'));
      }
    });
  }

  it('a values file that breaks the schema is refused with the field named', { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'chart-values-'));
    try {
      const cases: Array<[string, RegExp]> = [
        ['image:\n  repositry: example/operator\n', /\/image.*additional properties 'repositry' not allowed/],
        ['replica: 3\n', /additional properties 'replica' not allowed/],
        ['replicas: two\n', /\/replicas.*got string, want integer/],
        ['prometheusRule:\n  dbQuotaRatio: 2\n', /\/prometheusRule\/dbQuotaRatio/],
        ['backup:\n  spec:\n    clusterName: other\n', /\/backup\/spec/],
      ];
      for (const [i, [values, want]] of cases.entries()) {
        const file = join(dir, `bad-${i}.yaml`);
        writeFileSync(file, values);
        for (const cmd of [['template', 'x', chartDir, '-f', file], ['lint', chartDir, '-f', file]]) {
          const r = run(helmBin, cmd);
          assert.notEqual(r.code, 0, `helm ${cmd[0]} accepted ${JSON.stringify(values)}`);
          assert.match(r.stdout + r.stderr, want);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The fields that make two installs the same: what runs, as whom, with which rights, on which port. */
function keyFields(o: K8sObject): unknown {
  const spec = o['spec'] as Record<string, unknown> | undefined;
  switch (o.kind) {
    case 'ClusterRole':
      return o['rules'];
    case 'ClusterRoleBinding':
      return { roleRef: o['roleRef'], subjects: o['subjects'] };
    case 'Service':
      return { type: spec?.['type'], ports: spec?.['ports'], selector: spec?.['selector'], publishNotReadyAddresses: spec?.['publishNotReadyAddresses'] };
    case 'Deployment': {
      const t = (spec?.['template'] as { spec: Record<string, unknown> }).spec;
      return { replicas: spec?.['replicas'], strategy: spec?.['strategy'], selector: spec?.['selector'], pod: t };
    }
    case 'CustomResourceDefinition':
      return spec;
    default:
      return undefined;
  }
}

describe('deploy/ (kustomize) installs what the chart installs', () => {
  const skip = missing(helmBin, 'helm') ?? missing(kubectlBin, 'k8s');
  it('kubectl kustomize deploy/ = helm template with the default values (plus the Namespace)', { skip }, () => {
    const k = run(kubectlBin, ['kustomize', 'deploy/']);
    assert.equal(k.code, 0, k.stderr);
    const kust = parseObjects(k.stdout);
    const chart = parseObjects(helmTemplate(['--include-crds']));
    assert.deepEqual(kust.filter((o) => o.kind === 'Namespace').map(idOf), [`Namespace//${NAMESPACE}`]);
    const rest = kust.filter((o) => o.kind !== 'Namespace');
    assert.deepEqual(rest.map(idOf).sort(), chart.map(idOf).sort());
    for (const o of rest) {
      const c = chart.find((x) => idOf(x) === idOf(o))!;
      assert.deepEqual(keyFields(o), keyFields(c), `${idOf(o)} differs between deploy/ and the chart`);
    }
  });
});

describe('CI workflow', () => {
  const skip = missing(actionlintBin, 'actionlint');
  it('actionlint accepts .github/workflows/', { skip }, () => {
    const r = run(actionlintBin, ['-no-color']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
