// `etcd-operator backup-agent`: the backup agent, in one of two forms.
//   --backup NAME [--namespace NS]   the agent of an EtcdBackup (what the operator's Deployment runs):
//                                    configuration from the resource and its Secrets, status written back
//   --endpoints HOST:PORT,…          by hand, against any etcd (etcd-node or etcd): store, key and schedule
//                                    from flags; the report is logged
// Both serve /metrics and /healthz on --metrics-address and stop cleanly on SIGINT/SIGTERM (the tail
// writes what it holds first).
import { readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { keysFromFlags, STORE_OPTIONS, STORE_USAGE, StoreFlagError, storeFromFlags } from '../../../etcd-node/src/backup/store-flags.js';
import { parseBytes, parseDuration } from '../api/units.js';
import { BackupAgent } from '../backup/agent.js';
import { AgentMetrics } from '../backup/agent-metrics.js';
import { EtcdSource } from '../backup/etcd-source.js';
import { runK8sAgent } from '../backup/k8s-agent.js';
import { openStore } from '../../../etcd-node/src/backup/store/open-store.js';
import { parseSchedule } from '../backup/schedule.js';
import { snapshotRevision } from '../../../etcd-node/src/backup/snapshot-revision.js';
import { EventRecorder } from '../runtime/events.js';
import { Kube } from '../runtime/kube.js';
import { createLogger } from '../runtime/log.js';
import { serveMetrics } from '../runtime/metrics.js';

const USAGE = `usage: etcd-operator backup-agent --backup NAME [--namespace NS] [flags]   (an EtcdBackup's agent)
       etcd-operator backup-agent --endpoints HOST:PORT,… --store URL [flags]   (by hand)
  --backup NAME                   the EtcdBackup to run the agent of
  --namespace NS                  its namespace (default: POD_NAMESPACE, else default); by hand: the
                                  namespace part of the object names (default default)
  --kubeconfig FILE               (default: in-cluster config, else ~/.kube/config)
  --volume-mount DIR              where a volume store's claim is mounted (default /backup)
  --scratch-dir DIR               where a full snapshot is spooled before upload (default the temp dir)
  --metrics-address HOST:PORT     /metrics and /healthz (default 127.0.0.1:8080; "0" disables)
by hand:
  --endpoints HOST:PORT,…         the etcd members
  --cacert FILE --cert FILE --key FILE   TLS to etcd
  --cluster NAME                  the cluster part of the object names (default etcd)
${STORE_USAGE}  --full-schedule CRON             (default "*/30 * * * *")   --time-zone TZ (default UTC)
  --delta-period DURATION         (default 10s)   --delta-max-bytes QUANTITY (default 8Mi)
  --compression gzip|none         (default gzip)
  --retain-fulls N                (default 48)    --retain-max-age DURATION
`;

export async function backupAgentMain(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        backup: { type: 'string' },
        namespace: { type: 'string' },
        kubeconfig: { type: 'string' },
        'volume-mount': { type: 'string', default: '/backup' },
        'scratch-dir': { type: 'string' },
        'metrics-address': { type: 'string', default: '127.0.0.1:8080' },
        endpoints: { type: 'string' },
        cacert: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        cluster: { type: 'string', default: 'etcd' },
        ...STORE_OPTIONS,
        'full-schedule': { type: 'string', default: '*/30 * * * *' },
        'time-zone': { type: 'string', default: 'UTC' },
        'delta-period': { type: 'string', default: '10s' },
        'delta-max-bytes': { type: 'string', default: '8Mi' },
        compression: { type: 'string', default: 'gzip' },
        'retain-fulls': { type: 'string' },
        'retain-max-age': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`etcd-operator backup-agent: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fail = (msg: string): number => {
    process.stderr.write(`etcd-operator backup-agent: ${msg}\n`);
    return 2;
  };
  if ((v.backup === undefined) === (v.endpoints === undefined)) return fail('give either --backup NAME (an EtcdBackup) or --endpoints (by hand)');
  const log = createLogger({ component: 'backup-agent' });
  const metrics = new AgentMetrics();
  const scratchDir = v['scratch-dir'] ?? tmpdir();
  let stopResolve: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stopResolve = r));
  process.once('SIGINT', () => stopResolve());
  process.once('SIGTERM', () => stopResolve());
  let healthy = true;
  const server = v['metrics-address'] === '0' ? undefined : await serveMetrics(v['metrics-address'], metrics, () => healthy, 'not running');
  try {
    if (v.backup !== undefined) {
      const kube = await Kube.load(v.kubeconfig);
      const namespace = v.namespace ?? process.env['POD_NAMESPACE'] ?? 'default';
      const code = await runK8sAgent({
        kube,
        namespace,
        name: v.backup,
        identity: `${process.env['POD_NAME'] ?? hostname()}-${process.pid}`,
        log,
        metrics,
        events: new EventRecorder(kube, 'etcd-backup-agent', log),
        scratchDir,
        volumeMount: v['volume-mount'],
        snapshotRevision,
        stopped,
      });
      kube.close();
      return code;
    }
    // by hand
    let agent: BackupAgent;
    let source: EtcdSource;
    try {
      const { config, prefix } = storeFromFlags(v, process.env);
      const keys = keysFromFlags(v['key-file'], v['no-encryption']);
      if (v.compression !== 'gzip' && v.compression !== 'none') return fail(`--compression: gzip or none, got "${v.compression}"`);
      const endpoints = v.endpoints!.split(',').map((e) => e.trim().replace(/^https?:\/\//, '')).filter(Boolean);
      const tls = v.cacert ? { ca: readFileSync(v.cacert), ...(v.cert ? { cert: readFileSync(v.cert) } : {}), ...(v.key ? { key: readFileSync(v.key) } : {}) } : undefined;
      const fulls = v['retain-fulls'] === undefined ? undefined : Number(v['retain-fulls']);
      if (fulls !== undefined && (!Number.isInteger(fulls) || fulls < 1)) return fail(`--retain-fulls: a positive integer, got "${v['retain-fulls']}"`);
      if (fulls !== undefined && v['retain-max-age'] !== undefined) return fail('--retain-fulls and --retain-max-age exclude each other');
      source = new EtcdSource(endpoints, tls);
      agent = new BackupAgent({
        source,
        store: openStore(config),
        location: { prefix, namespace: v.namespace ?? 'default', cluster: v.cluster },
        keys,
        compression: v.compression,
        schedule: parseSchedule(v['full-schedule'], v['time-zone']),
        deltaPeriodMs: flagDuration('--delta-period', v['delta-period']),
        deltaMaxBytes: flagBytes('--delta-max-bytes', v['delta-max-bytes']),
        retention: v['retain-max-age'] !== undefined ? { maxAgeMs: flagDuration('--retain-max-age', v['retain-max-age']) } : { fullSnapshots: fulls ?? 48 },
        scratchDir,
        snapshotRevision,
        log,
        metrics,
        onEvent: (type, reason, message) => (type === 'Warning' ? log.warn(message, { reason }) : log.info(message, { reason })),
      });
    } catch (err) {
      if (err instanceof StoreFlagError || err instanceof FlagValueError || (err as { code?: string }).code === 'InvalidSchedule' || (err as { code?: string }).code === 'BadKey') {
        return fail((err as Error).message);
      }
      throw err;
    }
    agent.start();
    let lastProblems = '';
    const timer = setInterval(() => {
      const r = agent.report();
      healthy = r.problems.length === 0;
      const p = JSON.stringify(r.problems.map((x) => x.reason));
      if (p !== lastProblems) {
        lastProblems = p;
        if (r.problems.length > 0) log.warn('backup agent: problems', { problems: r.problems });
        else log.info('backup agent: all well', { 'latest-recoverable': r.latestRecoverable?.revision });
      }
    }, 5000);
    await stopped;
    clearInterval(timer);
    await agent.stop();
    source.close();
    return 0;
  } finally {
    server?.close();
  }
}

class FlagValueError extends Error {}

function flagDuration(flag: string, s: string): number {
  try {
    return parseDuration(s);
  } catch (err) {
    throw new FlagValueError(`${flag}: ${(err as Error).message}`);
  }
}

function flagBytes(flag: string, s: string): number {
  try {
    return parseBytes(s);
  } catch (err) {
    throw new FlagValueError(`${flag}: ${(err as Error).message}`);
  }
}
