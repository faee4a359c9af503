// `etcd-node backup restore`: a new member's data dir from a backup chain (or one snapshot object) in a
// store, at the latest revision, a revision or a time. Run once per member with that member's flags, as
// etcdutl's snapshot restore is: every member restored with the same --initial-cluster and token gets the
// same cluster id and the same data. --dry-run prints the plan instead. Exit codes: 0 done, 1 the restore
// failed (nothing was written), 2 bad flags.
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { keysFromFlags, STORE_OPTIONS, STORE_USAGE, StoreFlagError, storeFromFlags } from '../backup/store-flags.js';
import { openStore } from '../backup/store/open-store.js';
import { StoreError } from '../backup/store/store.js';
import { planBackupRestore, restoreBackup, restoreSnapshotObject } from '../restore/backup-restore.js';
import { RestoreError } from '../restore/errors.js';
import { NEW_CLUSTER_DEFAULTS, planNewCluster } from '../restore/new-cluster.js';
import { checkBumpFlags } from '../restore/restore-snapshot.js';
import type { RestoreTarget } from '../restore/plan.js';
import { parseRfc3339 } from '../util/rfc3339.js';

const USAGE = `usage: etcd-node backup restore --store URL --namespace NS --cluster NAME [target] [new member] [flags]
       etcd-node backup restore --store URL --object NAME [new member] [flags]
which backup:
  --namespace NS --cluster NAME   the chain's place in the store (<prefix>/<namespace>/<cluster>/)
  --cluster-id HEX                the chain of this etcd cluster id (default: the chain holding the most
                                  recently received revision)
  --object NAME                   instead of a chain: one snapshot object (a full of a chain, or a plain
                                  etcd snapshot file such as etcdctl snapshot save writes)
  --skip-hash-check               with --object: take a plain file without a SHA-256 trailer (a member's db)
${STORE_USAGE}target (default: the latest revision the chain holds):
  --to-revision N                 exactly revision N
  --to-time TIME                  the last revision received at or before TIME (RFC 3339, any offset)
the new member (etcdutl's snapshot restore flags):
  --data-dir DIR                  must not exist or be empty (default "<name>.etcd")
  --name NAME                     (default "default")
  --initial-cluster NAME=URL,…    (default "default=http://localhost:2380")
  --initial-cluster-token TOKEN   (default "etcd-cluster")
  --initial-advertise-peer-urls URL,…   (default "http://localhost:2380")
  --bump-revision N --mark-compacted   the new cluster's revisions go on from the restored one + N, and
                                  every revision before that reads as compacted: clients that saw
                                  revisions of the old cluster after the target (a kube-apiserver's
                                  watchers) relist instead of seeing reused revisions
  --scratch-dir DIR               where the full snapshot is decoded (default the temp dir)
as a pod's init container (run at every start of the pod):
  --skip-existing                 a data dir that holds a member already is left as it is (exit 0)
  --initial-cluster-state new|existing   existing: the member joins a running cluster and needs no
                                  restored data (exit 0, nothing written); new (default): restore
  --dry-run                       print the plan (objects, revision, time) and write nothing
  --plan-file FILE                with --dry-run: also write the plan as JSON to FILE, or {"error":
                                  {"code","message"}} when there is none (a pod's termination message:
                                  how the operator reads a volume store it cannot mount)
  -w, --write-out simple|json     output format (default simple)
`;

function fail(msg: string, code: number): number {
  process.stderr.write(`etcd-node backup restore: ${msg}\n`);
  return code;
}

export async function backupCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'restore') return fail(`unknown command "${sub}" (etcd-node backup restore)`, 2);
  return restoreCommand(rest);
}

