// The etcd-operator command: `etcd-operator --kubeconfig <file>` out of cluster (in a pod: the in-cluster
// config), `--namespace <ns>` to watch one namespace (all by default). Informers over watches of
// EtcdClusters and of the pods they own feed a keyed workqueue; every key is also listed again every
// --resync-seconds (level-triggered). With --leader-elect (default) only the holder of the Lease
// `etcd-operator` reconciles. /metrics, /healthz and /readyz on --metrics-address. SIGINT/SIGTERM
// finish the reconciles in flight, give the lease up, and exit.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { EtcdClusterController } from '../controllers/etcdcluster/controller.js';
import { EventRecorder } from '../runtime/events.js';
import { Informer } from '../runtime/informer.js';
import { Kube, type Obj } from '../runtime/kube.js';
import { LeaderElector } from '../runtime/leader-election.js';
import { createLogger } from '../runtime/log.js';
import { OperatorMetrics, serveMetrics } from '../runtime/metrics.js';
import { WorkQueue } from '../runtime/workqueue.js';

const USAGE = `usage: etcd-operator [flags]
  --kubeconfig FILE               kubeconfig to use (default: in-cluster config, else ~/.kube/config)
  --namespace NS                  watch only this namespace (default: all)
  --metrics-address HOST:PORT     /metrics, /healthz, /readyz (default :8080; "0" disables)
  --leader-elect BOOL             only the holder of the Lease reconciles (default true)
  --leader-election-namespace NS  where the Lease lives (default: --namespace, else default)
  --resync-seconds N              list every EtcdCluster again this often (default 30)
`;

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'metrics-address': { type: 'string', default: ':8080' },
        'leader-elect': { type: 'string', default: 'true' },
        'leader-election-namespace': { type: 'string' },
        'resync-seconds': { type: 'string', default: '30' },
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
      ? new LeaderElector(kube, args['leader-election-namespace'] ?? args.namespace ?? 'default', 'etcd-operator', `${hostname()}-${process.pid}`, log)
      : undefined;
  const server = args['metrics-address'] === '0' ? undefined : await serveMetrics(args['metrics-address'], metrics, () => elector?.isLeader ?? true);

  const controller = new EtcdClusterController(kube, log, new EventRecorder(kube, 'etcd-operator', log));
  const queue = new WorkQueue(
    async (key) => {
      const [ns, name] = key.split('/') as [string, string];
      const end = metrics.duration.startTimer({ controller: 'etcdcluster' });
      try {
        const r = await controller.reconcile(ns, name);
        metrics.reconciles.inc({ controller: 'etcdcluster', result: 'success' });
        return r;
      } catch (err) {
        metrics.reconciles.inc({ controller: 'etcdcluster', result: 'error' });
        throw err;
      } finally {
        end();
        metrics.queueDepth.set({ controller: 'etcdcluster' }, queue.depth);
      }
    },
    (key, err, retry) => log.warn('reconcile failed; retrying', { etcdcluster: key, error: err instanceof Error ? err.message : String(err), 'retry-ms': retry }),
  );
  const scope = args.namespace ? `/namespaces/${args.namespace}` : '';
  const clusters = `/apis/etcdts.dev/v1alpha1${scope}/etcdclusters`;
  const keyOf = (o: Obj): string | undefined => {
    const m = o.metadata as { name?: string; namespace?: string } | undefined;
    return m?.name && m.namespace ? `${m.namespace}/${m.name}` : undefined;
  };
  const informers = [
    new Informer(kube, clusters, keyOf, (k) => queue.add(k), log),
    // a pod of a cluster changed (ready, gone): its cluster is reconciled
    new Informer(
      kube,
      `/api/v1${scope}/pods?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=etcd-ts-operator')}`,
      (o) => {
        const m = o.metadata as { namespace?: string; labels?: Record<string, string> } | undefined;
        const instance = m?.labels?.['app.kubernetes.io/instance'];
        return instance && m.namespace ? `${m.namespace}/${instance}` : undefined;
      },
      (k) => queue.add(k),
      log,
    ),
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
      kube.list<Obj>(clusters).then(
        (items) => items.forEach((o) => (keyOf(o) ? queue.add(keyOf(o)!) : undefined)),
        (err: unknown) => log.warn('resync list failed', { error: String(err) }),
      );
    }, resync * 1000);
  }
  await stopped;
  clearInterval(timer);
  await Promise.all(informers.map((i) => i.stop()));
  await queue.shutdown();
  controller.close();
  await elector?.release();
  server?.close();
  log.info('etcd-operator stopped', lost ? { reason: 'lost the leader election lease' } : {});
  return lost ? 1 : 0;
}
