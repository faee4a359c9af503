// `etcd-node snapshot status|restore FILE`: etcdutl's offline snapshot commands, with its flags, defaults
// and output formats, so scripts written for etcdutl work with etcd-node's name in front. Flags are
// parsed as etcdutl's (pflag) are: `--flag value`, `--flag=value`, booleans bare or `=true|false`,
// `-w` for --write-out, flags before or after FILE.
//
// Exit codes: 0 done; 1 the command failed (`etcd-node snapshot <cmd>: <message>` on stderr); 2 bad
// flags or arguments.
import { RestoreError } from '../restore/errors.js';
import { NEW_CLUSTER_DEFAULTS } from '../restore/new-cluster.js';
import { restoreSnapshot, type SnapshotRestoreResult } from '../restore/restore-snapshot.js';
import { formatStatus, humanBytes, snapshotStatus, STATUS_FORMATS, type StatusFormat } from '../restore/snapshot-status.js';

type Kind = 'string' | 'bool' | 'uint';

interface Spec {
  readonly kind: Kind;
  readonly def?: string;
  readonly short?: string;
  readonly help: string;
}

const WRITE_OUT: Spec = { kind: 'string', short: 'w', def: 'simple', help: `Set the output format (${STATUS_FORMATS.join(', ')}).` };

const STATUS_FLAGS: Record<string, Spec> = { 'write-out': WRITE_OUT };

const RESTORE_FLAGS: Record<string, Spec> = {
  'data-dir': { kind: 'string', help: 'Path to the output data directory (default "${name}.etcd"). Must not exist, or be empty.' },
  name: { kind: 'string', def: NEW_CLUSTER_DEFAULTS.name, help: 'Human-readable name for this member.' },
  'initial-cluster': { kind: 'string', def: NEW_CLUSTER_DEFAULTS.initialCluster, help: 'Initial cluster configuration for restore bootstrap.' },
  'initial-cluster-token': { kind: 'string', def: NEW_CLUSTER_DEFAULTS.initialClusterToken, help: 'Initial cluster token for the etcd cluster during restore bootstrap.' },
  'initial-advertise-peer-urls': { kind: 'string', def: NEW_CLUSTER_DEFAULTS.initialAdvertisePeerUrls, help: "List of this member's peer URLs to advertise to the rest of the cluster." },
  'skip-hash-check': { kind: 'bool', def: 'false', help: 'Ignore snapshot integrity hash value (required if copied from data directory).' },
  'bump-revision': { kind: 'uint', def: '0', help: 'How much to increase the latest revision after restore.' },
  'mark-compacted': { kind: 'bool', def: 'false', help: 'Mark the latest revision after restore as the point of scheduled compaction (required if --bump-revision > 0, disallowed otherwise).' },
  // accepted so etcdutl command lines work unchanged: lmdb maps the file as it grows
  'initial-memory-map-size': { kind: 'uint', def: '0', help: 'Accepted for compatibility with etcdutl and ignored (etcd-node\'s backend sizes its map itself).' },
  // etcdutl's global flag: any of its formats is accepted, json prints the summary as JSON
  'write-out': { ...WRITE_OUT, help: 'The summary: json prints it as JSON, the other formats as lines.' },
};

class UsageError extends Error {}

interface Parsed {
  values: Map<string, string>;
  args: string[];
  help: boolean;
}

