// Run Debian's etcdctl (v3 API) against one endpoint, and normalize its output so that the output for
// etcd-node can be compared with the output for a real etcd.
import { spawn } from 'node:child_process';
import { tool } from './servers.js';

export interface CtlResult {
  /** The arguments after `--endpoints=…`. */
  args: string[];
  stdout: string;
  stderr: string;
  /** Exit code, or null when killed by a signal (timeout). */
  code: number | null;
}

export interface CtlOptions {
  /** Fed to etcdctl's stdin (txn's interactive form, `put key` reading its value). */
  stdin?: string | Buffer;
  /** Working directory of etcdctl. */
  cwd?: string;
  /** Kill etcdctl after this long (default 30 s). */
  timeoutMs?: number;
  /** The signal sent at the timeout (default SIGKILL; SIGINT lets `lock`/`elect` give up cleanly). */
  killSignal?: NodeJS.Signals;
}

/**
 * etcdctl's output as a string without losing bytes: UTF-8 when the bytes are valid UTF-8, otherwise
 * each byte as one Latin-1 character behind a marker (values may hold arbitrary bytes; a lossy
 * decoding could make two different outputs look the same).
 */
export function decodeOutput(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return `<not UTF-8, shown as Latin-1>${buf.toString('latin1')}`;
  }
}

