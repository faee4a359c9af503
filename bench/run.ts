// `npm run bench`: etcd-node beside every real etcd found, in one run, interleaved (each case runs
// against every server back to back before the next case), then one Markdown table. It measures and
// never fails on a figure: the exit status is non-zero only when nothing could be measured.
//
// Environment: BENCH_TARGETS (ids, e.g. `etcd-node,etcd-3.4`; default all found), BENCH_MEMBERS (`1`,
// `3` or `1,3`), BENCH_TOTAL (requests per case), BENCH_CASES (name substrings, comma-separated),
// BENCH_CASE_SECONDS (a case stops issuing after this long, default 30), BENCH_ETCD_TOOL=0 (skip etcd's
// benchmark tool), BENCH_KEY_SIZE / BENCH_VALUE_SIZE / BENCH_KEY_SPACE / BENCH_SEQUENTIAL_KEYS=1,
// BENCH_RECORD=1 or --record (write docs/benchmarks.md).
import { describeError, failedResult, type CaseResult } from './case-result.js';
import { allCases, DEFAULT_TOTAL, envInt, fullName, keyShapeFromEnv, selectCases, type BenchCase, type KeyShape } from './cases.js';
import { closeAll, connect } from './connections.js';
import { etcdToolAvailable, runEtcdTool } from './etcd-tool.js';
import { putRequest, RANGE_KEY } from './keys.js';
import { runLeaseKeepAlive } from './lease-keepalive.js';
import { runUnary } from './load.js';
import { cpuMeter, totalRssMiB } from './process-stats.js';
import { machineDescription, recording, reproduceCommand, writeSection } from './record.js';
import { realServers, renderTable, type Row } from './table.js';
import { discoverTargets, installCleanup, makeRunDir, removeRunDir, selectTargets, startTarget, type RunningTarget, type TargetSpec } from './targets.js';
import { runWatch } from './watch-latency.js';

const TOTAL = envInt('BENCH_TOTAL', DEFAULT_TOTAL);
const CASE_SECONDS = envInt('BENCH_CASE_SECONDS', 30);
// a case whose server answers nothing for this long is abandoned (and its row says so)
const STALL_SECONDS = 20;
const MEMBER_COUNTS = (process.env['BENCH_MEMBERS'] ?? '1').split(',').map((s) => Number(s.trim()));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function runCase(bench: BenchCase, target: RunningTarget, shape: KeyShape): Promise<CaseResult> {
  const endpoints = target.endpoints;
  const common = { endpoints, maxSeconds: CASE_SECONDS, stallSeconds: STALL_SECONDS };
  if (bench.client === 'etcd benchmark') {
    if (bench.kind === 'watch' || bench.kind === 'lease-keepalive') return Promise.resolve(failedResult('not run with the etcd tool'));
    return runEtcdTool({ endpoints, kind: bench.kind, clients: bench.clients, conns: bench.conns, total: bench.total, shape, timeoutSeconds: CASE_SECONDS * 4 + 60 });
  }
  switch (bench.kind) {
    case 'watch': {
      const w = bench.watch ?? { streams: 10, watchersPerStream: 10, writers: 4 };
      return runWatch({ ...common, conns: bench.conns, ...w, total: bench.total, valueSize: shape.valueSize });
    }
    case 'lease-keepalive':
      return runLeaseKeepAlive({ ...common, clients: bench.clients, conns: bench.conns, total: bench.total });
    default:
      return runUnary({ ...common, kind: bench.kind, clients: bench.clients, conns: bench.conns, total: bench.total, shape });
  }
}

/** The key the range cases read, written once per server. */
function writeRangeKey(target: RunningTarget, shape: KeyShape): Promise<void> {
  const c = connect(target.endpoints[0]!);
  return new Promise<void>((res, rej) =>
    c.kv.put(putRequest(Buffer.from(RANGE_KEY), Buffer.alloc(shape.valueSize, 'r')), (err) => (err ? rej(err) : res())),
  ).finally(() => closeAll([c]));
}

/** Requests of each kind every server gets before the first case (BENCH_WARMUP; 0 disables). */
const WARMUP = envInt('BENCH_WARMUP', 5000, 0);

/**
 * The same load for every server before anything is measured, so that every case sees a server in its
 * steady state: etcd-node's JavaScript is compiled by V8 only once it has run for a while, and a cold
 * server would count that start-up cost against the first cases.
 */
async function warmUp(target: RunningTarget, shape: KeyShape): Promise<void> {
  if (WARMUP === 0) return;
  const common = { endpoints: target.endpoints, maxSeconds: CASE_SECONDS, stallSeconds: STALL_SECONDS, shape, clients: 16, conns: 4 };
  for (const kind of ['put', 'txn-put', 'range-linearizable', 'range-serializable'] as const) {
    await runUnary({ ...common, kind, total: WARMUP });
  }
}

