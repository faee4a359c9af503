// The etcd-operator command: `etcd-operator --kubeconfig <file>` out of cluster (in a pod: the in-cluster
// config), `--namespace <ns>` to watch one namespace (all by default). Reconciles every EtcdCluster it
// sees: each is listed again every --resync-seconds (level-triggered), and a reconcile asks to be run
// again as soon as its step needs. SIGINT/SIGTERM finish the reconciles in flight, then exit.
import { parseArgs } from 'node:util';
import { EtcdClusterController } from '../controllers/etcdcluster/controller.js';
import { Kube } from '../runtime/kube.js';
import { createLogger } from '../runtime/log.js';
import { WorkQueue } from '../runtime/workqueue.js';

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'resync-seconds': { type: 'string', default: '2' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`etcd-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write('usage: etcd-operator [--kubeconfig FILE] [--namespace NS] [--resync-seconds N]\n');
    return 0;
  }
  const resync = Number(args['resync-seconds']);
  if (!Number.isFinite(resync) || resync <= 0) {
    process.stderr.write(`etcd-operator: --resync-seconds must be a positive number, got ${args['resync-seconds']}\n`);
    return 2;
  }
  const log = createLogger();
  const kube = await Kube.load(args.kubeconfig);
  const controller = new EtcdClusterController(kube, log);
  const queue = new WorkQueue(
    (key) => {
      const [ns, name] = key.split('/') as [string, string];
      return controller.reconcile(ns, name);
    },
    (key, err, retry) => log.warn('reconcile failed; retrying', { etcdcluster: key, error: err instanceof Error ? err.message : String(err), 'retry-ms': retry }),
  );
  const base = args.namespace ? `/apis/etcdts.dev/v1alpha1/namespaces/${args.namespace}/etcdclusters` : '/apis/etcdts.dev/v1alpha1/etcdclusters';
  let stopping = false;
  const list = async (): Promise<void> => {
    try {
      for (const ec of await kube.list<{ metadata: { name: string; namespace: string } }>(base)) queue.add(`${ec.metadata.namespace}/${ec.metadata.name}`);
    } catch (err) {
      log.warn('listing EtcdClusters failed', { error: err instanceof Error ? err.message : String(err) });
    }
  };
  log.info('etcd-operator started', { namespace: args.namespace ?? '(all)' });
  const timer = setInterval(() => void list(), resync * 1000);
  await list();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  await queue.shutdown();
  log.info('etcd-operator stopped');
  return 0;
}