function parse(argv: readonly string[], specs: Record<string, Spec>): Parsed {
  const values = new Map<string, string>();
  const args: string[] = [];
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') return { values, args, help: true };
    const m = /^(--?)([A-Za-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m || arg === '-') {
      args.push(arg);
      continue;
    }
    const name = m[1] === '-' && m[2]!.length === 1 ? byShort.get(m[2]!) : m[1] === '--' ? m[2]! : undefined;
    const spec = name === undefined ? undefined : specs[name];
    if (name === undefined || !spec) throw new UsageError(`unknown flag: ${arg.replace(/=.*$/s, '')}`);
    let value = m[3];
    if (value === undefined) {
      if (spec.kind === 'bool') value = 'true';
      else {
        const next = argv[i + 1];
        if (next === undefined) throw new UsageError(`flag needs an argument: --${name}`);
        value = next;
        i++;
      }
    }
    if (spec.kind === 'bool' && !['true', 'false', '1', '0'].includes(value)) throw new UsageError(`invalid argument "${value}" for --${name}: a boolean (true or false)`);
    if (spec.kind === 'uint' && !/^\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for --${name}: a non-negative integer`);
    values.set(name, value);
  }
  return { values, args, help: false };
}

const get = (p: Parsed, specs: Record<string, Spec>, name: string): string | undefined => p.values.get(name) ?? specs[name]?.def;
const bool = (p: Parsed, specs: Record<string, Spec>, name: string): boolean => ['true', '1'].includes(get(p, specs, name) ?? 'false');

function flagHelp(specs: Record<string, Spec>): string {
  return Object.entries(specs)
    .map(([name, s]) => {
      const lead = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.kind === 'bool' ? '' : ` ${s.kind === 'uint' ? 'uint' : 'string'}`}`;
      const def = s.def !== undefined && s.def !== '' && s.def !== 'false' && s.def !== '0' ? ` (default "${s.def}")` : '';
      return `  ${lead.padEnd(42)} ${s.help}${def}`;
    })
    .join('\n');
}

const USAGE = `Usage:
  etcd-node snapshot status <filename> [-w simple|table|json|fields]
  etcd-node snapshot restore <filename> [--data-dir DIR] [options]

Offline work on etcd snapshot files (from etcdctl/etcdutl snapshot save, etcd-node's Maintenance.Snapshot,
or with --skip-hash-check a copy of a member's member/snap/db), as etcdutl does it.
Run 'etcd-node snapshot <command> --help' for a command's flags.
`;

const STATUS_USAGE = `Usage:
  etcd-node snapshot status <filename> [flags]

Prints the snapshot's hash, revision, total keys, total size and storage version, as etcdutl 3.6 does.

Flags:
${flagHelp(STATUS_FLAGS)}
`;

const RESTORE_USAGE = `Usage:
  etcd-node snapshot restore <filename> --data-dir {output dir} [options]

Makes the data dir of one member of a new cluster from the snapshot: run it once per member with the
same --initial-cluster and --initial-cluster-token, then start every member on its data dir.

Flags:
${flagHelp(RESTORE_FLAGS)}
`;

function writeFormat(p: Parsed, specs: Record<string, Spec>): StatusFormat {
  const w = get(p, specs, 'write-out') ?? 'simple';
  if (!(STATUS_FORMATS as readonly string[]).includes(w)) throw new UsageError(`unsupported output format "${w}" (${STATUS_FORMATS.join(', ')})`);
  return w as StatusFormat;
}

function oneFile(p: Parsed, cmd: string): string {
  if (p.args.length !== 1) throw new UsageError(`snapshot ${cmd} requires exactly one argument (the snapshot file), got ${p.args.length}`);
  return p.args[0]!;
}

function status(argv: readonly string[]): number {
  const p = parse(argv, STATUS_FLAGS);
  if (p.help) {
    process.stdout.write(STATUS_USAGE);
    return 0;
  }
  const format = writeFormat(p, STATUS_FLAGS);
  process.stdout.write(formatStatus(snapshotStatus(oneFile(p, 'status')), format));
  return 0;
}

function hex(id: bigint): string {
  return id.toString(16);
}