/** Run `etcdctl --endpoints=<endpoint> <args…>` with ETCDCTL_API=3; never throws on a non-zero exit. */
export async function etcdctl(endpoint: string, args: readonly string[], opts: CtlOptions = {}): Promise<CtlResult> {
  const bin = tool('etcdctl');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // only our flags decide what etcdctl does
    if (!k.startsWith('ETCDCTL_')) env[k] = v;
  }
  env['ETCDCTL_API'] = '3';
  const full = [`--endpoints=${endpoint}`, ...args];
  return new Promise<CtlResult>((resolve, reject) => {
    const child = spawn(bin, full, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timer = setTimeout(() => {
      child.kill(opts.killSignal ?? 'SIGKILL');
      // a gentle signal that is not obeyed within 5 s: kill it
      if (opts.killSignal !== undefined && opts.killSignal !== 'SIGKILL') timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, opts.timeoutMs ?? 30_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        args: [...args],
        stdout: decodeOutput(Buffer.concat(out)),
        stderr: decodeOutput(Buffer.concat(err)),
        code,
      });
    });
    // etcdctl may exit before reading its stdin (e.g. on a bad flag): ignore EPIPE
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** What differs between the two servers by construction, per side. */
export interface NormalizeContext {
  /** The server's client port (only `127.0.0.1:<this port>` is hidden, not any port). */
  clientPort?: number;
  /** The server's peer port. */
  peerPort?: number;
  /** Absolute paths that differ per side (e.g. the side's scratch dir) → placeholder. */
  paths?: ReadonlyArray<readonly [path: string, placeholder: string]>;
}


/** Separator between columns: `, ` in the simple format, ` | ` in a table (after `canonicalTables`). */
const SEP = '(, | \\| )';

/**
 * Replacements that hide what may honestly differ between two servers that were given the same
 * commands. Everything not matched here must be byte-for-byte identical. Each entry says why.
 */
const RULES: ReadonlyArray<readonly [RegExp, string, string]> = [
  // Numeric ids, terms and indexes are hidden only when non-zero: etcd leaves some headers empty (the
  // headers nested in a txn response), and etcd-node must leave them empty too.
  // --- ids: the cluster id and member id are hashes of the peer URLs (and cluster token, and for
  // etcd-node its own scheme); the two servers listen on different ports, so they always differ.
  [/"cluster_id":[1-9]\d*/g, '"cluster_id":<CLUSTER_ID>', 'response header cluster_id (json)'],
  [/"member_id":[1-9]\d*/g, '"member_id":<MEMBER_ID>', 'response header member_id (json)'],
  [/"ClusterID" : [1-9]\d*/g, '"ClusterID" : <CLUSTER_ID>', 'response header cluster_id (fields)'],
  [/"MemberID" : [1-9]\d*/g, '"MemberID" : <MEMBER_ID>', 'response header member_id (fields)'],
  // member list: the member's id (json: `"ID":…,"name"`; fields: `"ID" : …`; simple/table: first column)
  [/"ID":[1-9]\d*,"name"/g, '"ID":<MEMBER_ID>,"name"', 'member id in member list (json)'],
  [/^"ID" : [1-9]\d*$/gm, '"ID" : <MEMBER_ID>', 'member id in member list (fields)'],
  [
    new RegExp(`^(\\| )?[0-9a-f]{1,16}${SEP}(started|unstarted)${SEP}`, 'gm'),
    '$1<MEMBER_ID>$2$3$4',
    'member id in member list (simple, table)',
  ],
  // endpoint status: the leader is the member itself, so its id differs as the member id does
  [/"leader":[1-9]\d*/g, '"leader":<MEMBER_ID>', 'leader id in endpoint status (json)'],
  [/^"Leader" : [1-9]\d*$/gm, '"Leader" : <MEMBER_ID>', 'leader id in endpoint status (fields)'],

  // --- raft term and index: Raft bookkeeping, not data. A fresh real etcd campaigns once (term 2);
  // etcd-node's single-member raft may elect itself with another term, and its log holds other
  // internal entries than etcd's (etcd appends ConfChange, member-attribute and cluster-version
  // entries at bootstrap), so raft index and applied index honestly differ. Revisions are NOT hidden.
  [/"raft_term":[1-9]\d*/g, '"raft_term":<RAFT_TERM>', 'response header raft_term (json)'],
  [/^"RaftTerm" : [1-9]\d*$/gm, '"RaftTerm" : <RAFT_TERM>', 'header/status raft term (fields)'],
  [/"raftTerm":[1-9]\d*/g, '"raftTerm":<RAFT_TERM>', 'endpoint status raftTerm (json)'],
  [/"raftIndex":[1-9]\d*/g, '"raftIndex":<RAFT_INDEX>', 'endpoint status raftIndex (json)'],
  [/"raftAppliedIndex":[1-9]\d*/g, '"raftAppliedIndex":<RAFT_INDEX>', 'endpoint status raftAppliedIndex (json)'],
  [/^"RaftIndex" : [1-9]\d*$/gm, '"RaftIndex" : <RAFT_INDEX>', 'endpoint status raft index (fields)'],
  [/^"RaftAppliedIndex" : [1-9]\d*$/gm, '"RaftAppliedIndex" : <RAFT_INDEX>', 'endpoint status applied index (fields)'],

  // --- version: etcd-node reports 3.6.0 by design (DESIGN.md 3.5), Debian's etcd 3.4.x
  [/"version":"\d+\.\d+\.\d+[^"]*"/g, '"version":"<VERSION>"', 'endpoint status version (json)'],
  [/^"Version" : "\d+\.\d+\.\d+[^"]*"$/gm, '"Version" : "<VERSION>"', 'endpoint status version (fields)'],

  // --- db size: a different storage engine (lmdb vs bbolt) has other page sizes and layouts
  [/"dbSize":\d+/g, '"dbSize":<DB_SIZE>', 'endpoint status dbSize (json)'],
  [/"dbSizeInUse":\d+/g, '"dbSizeInUse":<DB_SIZE>', 'endpoint status dbSizeInUse (json)'],
  [/^"DBSize" : \d+$/gm, '"DBSize" : <DB_SIZE>', 'endpoint status db size (fields)'],
  [/"size":"[0-9.]+ [kMGT]?B"/g, '"size":"<DB_SIZE>"', 'snapshot size in `snapshot save` log lines'],

  // endpoint status in simple or table form:
  //   endpoint, id, version, db size, is leader, is learner, raft term, raft index, applied index, errors
  // (the member id, version, db size and raft figures are hidden for the reasons above; endpoint,
  // leader/learner flags and errors are kept)
  [
    new RegExp(
      `^(\\| )?(127\\.0\\.0\\.1:<CLIENT_PORT>)${SEP}[0-9a-f]{1,16}${SEP}\\d+\\.\\d+\\.\\d+\\S*${SEP}` +
        `[0-9.]+ [kMGT]?B${SEP}(true|false)${SEP}(true|false)${SEP}\\d+${SEP}\\d+${SEP}\\d+${SEP}`,
      'gm',
    ),
    '$1$2$3<MEMBER_ID>$4<VERSION>$5<DB_SIZE>$6$7$8$9$10<RAFT_TERM>$11<RAFT_INDEX>$12<RAFT_INDEX>$13',
    'endpoint status (simple, table)',
  ],

  // --- timing
  [/"ts":"[0-9T:.+-]+Z?"/g, '"ts":"<TS>"', 'etcdctl log timestamp (zap, ISO form)'],
  [/"ts":[0-9.e+]+/g, '"ts":<TS>', 'etcdctl log timestamp (zap, epoch form)'],
  [/"took":[0-9.e+-]+/g, '"took":<TOOK>', 'duration in seconds in snapshot log lines'],
  [/"took":"(?:[0-9.]+(?:ns|µs|us|ms|s|m|h))+"/g, '"took":"<TOOK>"', 'endpoint health -w json duration'],
  [/took = (?:[0-9.]+(?:ns|µs|us|ms|s|m|h))+/g, 'took = <TOOK>', 'endpoint health duration'],
  [
    new RegExp(`^(\\| 127\\.0\\.0\\.1:<CLIENT_PORT>${SEP}(?:true|false)${SEP})(?:[0-9.]+(?:ns|µs|us|ms|s|m|h))+`, 'gm'),
    '$1<TOOK>',
    'endpoint health -w table duration',
  ],

  // --- the client's own identity: etcdctl names its gRPC resolver target with a random UUID
  [/endpoint:\/\/client-[0-9a-f-]{36}\//g, 'endpoint://client-<UUID>/', 'etcdctl resolver target'],
];

/**
 * Tables: column widths follow the longest cell, so hiding a value changes them. Trim the cells and
 * draw every border the same; the cells themselves are compared.
 */
function canonicalTables(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (/^\+[-+]+\+$/.test(line)) return '+---+';
      if (line.startsWith('|') && line.endsWith('|')) {
        const cells = line.slice(1, -1).split('|').map((c) => c.trim());
        return `| ${cells.join(' | ')} |`;
      }
      return line;
    })
    .join('\n');
}

