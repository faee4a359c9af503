// docs/benchmarks.md: the recorded figures. Only the parts between marker comments are generated
// (`<!-- bench:begin -->`…`<!-- bench:end -->` for `npm run bench`, `bench-memory` for `npm run
// bench:memory`); everything else, notably the hand-written "Optimizations" section, is kept as it is.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { etcdToolAvailable, etcdToolPath } from './etcd-tool.js';
import { repoRoot } from '../test/support/servers.js';
import { etcdNodeVersion, type TargetSpec } from './targets.js';

export const benchmarksFile = join(repoRoot, 'docs', 'benchmarks.md');

export const recording = (): boolean => process.env['BENCH_RECORD'] === '1' || process.argv.includes('--record');

const TEMPLATE = `# Benchmarks

etcd-node beside real etcd servers on the same machine, measured in one run: each case runs against every
server back to back before the next case starts, so a change in the machine's load affects all of them
alike. \`npm run bench\` and \`npm run bench:memory\` print the same tables; with \`BENCH_RECORD=1\` they
rewrite the generated parts of this file (between the \`bench\` marker comments) and keep the rest.

How to read the tables: "client" is \`ours\` (bench/load.ts and friends: TypeScript on @grpc/grpc-js) or
\`etcd benchmark\` (etcd's Go tool, tools/benchmark); both share the machine's cores with the servers.
"server CPU" is the CPU time of all members during the case divided by its wall time; "RSS after" is the
resident memory of all members after the case. The ratio columns divide etcd-node's figure by the real
etcd's: above 1 is better for etcd-node in ops/s, below 1 is better in p99. In the watch row, ops/s
is events received per second and the latency is from a put being sent to a watcher receiving its
event; in the lease-keepalive row, keep-alives answered per second.

Options (environment): \`BENCH_TARGETS\` (\`etcd-node\`, \`etcd-3.4\`, \`etcd-3.5\`, \`etcd-3.6\`; default every one
found), \`BENCH_MEMBERS\` (\`1\`, \`3\` or \`1,3\`), \`BENCH_TOTAL\` (requests per case), \`BENCH_CASES\` (substrings
of the case names as printed, e.g. \`range,watch\`; \`(etcd benchmark)\` selects the Go tool's cases),
\`BENCH_CASE_SECONDS\` (a case stops issuing after this long, default 30), \`BENCH_ETCD_TOOL=0\`,
\`BENCH_KEY_SIZE\`, \`BENCH_VALUE_SIZE\`, \`BENCH_KEY_SPACE\`, \`BENCH_SEQUENTIAL_KEYS=1\`, \`BENCH_WARMUP\`
(requests of each kind every server gets before the first case, default 5000); for the memory
benchmark \`BENCH_MEMORY_KEYS\` and \`BENCH_MEMORY_WATCHERS\`.

<!-- bench:begin -->
(not recorded yet: \`BENCH_MEMBERS=1,3 BENCH_RECORD=1 npm run bench\`)
<!-- bench:end -->

## Memory

<!-- bench-memory:begin -->
(not recorded yet: \`BENCH_RECORD=1 npm run bench:memory\`)
<!-- bench-memory:end -->

## Optimizations

(Hand-written: what was changed in etcd-node for these figures, and what each change was worth.)
`;

function run(cmd: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

/** The machine and the software measured, as Markdown bullet lines. */
export function machineDescription(targets: readonly TargetSpec[], withEtcdTool: boolean): string[] {
  const cpu = cpus();
  // "ext4 on /dev/vda": what the servers' fsyncs go to
  const fs = run('df', ['--output=fstype,source', tmpdir()])?.split('\n')[1]?.trim().replace(/\s+/, ' on ');
  const lines = [
    `- machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, Linux ${release()}`,
    `- data dirs: under ${tmpdir()}${fs ? ` (${fs})` : ''}`,
    `- Node ${process.version}; etcd-node ${etcdNodeVersion()}`,
  ];
  const shown = (path: string): string => path.replace(`${repoRoot}/`, '');
  for (const t of targets.filter((t) => t.real)) lines.push(`- ${t.label}: \`${shown(t.path)}\` (\`etcd --version\`: ${t.label.replace('etcd ', '')})`);
  if (withEtcdTool && etcdToolAvailable()) lines.push(`- etcd's benchmark tool: \`${etcdToolPath.replace(`${repoRoot}/`, '')}\``);
  return lines;
}

/** The command that reproduces this run: the BENCH_* variables that were set, then the npm script. */
export function reproduceCommand(script: string): string {
  const vars = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_RECORD')
    .map(([k, v]) => `${k}=${/^[\w.,/:=-]*$/.test(v ?? '') ? (v ?? '') : `'${(v ?? '').replace(/'/g, `'\\''`)}'`}`)
    .sort();
  return [...vars, 'BENCH_RECORD=1', 'npm', 'run', script].join(' ');
}

/** Replace the part between `<!-- name:begin -->` and `<!-- name:end -->` (added before "## Optimizations" when missing). */
export function writeSection(name: string, content: string): void {
  let text = existsSync(benchmarksFile) ? readFileSync(benchmarksFile, 'utf8') : TEMPLATE;
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${content.trim()}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) {
    text = text.slice(0, i) + block + text.slice(j + end.length);
  } else {
    const opt = text.indexOf('## Optimizations');
    text = opt >= 0 ? `${text.slice(0, opt)}${block}\n\n${text.slice(opt)}` : `${text.trimEnd()}\n\n${block}\n`;
  }
  mkdirSync(dirname(benchmarksFile), { recursive: true });
  writeFileSync(benchmarksFile, text);
}
