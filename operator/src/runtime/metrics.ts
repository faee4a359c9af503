// The operator's /metrics (Prometheus), /healthz and /readyz on --metrics-address. Reconcile counts,
// durations and errors per controller, and the workqueue depth.
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({ name: 'etcd_operator_reconcile_total', help: 'Reconciles, by controller and result.', labelNames: ['controller', 'result'], registers: [this.registry] });
  readonly duration = new Histogram({
    name: 'etcd_operator_reconcile_duration_seconds',
    help: 'Time a reconcile took.',
    labelNames: ['controller'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'etcd_operator_workqueue_depth', help: 'Keys waiting in the workqueue.', labelNames: ['controller'], registers: [this.registry] });
  readonly cacheReads = new Counter({
    name: 'etcd_operator_cache_reads_total',
    help: 'Reads of the EtcdCluster controller, by where they were answered: the informers\' cache or the API server.',
    labelNames: ['answered'],
    registers: [this.registry],
  });
  readonly leader = new Gauge({ name: 'etcd_operator_is_leader', help: '1 while this operator holds the leader election lease.', registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

/** Serves /metrics, /healthz (the process runs) and /readyz (`ready()`), on host:port. */
export async function serveMetrics(address: string, metrics: { readonly registry: Registry }, ready: () => boolean, notReady = 'not leading'): Promise<http.Server> {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`--metrics-address: expected host:port, got ${address}`);
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('ok');
    } else if (req.url === '/readyz') {
      const ok = ready();
      res.statusCode = ok ? 200 : 503;
      res.end(ok ? 'ok' : notReady);
    } else if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.setHeader('content-type', metrics.registry.contentType);
          res.end(text);
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        },
      );
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), m[1] || '0.0.0.0', () => resolve());
  });
  return server;
}