/**
 * Hide only what may honestly differ between etcd-node and a real etcd given the same commands
 * (see RULES). With a context, this side's own client/peer ports and paths are hidden too; any
 * other port or path stays visible.
 */
export function normalize(text: string, ctx: NormalizeContext = {}): string {
  return normalizeExcept(text, ctx, -1);
}

/** `normalize` without the rule at index `skip` of `normalizeRules` (to test that each rule is needed). */
export function normalizeExcept(text: string, ctx: NormalizeContext, skip: number): string {
  let s = text;
  // scratch paths differ per side (longest first, so a path is not half-replaced by its parent)
  const paths = [...(ctx.paths ?? [])].sort((a, b) => b[0].length - a[0].length);
  for (const [path, placeholder] of paths) s = s.split(path).join(placeholder);
  // ports: each server listens on its own free ports
  if (ctx.clientPort !== undefined) {
    s = s.replace(new RegExp(`127\\.0\\.0\\.1:${ctx.clientPort}(?!\\d)`, 'g'), '127.0.0.1:<CLIENT_PORT>');
  }
  if (ctx.peerPort !== undefined) {
    s = s.replace(new RegExp(`127\\.0\\.0\\.1:${ctx.peerPort}(?!\\d)`, 'g'), '127.0.0.1:<PEER_PORT>');
  }
  s = canonicalTables(s);
  RULES.forEach(([re, replacement], i) => {
    if (i !== skip) s = s.replace(re, replacement);
  });
  return s;
}

/** The rules, for a test that checks each one is needed and matches what it says. */
export const normalizeRules: ReadonlyArray<{ pattern: RegExp; replacement: string; why: string }> = RULES.map(
  ([pattern, replacement, why]) => ({ pattern, replacement, why }),
);