function summary(r: SnapshotRestoreResult, format: StatusFormat): string {
  const fields = {
    dataDir: r.dataDir,
    memberId: hex(r.member.memberId),
    name: r.cluster.self.name,
    clusterId: hex(r.member.clusterId),
    members: r.cluster.members.map((m) => ({ id: hex(m.id), name: m.name, peerURLs: m.peerUrls })),
    snapshotRevision: r.snapshotRevision,
    revision: r.revision,
    compactRevision: r.compacted,
    hashChecked: r.file.verified,
    entries: r.imported.entries,
  };
  if (format === 'json') return `${JSON.stringify(fields)}\n`;
  const keys = r.imported.entries['key'] ?? 0;
  const lines = [
    `restored snapshot ${JSON.stringify(r.source)} (${humanBytes(r.file.size)}, revision ${r.snapshotRevision}, ${keys} key revisions${r.file.verified ? ', SHA-256 verified' : r.file.trailer ? ', SHA-256 not checked' : ', no SHA-256 trailer'})`,
    `data dir ${r.dataDir}: member ${r.cluster.self.name} (${fields.memberId}) of the new cluster ${fields.clusterId}`,
    `members: ${r.cluster.members.map((m) => `${m.name}=${m.peerUrls.join(',')} (${hex(m.id)})`).join(', ')}`,
    r.revision !== r.snapshotRevision
      ? `revisions continue from ${r.revision} (snapshot ${r.snapshotRevision} + ${r.revision - r.snapshotRevision}); everything up to ${r.compacted} is compacted`
      : `revisions continue from ${r.revision}${r.compacted > 0 ? ` (compacted at ${r.compacted})` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function restore(argv: readonly string[]): Promise<number> {
  const p = parse(argv, RESTORE_FLAGS);
  if (p.help) {
    process.stdout.write(RESTORE_USAGE);
    return 0;
  }
  const format = writeFormat(p, RESTORE_FLAGS);
  const file = oneFile(p, 'restore');
  const dataDir = p.values.get('data-dir');
  const r = await restoreSnapshot({
    file,
    ...(dataDir !== undefined ? { dataDir } : {}),
    name: get(p, RESTORE_FLAGS, 'name')!,
    initialCluster: get(p, RESTORE_FLAGS, 'initial-cluster')!,
    initialClusterToken: get(p, RESTORE_FLAGS, 'initial-cluster-token')!,
    initialAdvertisePeerUrls: get(p, RESTORE_FLAGS, 'initial-advertise-peer-urls')!,
    skipHashCheck: bool(p, RESTORE_FLAGS, 'skip-hash-check'),
    bumpRevision: Number(get(p, RESTORE_FLAGS, 'bump-revision')),
    markCompacted: bool(p, RESTORE_FLAGS, 'mark-compacted'),
  });
  process.stdout.write(summary(r, format));
  const users = r.imported.report.foreignPasswordUsers;
  if (users.length > 0) {
    process.stderr.write(
      `etcd-node snapshot restore: warning: ${users.length} user(s) have etcd (bcrypt) passwords etcd-node cannot verify: ${users.join(', ')}. ` +
        "They cannot log in until their password is set again (etcdctl user passwd); the hashes are kept, so a snapshot taken later gives them back to etcd.\n",
    );
  }
  return 0;
}

/** `etcd-node snapshot …` (argv after "snapshot"); returns the exit code. */
export async function snapshotCommand(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const what = cmd === 'status' || cmd === 'restore' ? `snapshot ${cmd}` : 'snapshot';
  try {
    if (cmd === 'status') return status(rest);
    if (cmd === 'restore') return await restore(rest);
    if (cmd === undefined) {
      process.stderr.write(USAGE);
      return 2;
    }
    if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    throw new UsageError(`unknown command "${cmd}" (status, restore)`);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof RestoreError && err.code === 'BadFlag')) {
      process.stderr.write(`etcd-node ${what}: ${err.message}\nRun 'etcd-node ${what} --help' for usage.\n`);
      return 2;
    }
    if (err instanceof RestoreError) {
      process.stderr.write(`etcd-node ${what}: ${err.message}\n`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && err instanceof Error) {
      // a file system error (permission, space): the message names the path
      process.stderr.write(`etcd-node ${what}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