async function startAll(specs: readonly TargetSpec[], members: number, runDir: string, shape: KeyShape): Promise<RunningTarget[]> {
  const running: RunningTarget[] = [];
  for (const spec of specs) {
    try {
      const t = await startTarget(spec, members, runDir);
      running.push(t);
      await writeRangeKey(t, shape);
      await warmUp(t, shape);
    } catch (err) {
      console.error(`${spec.label} (${members} member(s)) could not start and is left out: ${describeError(err)}`);
    }
  }
  return running;
}

async function measureAll(cases: readonly BenchCase[], targets: readonly RunningTarget[], shape: KeyShape): Promise<Row[]> {
  const rows: Row[] = [];
  for (const bench of cases) {
    for (const t of targets) {
      const cpu = cpuMeter(t.pids);
      let result: CaseResult;
      try {
        result = t.alive() ? await runCase(bench, t, shape) : failedResult('a member has exited');
      } catch (err) {
        result = failedResult(describeError(err));
      }
      const cpuCores = cpu.stop();
      const row: Row = { bench, server: t.spec.label, real: t.spec.real, result, cpuCores, rssMiB: totalRssMiB(t.pids) };
      rows.push(row);
      const p99 = result.p99 === undefined ? '' : `, p99 ${result.p99.toFixed(2)} ms`;
      console.error(`[${t.members}m] ${fullName(bench)} · ${t.spec.label}: ${result.opsPerSec.toFixed(0)} ops/s${p99}, ${result.errors} errors, ${cpuCores.toFixed(2)} cores${result.note ? ` — ${result.note}` : ''}`);
      // let the server finish what the case left behind (fsyncs, GC) before the next one starts
      await sleep(500);
    }
  }
  return rows;
}

async function main(): Promise<void> {
  installCleanup();
  if (MEMBER_COUNTS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_MEMBERS: expected 1, 3 or 1,3, got ${process.env['BENCH_MEMBERS']}`);
  const specs = selectTargets(discoverTargets(), process.env['BENCH_TARGETS']);
  if (!specs.some((s) => s.id === 'etcd-node') && process.env['BENCH_TARGETS'] === undefined) {
    throw new Error('etcd-node is not built: run `npm run build` first (`npm run bench` does)');
  }
  if (!specs.some((s) => s.real)) console.error('no real etcd found: etcd-node is measured alone (apt-get install etcd-server for the comparison)');
  const shape = keyShapeFromEnv();
  const cases = selectCases(allCases(TOTAL, etcdToolAvailable()), process.env['BENCH_CASES']);
  if (cases.length === 0) throw new Error(`BENCH_CASES=${process.env['BENCH_CASES']} selects no case`);
  console.error(`servers: ${specs.map((s) => s.label).join(', ')}; members: ${MEMBER_COUNTS.join(', ')}; ${cases.length} cases, BENCH_TOTAL=${TOTAL}`);

  const started = Date.now();
  const sections: string[] = [];
  let measured = 0;
  for (const members of MEMBER_COUNTS) {
    const runDir = makeRunDir();
    let rows: Row[] = [];
    const targets = await startAll(specs, members, runDir, shape);
    try {
      if (targets.length > 0) rows = await measureAll(cases, targets, shape);
    } finally {
      await Promise.all(targets.map((t) => t.stop()));
      removeRunDir(runDir);
    }
    if (rows.length === 0) continue;
    measured += rows.length;
    const reals = realServers(rows);
    const title = members === 1 ? '### 1 member' : `### ${members}-member clusters (load spread over the members, the leader first)`;
    const table = renderTable(rows);
    console.log(`\n${title}\n\n${table}`);
    sections.push(`${title}\n\nRatios of etcd-node against ${reals.length > 0 ? reals.join(' and ') : 'no real etcd (none ran)'}.\n\n${table}`);
  }
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.error(`done in ${minutes} min`);
  if (measured === 0) throw new Error('nothing was measured');
  if (recording()) {
    const header = [
      `Recorded ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${minutes} min with:`,
      '',
      '```sh',
      `npm ci && ${reproduceCommand('bench')}`,
      '```',
      '',
      ...machineDescription(specs, true),
      `- ${TOTAL} requests per case (1-client put: ${cases.find((c) => c.clients === 1)?.total ?? Math.round(TOTAL / 5)}), a case stops issuing after ${CASE_SECONDS} s;` +
        ` keys of ${shape.keySize} B (${shape.sequential ? 'sequential' : 'random'} over ${shape.keySpace}), values of ${shape.valueSize} B; servers run with default flags`,
    ];
    writeSection('bench', `${header.join('\n')}\n\n${sections.join('\n\n')}`);
    console.error('written: docs/benchmarks.md');
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${describeError(err)}`);
  process.exitCode = 1;
});
