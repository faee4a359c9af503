// `etcd-operator` (the manager): `--kubeconfig <file>` out of cluster (in a pod: the in-cluster config),
// `--namespace <ns>` to watch one namespace (all by default). Informers over watches of
// EtcdClusters and of the pods they own feed a keyed workqueue; every key is also listed again every
// --resync-seconds (level-triggered). With --leader-elect (default) only the holder of the Lease
// `etcd-operator` reconciles. /metrics, /healthz and /readyz on --metrics-address. SIGINT/SIGTERM
// finish the reconciles in flight, give the lease up, and exit.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { EtcdBackupController } from '../controllers/etcdbackup/controller.js';
import { EtcdRestoreController } from '../controllers/etcdrestore/controller.js';
import { EtcdClusterController } from '../controllers/etcdcluster/controller.js';
import { AGENT_IMAGE_REPOSITORY, packageVersion } from './version.js';
import { EventRecorder } from '../runtime/events.js';
import { Informer } from '../runtime/informer.js';
import { InformerCache } from '../runtime/cache.js';
import { Kube, type Obj } from '../runtime/kube.js';
import { LeaderElector } from '../runtime/leader-election.js';
import { createLogger } from '../runtime/log.js';
import { OperatorMetrics, serveMetrics } from '../runtime/metrics.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { isTerminal } from '../runtime/reconciler.js';

export const USAGE = `usage: etcd-operator [flags]              the operator (below)
       etcd-operator backup-agent [flags]  the backup agent of one EtcdBackup (etcd-operator backup-agent --help)
       etcd-operator backup check [flags]  verifies a backup store (etcd-operator backup check --help)

operator flags:
  --kubeconfig FILE               kubeconfig to use (default: in-cluster config, else ~/.kube/config)
  --namespace NS                  watch only this namespace (default: all)
  --metrics-address HOST:PORT     /metrics, /healthz, /readyz ("0" disables; default :8080 in a pod,
                                  where the kubelet probes the pod's address, else 127.0.0.1:8080)
  --leader-elect BOOL             only the holder of the Lease reconciles (default true)
  --leader-election-namespace NS  where the Lease lives (default: --namespace, else the pod's own
                                  namespace in a cluster, else default)
  --resync-seconds N              list every EtcdCluster and EtcdBackup again this often (default 30)
  --agent-image IMAGE             the image backup agents run (default: ETCD_TS_AGENT_IMAGE, else
                                  ghcr.io/etcd-ts/etcd-operator:<this version>)
`;

const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Running in a pod: the kubelet's service variables are set. */
function inPod(): boolean {
  return process.env['KUBERNETES_SERVICE_HOST'] !== undefined;
}

