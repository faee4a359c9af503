// `etcd-operator backup check`: verifies a backup store from the store alone (every object's checksum,
// the chains' continuity), and with --endpoints compares every recorded revision with the cluster's own
// history. Prints a summary (or --json), exits 0 when no error was found, 1 otherwise.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { keysFromFlags, STORE_OPTIONS, STORE_USAGE, StoreFlagError, storeFromFlags } from '../../../etcd-node/src/backup/store-flags.js';
import { checkStore } from '../backup/checker.js';
import { EtcdSource } from '../backup/etcd-source.js';
import { openStore } from '../../../etcd-node/src/backup/store/open-store.js';
import { snapshotRevision } from '../../../etcd-node/src/backup/snapshot-revision.js';

const USAGE = `usage: etcd-operator backup check --store URL --namespace NS --cluster NAME [flags]
  --namespace NS --cluster NAME   whose chains (objects under <prefix>/<namespace>/<cluster>/)
  --cluster-id HEX                only this chain (default: every chain of the cluster)
${STORE_USAGE}  --endpoints HOST:PORT,…         also compare every recorded revision with this cluster's history
  --cacert FILE --cert FILE --key FILE   TLS to etcd
  --scratch-dir DIR               where full snapshots are decoded to check them (default the temp dir)
  --json                          the report as JSON
`;

export async function backupCheckMain(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        namespace: { type: 'string' },
        cluster: { type: 'string' },
        'cluster-id': { type: 'string' },
        ...STORE_OPTIONS,
        endpoints: { type: 'string' },
        cacert: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'scratch-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`etcd-operator backup check: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const fail = (msg: string): number => {
    process.stderr.write(`etcd-operator backup check: ${msg}\n`);
    return 2;
  };
  if (!v.namespace || !v.cluster) return fail('--namespace and --cluster are required (the chain is under <prefix>/<namespace>/<cluster>/)');
  if (v['cluster-id'] !== undefined && !/^[0-9a-f]{16}$/.test(v['cluster-id'])) return fail(`--cluster-id: 16 hex digits, got "${v['cluster-id']}"`);
  let store;
  let keys;
  let prefix;
  try {
    const s = storeFromFlags(v, process.env);
    prefix = s.prefix;
    store = openStore(s.config);
    keys = keysFromFlags(v['key-file'], v['no-encryption']);
  } catch (err) {
    if (err instanceof StoreFlagError || (err as { code?: string }).code === 'BadKey') return fail((err as Error).message);
    throw err;
  }
  const source = v.endpoints
    ? new EtcdSource(
        v.endpoints.split(',').map((e) => e.trim().replace(/^https?:\/\//, '')).filter(Boolean),
        v.cacert ? { ca: readFileSync(v.cacert), ...(v.cert ? { cert: readFileSync(v.cert) } : {}), ...(v.key ? { key: readFileSync(v.key) } : {}) } : undefined,
      )
    : undefined;
  try {
    const report = await checkStore({
      store,
      location: { prefix, namespace: v.namespace, cluster: v.cluster },
      keys,
      scratchDir: v['scratch-dir'] ?? tmpdir(),
      snapshotRevision,
      ...(v['cluster-id'] ? { clusterId: v['cluster-id'] } : {}),
      ...(source ? { source } : {}),
    });
    if (v.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      const out: string[] = [`${store.description}: ${report.objects} objects, ${report.bytes} bytes, ${report.chains.length} chain(s)`];
      if (report.chains.length === 0) out.push(`no chain under ${prefix ? `${prefix}/` : ''}${v.namespace}/${v.cluster}/`);
      for (const c of report.chains) {
        out.push(`chain ${c.clusterId}: ${c.fulls} full, ${c.deltas} delta objects, ${c.revisions} revisions recorded`);
        out.push(`  restorable: ${c.reachable.map((r) => `${r.from}–${r.to}`).join(', ') || 'nothing'}${c.latest ? ` (latest revision ${c.latest.revision}, ${new Date(c.latest.time).toISOString()})` : ''}`);
        if (c.history) out.push(`  compared with the cluster: ${c.history.compared} revisions equal${c.history.compactedBefore !== undefined ? ` (revisions before ${c.history.compactedBefore} are compacted in the cluster)` : ''}`);
        for (const w of c.warnings) out.push(`  warning: ${w}`);
        for (const e of c.errors) out.push(`  error: ${e}`);
      }
      out.push(report.ok ? 'ok' : 'errors found');
      process.stdout.write(`${out.join('\n')}\n`);
    }
    return report.ok ? 0 : 1;
  } finally {
    source?.close();
    store.close();
  }
}
