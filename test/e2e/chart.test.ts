// The Helm chart on the real control plane, as a user meets it: `helm install --wait` of
// charts/etcd-operator (its Deployment, ServiceAccount and RBAC; the operator runs as the chart's pod, with
// the chart's ServiceAccount token, so a rule missing from the chart's ClusterRole fails here), then
// `kubectl apply -f deploy/examples/cluster.yaml` becomes a Running 3-member cluster that serves etcdctl;
// `helm uninstall` removes the operator and leaves the CRDs and the cluster serving.
// One replica: the pod runner runs pods as processes of one host, so two operator pods cannot both listen
// on the metrics port (in a cluster each pod has its own network; kind runs the chart's default of two).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { etcdctl } from '../support/etcdctl.js';
import { freePorts, repoRoot } from '../support/servers.js';
import { chartDir, helmBin, missing } from '../deploy/tools.js';
import { env, eventually, kubectl, runTool } from './support.js';

const RELEASE = 'chart-e2e';
const NS = 'chart-e2e';
const FULLNAME = `${RELEASE}-etcd-operator`;

async function helm(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runTool(helmBin, [...args, '--kubeconfig', env.kubeconfig], undefined, 300_000);
  return { code: r.code, out: r.stdout + r.stderr };
}

interface ClusterStatus {
  phase?: string;
  readyMembers?: number;
  conditions?: Array<{ type: string; status: string }>;
}

describe('the Helm chart on kube-apiserver', () => {
  const skip = missing(helmBin, 'helm');
  let installed = false;

  after(async () => {
    if (skip) return;
    await kubectl(['delete', '-f', `${repoRoot}/deploy/examples/cluster.yaml`, '--ignore-not-found', '--wait=false']);
    if (installed) await helm(['uninstall', RELEASE, '-n', NS, '--wait']);
  });

  it('helm install --wait, then the example EtcdCluster becomes Running and serves etcdctl', { skip }, async () => {
    const port = (await freePorts(1))[0]!;
    const r = await helm([
      'install', RELEASE, chartDir, '-n', NS, '--create-namespace', '--wait', '--timeout', '4m',
      '--set', 'replicas=1', '--set', `metrics.port=${port}`, '--set', 'watchNamespace=etcd',
      // earlier suites applied crds/ with kubectl: helm 4 applies the chart's (identical) CRDs server-side
      // and, without this, stops at the fields kubectl's apply owns (the README says so)
      '--force-conflicts',
    ]);
    assert.equal(r.code, 0, r.out);
    installed = true;
    assert.match(r.out, /STATUS: deployed/);
    const ready = await kubectl(['get', 'deploy', FULLNAME, '-n', NS, '-o', 'jsonpath={.status.readyReplicas}']);
    assert.equal(ready.stdout, '1', 'the operator pod is Ready');
    // the operator pod answers as the chart's probes ask, and it leads
    const podIP = (await kubectl(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=etcd-operator', '-o', 'jsonpath={.items[0].status.podIP}'])).stdout;
    assert.match(podIP, /^127\./);
    const metrics = await eventually('the operator to lead', async () => {
      const body = await fetch(`http://${podIP}:${port}/metrics`).then((x) => x.text()).catch(() => '');
      return /etcd_operator_is_leader 1/.test(body) ? body : undefined;
    }, 60_000);
    assert.match(metrics, /etcd_operator_reconcile_total|etcd_operator_workqueue_depth/);
    const holder = (await kubectl(['get', 'lease', 'etcd-operator', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout;
    assert.ok(holder.length > 0, 'the Lease is in the release namespace');

    const applied = await kubectl(['apply', '-f', `${repoRoot}/deploy/examples/cluster.yaml`]);
    assert.equal(applied.code, 0, applied.stderr);
    await eventually(
      'the example cluster to be Running with 3 ready members',
      async () => {
        const out = (await kubectl(['get', 'etcdcluster', 'etcd', '-n', 'etcd', '-o', 'jsonpath={.status}'])).stdout;
        const s = out ? (JSON.parse(out) as ClusterStatus) : {};
        return s.phase === 'Running' && s.readyMembers === 3 && s.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ? true : undefined;
      },
      240_000,
    );
    const ips = (await kubectl(['get', 'pods', '-n', 'etcd', '-l', 'app.kubernetes.io/instance=etcd', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ').filter(Boolean);
    assert.equal(ips.length, 3);
    assert.equal((await etcdctl(`${ips[0]}:2379`, ['put', 'from-helm', 'yes'])).stdout, 'OK\n');
    for (const ip of ips) assert.equal((await etcdctl(`${ip}:2379`, ['get', 'from-helm', '--print-value-only'])).stdout, 'yes\n');
  });

  it('helm uninstall removes the operator; the CRDs and the cluster stay, serving', { skip }, async () => {
    const r = await helm(['uninstall', RELEASE, '-n', NS, '--wait']);
    assert.equal(r.code, 0, r.out);
    installed = false;
    await eventually('the operator pod to be gone', async () => {
      const pods = (await kubectl(['get', 'pods', '-n', NS, '-o', 'name'])).stdout.trim();
      return pods === '' ? true : undefined;
    }, 60_000);
    assert.equal((await kubectl(['get', 'clusterrole', FULLNAME, '--ignore-not-found', '-o', 'name'])).stdout.trim(), '', 'its ClusterRole went with it');
    assert.equal((await kubectl(['get', 'crd', 'etcdclusters.etcdts.dev', '-o', 'name'])).code, 0, 'the CRDs stay');
    const ips = (await kubectl(['get', 'pods', '-n', 'etcd', '-l', 'app.kubernetes.io/instance=etcd', '-o', 'jsonpath={.items[*].status.podIP}'])).stdout.split(' ').filter(Boolean);
    assert.equal(ips.length, 3, 'the members still run');
    assert.equal((await etcdctl(`${ips[1]}:2379`, ['get', 'from-helm', '--print-value-only'])).stdout, 'yes\n');
  });
});