/** The namespace of the operator's own pod (its service account's), when it runs in one. */
function ownNamespace(): string | undefined {
  try {
    return readFileSync(SA_NAMESPACE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function managerMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'metrics-address': { type: 'string' },
        'leader-elect': { type: 'string', default: 'true' },
        'leader-election-namespace': { type: 'string' },
        'resync-seconds': { type: 'string', default: '30' },
        'agent-image': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`etcd-operator: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const resync = Number(args['resync-seconds']);
  if (!Number.isFinite(resync) || resync <= 0) {
    process.stderr.write(`etcd-operator: --resync-seconds must be a positive number, got ${args['resync-seconds']}\n`);
    return 2;
  }
  if (args['leader-elect'] !== 'true' && args['leader-elect'] !== 'false') {
    process.stderr.write(`etcd-operator: --leader-elect must be true or false, got ${args['leader-elect']}\n`);
    return 2;
  }
  const log = createLogger();
  const kube = await Kube.load(args.kubeconfig);
  const metrics = new OperatorMetrics();
  const elector =
    args['leader-elect'] === 'true'
      ? new LeaderElector(kube, args['leader-election-namespace'] ?? args.namespace ?? ownNamespace() ?? 'default', 'etcd-operator', `${hostname()}-${process.pid}`, log)
      : undefined;
  // outside a pod the operator is someone's process on a workstation: its metrics stay on loopback
  const metricsAddress = args['metrics-address'] ?? (inPod() ? ':8080' : '127.0.0.1:8080');
  // ready while it runs, leading or standing by (as controller-runtime's managers are): a stand-by is
  // what a roll-out of the Deployment and `helm install --wait` must see Ready; who leads is the Lease's
  // holder and the metric etcd_operator_is_leader
  const server = metricsAddress === '0' ? undefined : await serveMetrics(metricsAddress, metrics, () => true);

  const recorder = new EventRecorder(kube, 'etcd-operator', log);
  // the EtcdCluster controller reads from the informers below (cache.ts), the others from the API server
  const cache = new InformerCache((answered) => metrics.cacheReads.inc({ answered }));
  const clusterController = new EtcdClusterController(kube.withCache(cache), log, recorder);
  const backupController = new EtcdBackupController(kube, log, args['agent-image'] ?? process.env['ETCD_TS_AGENT_IMAGE'] ?? `${AGENT_IMAGE_REPOSITORY}:${packageVersion()}`, recorder);
  /** one workqueue per controller: keys are namespace/name, which two kinds share */
  const queueFor = (controller: string, reconcile: (ns: string, name: string) => Promise<{ requeueAfterMs?: number }>): WorkQueue => {
    const queue: WorkQueue = new WorkQueue(
      async (key) => {
        const [ns, name] = key.split('/') as [string, string];
        const end = metrics.duration.startTimer({ controller });
        try {
          const r = await reconcile(ns, name);
          metrics.reconciles.inc({ controller, result: 'success' });
          return r;
        } catch (err) {
          metrics.reconciles.inc({ controller, result: isTerminal(err) ? 'terminal' : 'error' });
          throw err;
        } finally {
          end();
          metrics.queueDepth.set({ controller }, queue.depth);
        }
      },
      (key, err, retry) =>
        retry === undefined
          ? log.error('reconcile failed; not retried until the object or the world changes', { [controller]: key, error: err instanceof Error ? err.message : String(err) })
          : log.warn('reconcile failed; retrying', { [controller]: key, error: err instanceof Error ? err.message : String(err), 'retry-ms': retry }),
    );
    return queue;
  };
  const clusterQueue = queueFor('etcdcluster', (ns, name) => clusterController.reconcile(ns, name));
  const backupQueue = queueFor('etcdbackup', (ns, name) => backupController.reconcile(ns, name));
  const restoreController = new EtcdRestoreController(kube, log, recorder);
  const restoreQueue = queueFor('etcdrestore', (ns, name) => restoreController.reconcile(ns, name));
  const scope = args.namespace ? `/namespaces/${args.namespace}` : '';
  const clusters = `/apis/etcdts.dev/v1alpha1${scope}/etcdclusters`;
  const backups = `/apis/etcdts.dev/v1alpha1${scope}/etcdbackups`;
  const restores = `/apis/etcdts.dev/v1alpha1${scope}/etcdrestores`;
  const keyOf = (o: Obj): string | undefined => {
    const m = o.metadata as { name?: string; namespace?: string } | undefined;
    return m?.name && m.namespace ? `${m.namespace}/${m.name}` : undefined;
  };
  const clusterInformer = new Informer(kube, clusters, keyOf, (k) => clusterQueue.add(k), log);
  cache.register('/apis/etcdts.dev/v1alpha1/etcdclusters', clusterInformer);
  // what a cluster is made of (its pods, claims, StatefulSet, Services, ConfigMap, PDB), all labelled
  // managed-by the operator: a change reconciles the cluster, and the reconcile reads them from here
  const MANAGED = 'app.kubernetes.io/managed-by=etcd-ts-operator';
  const clusterOfPart = (o: Obj): string | undefined => {
    const m = o.metadata as { namespace?: string; labels?: Record<string, string> } | undefined;
    if (m?.labels?.['app.kubernetes.io/name'] !== 'etcd') return undefined;
    const instance = m.labels['app.kubernetes.io/instance'];
    return instance && m.namespace ? `${m.namespace}/${instance}` : undefined;
  };
  const parts = [
    ['/api/v1', 'pods'],
    ['/api/v1', 'persistentvolumeclaims'],
    ['/api/v1', 'services'],
    ['/api/v1', 'configmaps'],
    ['/apis/apps/v1', 'statefulsets'],
    ['/apis/policy/v1', 'poddisruptionbudgets'],
  ].map(([api, resource]) => {
    const informer = new Informer(kube, `${api}${scope}/${resource}?labelSelector=${encodeURIComponent(MANAGED)}`, clusterOfPart, (k) => clusterQueue.add(k), log);
    cache.register(`${api}/${resource}`, informer, MANAGED);
    return informer;
  });
  const informers = [
    clusterInformer,
    ...parts,
    new Informer(kube, backups, keyOf, (k) => backupQueue.add(k), log),
    new Informer(kube, restores, keyOf, (k) => restoreQueue.add(k), log),
  ];

  let stopping = false;
  let resolveStop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (resolveStop = resolve));
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    resolveStop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  log.info('etcd-operator started', { namespace: args.namespace ?? '(all)', 'leader-elect': elector !== undefined });
  let lost = false;
  if (elector) {
    const won = elector.run(() => {
      lost = true;
      stop();
    });
    await Promise.race([won, stopped]);
  }
  let timer: NodeJS.Timeout | undefined;
  if (!stopping) {
    metrics.leader.set(1);
    for (const i of informers) i.start();
    timer = setInterval(() => {
      for (const [path, queue] of [
        [clusters, clusterQueue],
        [backups, backupQueue],
        [restores, restoreQueue],
      ] as const) {
        kube.list<Obj>(path).then(
          (items) => items.forEach((o) => (keyOf(o) ? queue.add(keyOf(o)!) : undefined)),
          (err: unknown) => log.warn('resync list failed', { path, error: String(err) }),
        );
      }
    }, resync * 1000);
  }
  await stopped;
  clearInterval(timer);
  await Promise.all(informers.map((i) => i.stop()));
  await Promise.all([clusterQueue.shutdown(), backupQueue.shutdown(), restoreQueue.shutdown()]);
  clusterController.close();
  await elector?.release();
  server?.close();
  log.info('etcd-operator stopped', lost ? { reason: 'lost the leader election lease' } : {});
  return lost ? 1 : 0;
}