async function restoreCommand(argv: readonly string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: [...argv],
      options: {
        namespace: { type: 'string' },
        cluster: { type: 'string' },
        'cluster-id': { type: 'string' },
        object: { type: 'string' },
        'skip-hash-check': { type: 'boolean' },
        ...STORE_OPTIONS,
        'to-revision': { type: 'string' },
        'to-time': { type: 'string' },
        'data-dir': { type: 'string' },
        name: { type: 'string' },
        'initial-cluster': { type: 'string' },
        'initial-cluster-token': { type: 'string' },
        'initial-advertise-peer-urls': { type: 'string' },
        'scratch-dir': { type: 'string' },
        'bump-revision': { type: 'string' },
        'mark-compacted': { type: 'boolean' },
        'skip-existing': { type: 'boolean' },
        'initial-cluster-state': { type: 'string' },
        'dry-run': { type: 'boolean' },
        'plan-file': { type: 'string' },
        'write-out': { type: 'string', short: 'w' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return fail(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, 2);
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const out = v['write-out'] ?? 'simple';
  if (out !== 'simple' && out !== 'json') return fail(`--write-out: simple or json, got "${out}"`, 2);
  if (v['plan-file'] !== undefined && !v['dry-run']) return fail('--plan-file is for --dry-run', 2);
  if (v.object === undefined && (!v.namespace || !v.cluster)) return fail('give --namespace and --cluster (the chain is under <prefix>/<namespace>/<cluster>/), or --object NAME', 2);
  if (v.object !== undefined && (v['to-revision'] !== undefined || v['to-time'] !== undefined)) return fail('--object restores the snapshot as it is: --to-revision and --to-time need a chain', 2);
  if (v['skip-hash-check'] && v.object === undefined) return fail('--skip-hash-check is for --object (a chain\'s objects are always checked)', 2);
  if (v['cluster-id'] !== undefined && !/^[0-9a-f]{16}$/.test(v['cluster-id'])) return fail(`--cluster-id: 16 hex digits, got "${v['cluster-id']}"`, 2);
  let target: RestoreTarget = { kind: 'latest' };
  if (v['to-revision'] !== undefined && v['to-time'] !== undefined) return fail('--to-revision and --to-time exclude each other', 2);
  if (v['to-revision'] !== undefined) {
    const n = Number(v['to-revision']);
    if (!/^[0-9]+$/.test(v['to-revision']) || !Number.isSafeInteger(n) || n < 1) return fail(`--to-revision: a revision (a positive integer), got "${v['to-revision']}"`, 2);
    target = { kind: 'revision', revision: n };
  }
  if (v['to-time'] !== undefined) {
    const t = parseRfc3339(v['to-time']);
    if (t === undefined) return fail(`--to-time: an RFC 3339 time such as 2026-12-02T16:30:00+01:00, got "${v['to-time']}"`, 2);
    target = { kind: 'time', time: t };
  }
  const bumpText = v['bump-revision'] ?? '0';
  if (!/^[0-9]+$/.test(bumpText)) return fail(`--bump-revision: a non-negative integer, got "${bumpText}"`, 2);
  const bump = Number(bumpText);
  try {
    checkBumpFlags(bump, v['mark-compacted'] ?? false);
  } catch (err) {
    if (err instanceof RestoreError) return fail(err.message, 2);
    throw err;
  }
  if (bump > 0 && v.object !== undefined) return fail('--bump-revision with --object: use etcd-node snapshot restore on the file', 2);
  const flags = {
    name: v.name ?? NEW_CLUSTER_DEFAULTS.name,
    initialCluster: v['initial-cluster'] ?? (v.name ? `${v.name}=${v['initial-advertise-peer-urls'] ?? NEW_CLUSTER_DEFAULTS.initialAdvertisePeerUrls}` : NEW_CLUSTER_DEFAULTS.initialCluster),
    initialClusterToken: v['initial-cluster-token'] ?? NEW_CLUSTER_DEFAULTS.initialClusterToken,
    initialAdvertisePeerUrls: v['initial-advertise-peer-urls'] ?? NEW_CLUSTER_DEFAULTS.initialAdvertisePeerUrls,
  };
  const dataDir = v['data-dir'] ?? `${flags.name}.etcd`;
  const state = v['initial-cluster-state'] ?? 'new';
  if (state !== 'new' && state !== 'existing') return fail(`--initial-cluster-state: new or existing, got "${state}"`, 2);
  if (state === 'existing') {
    process.stdout.write(`${flags.name} joins an existing cluster (--initial-cluster-state existing): nothing to restore into ${dataDir}\n`);
    return 0;
  }
  if (v['skip-existing'] && existsSync(join(dataDir, 'member'))) {
    process.stdout.write(`${dataDir} holds a member already: nothing to restore (--skip-existing)\n`);
    return 0;
  }
  let store;
  let keys;
  let cluster;
  let prefix;
  try {
    cluster = planNewCluster(flags);
    const s = storeFromFlags(v, process.env);
    prefix = s.prefix;
    keys = keysFromFlags(v['key-file'], v['no-encryption']);
    store = openStore(s.config);
  } catch (err) {
    if (err instanceof StoreFlagError || (err instanceof RestoreError && err.code === 'BadFlag') || (err as { code?: string }).code === 'BadKey') return fail((err as Error).message, 2);
    throw err;
  }
  const scratch = v['scratch-dir'] ?? tmpdir();
  const started = Date.now();
  try {
    if (v.object !== undefined) {
      const name = prefix && !v.object.startsWith(`${prefix}/`) ? `${prefix}/${v.object}` : v.object;
      if (v['dry-run']) {
        if (!(await store.list(name)).some((o) => o.name === name)) throw new RestoreError('NotFound', `${store.description}: no object ${name}`);
        const plan = { object: name, dataDir, memberId: cluster.self.id.toString(16), clusterId: cluster.clusterId.toString(16) };
        writePlanFile(v['plan-file'], plan);
        process.stdout.write(out === 'json' ? `${JSON.stringify(plan)}\n` : `would restore ${name} into ${dataDir} (member ${plan.memberId} of new cluster ${plan.clusterId})\n`);
        return 0;
      }
      const r = await restoreSnapshotObject(store, keys, name, dataDir, cluster, scratch, v['skip-hash-check'] ?? false);
      const summary = { object: name, revision: r.revision, dataDir, memberId: r.memberId.toString(16), clusterId: r.clusterId.toString(16), tookMs: Date.now() - started };
      process.stdout.write(out === 'json' ? `${JSON.stringify(summary)}\n` : `restored ${name} (revision ${r.revision}) into ${dataDir}: member ${summary.memberId} of new cluster ${summary.clusterId} (${summary.tookMs} ms)\n`);
      warnPasswords(r.foreignPasswordUsers);
      return 0;
    }
    const src = { store, keys, location: { prefix, namespace: v.namespace!, cluster: v.cluster! }, ...(v['cluster-id'] ? { clusterId: v['cluster-id'] } : {}) };
    const plan = await planBackupRestore(src, target);
    const objects = { clusterId: plan.clusterId, revision: plan.revision, time: new Date(plan.time).toISOString(), full: plan.full.name, deltas: plan.deltas.map((d) => d.name) };
    if (v['dry-run']) {
      writePlanFile(v['plan-file'], objects);
      if (out === 'json') process.stdout.write(`${JSON.stringify(objects)}\n`);
      else {
        const lines = [
          `chain ${plan.clusterId}: restore revision ${plan.revision} (received ${objects.time})`,
          `  full snapshot ${plan.full.name} (revision ${plan.full.revision})`,
          ...plan.deltas.map((d) => `  delta ${d.name} (revisions ${d.from}–${d.to}${d.to > plan.revision ? `, up to ${plan.revision}` : ''})`),
          `into ${dataDir}: member ${cluster.self.id.toString(16)} of new cluster ${cluster.clusterId.toString(16)}`,
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      return 0;
    }
    const r = await restoreBackup(src, plan, dataDir, cluster, scratch, bump);
    const summary = {
      ...objects,
      dataDir,
      memberId: r.memberId.toString(16),
      newClusterId: r.clusterId.toString(16),
      replayedRevisions: r.replayed,
      currentRevision: r.currentRevision,
      leases: r.leases,
      tookMs: Date.now() - started,
    };
    if (out === 'json') process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `restored revision ${r.revision} (received ${objects.time}) of chain ${plan.clusterId} into ${dataDir}: full snapshot at ${plan.full.revision} + ${r.replayed} revisions from ${plan.deltas.length} deltas, ${r.leases} leases${bump > 0 ? `; revisions go on from ${r.currentRevision} (compacted before)` : ''}; member ${summary.memberId} of new cluster ${summary.newClusterId} (${summary.tookMs} ms)\n`,
      );
    }
    if (r.leasesWithoutTtl.length > 0) {
      process.stderr.write(`warning: leases ${r.leasesWithoutTtl.map((id) => id.toString(16)).join(', ')} hold restored keys but no object recorded their TTL: re-created with a TTL of 3600 s\n`);
    }
    warnPasswords(r.foreignPasswordUsers);
    return 0;
  } catch (err) {
    const code = err instanceof RestoreError || err instanceof StoreError ? err.code : 'Error';
    writePlanFile(v['plan-file'], { error: { code, message: err instanceof Error ? err.message : String(err) } });
    if (err instanceof RestoreError) return fail(err.message, err.code === 'BadFlag' ? 2 : 1);
    return fail(err instanceof Error ? err.message : String(err), 1);
  } finally {
    store.close();
  }
}

/** The plan (or the error) for whoever reads FILE; a failure to write it is the command's failure. */
function writePlanFile(file: string | undefined, content: object): void {
  if (file !== undefined) writeFileSync(file, `${JSON.stringify(content)}\n`);
}

function warnPasswords(users: readonly string[]): void {
  if (users.length === 0) return;
  process.stderr.write(`warning: users ${users.join(', ')} have etcd (bcrypt) password hashes that etcd-node cannot verify: set their passwords again (etcdctl user passwd) before they log in\n`);
}
