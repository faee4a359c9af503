// etcd's own benchmark tool (tools/benchmark, built to .tools/ by `npm run build:tools`) as a second
// client: the same put and range cases as ours, and its printed summary parsed into the same table.
// When it and our generator disagree much, the generator's cost (it shares the cores) is the suspect.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, failedResult, type CaseResult } from './case-result.js';
import { RANGE_KEY } from './keys.js';
import type { UnaryLoad } from './load.js';
import { toolVersions } from '../test/k8s/tools.js';
import { repoRoot } from '../test/support/servers.js';

/** etcd's tools/benchmark as scripts/build-tools.sh builds it (version from scripts/tools-versions.env). */
export const etcdToolPath = join(repoRoot, '.tools', `benchmark-${toolVersions()['BENCHMARK_VERSION'] ?? 'unknown'}`, 'benchmark');

export const etcdToolAvailable = (): boolean => process.env['BENCH_ETCD_TOOL'] !== '0' && existsSync(etcdToolPath);

/** The same shape of load as our generator's, minus what the tool decides for itself. */
export interface ToolLoad extends Pick<UnaryLoad, 'endpoints' | 'kind' | 'clients' | 'conns' | 'total' | 'shape'> {
  /** the tool cannot stop early: it is killed after this long */
  readonly timeoutSeconds: number;
}

export function toolArgs(load: ToolLoad): string[] {
  // --precise: full precision in the summary (else latencies are printed to 0.1 ms)
  const global = ['--precise', `--endpoints=${load.endpoints.join(',')}`, `--conns=${load.conns}`, `--clients=${load.clients}`];
  switch (load.kind) {
    case 'put':
      return [...global, 'put', `--total=${load.total}`, `--key-size=${load.shape.keySize}`, `--val-size=${load.shape.valueSize}`,
        `--key-space-size=${load.shape.keySpace}`, ...(load.shape.sequential ? ['--sequential-keys'] : [])];
    case 'txn-put':
      return [...global, 'txn-put', `--total=${load.total}`, `--key-size=${load.shape.keySize}`, `--val-size=${load.shape.valueSize}`,
        `--key-space-size=${load.shape.keySpace}`];
    case 'range-linearizable':
    case 'range-serializable':
      return [...global, 'range', RANGE_KEY, `--total=${load.total}`, `--consistency=${load.kind === 'range-serializable' ? 's' : 'l'}`];
  }
}

/**
 * The tool's summary: "Requests/sec:\t1234.5", "Latency distribution:" lines like "  99.9% in 0.0123
 * secs." (the tool leaves out a percentile it computed as 0, as 99.9% often is with few requests), and
 * an "Error distribution:" whose lines are "  [count]\tmessage".
 */
export function parseToolOutput(out: string): CaseResult {
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(out);
  if (!rps) return failedResult(`no summary in the tool's output: ${out.trim().slice(-200) || '(empty)'}`);
  const pct = (p: string): number | undefined => {
    const m = new RegExp(`^\\s*${p.replace('.', '\\.')}% in ([\\d.]+) secs`, 'm').exec(out);
    return m ? Number(m[1]) * 1000 : undefined;
  };
  let errors = 0;
  let note: string | undefined;
  const errSection = out.split('Error distribution:')[1];
  if (errSection !== undefined) {
    for (const m of errSection.matchAll(/^\s*\[(\d+)\]\s*(.*)$/gm)) {
      errors += Number(m[1]);
      note ??= m[2]?.trim().slice(0, 120);
    }
  }
  // the requests answered: the counts of the response time histogram ("  0.0029 [260]\t|∎∎∎")
  const histogram = out.split('Response time histogram:')[1]?.split('Latency distribution:')[0] ?? '';
  const requests = [...histogram.matchAll(/\[(\d+)\]/g)].reduce((s, m) => s + Number(m[1]), 0);
  const opsPerSec = Number(rps[1]);
  const p50 = pct('50');
  const p99 = pct('99');
  const p999 = pct('99.9');
  return {
    requests, opsPerSec, errors,
    ...(p50 === undefined ? {} : { p50 }), ...(p99 === undefined ? {} : { p99 }), ...(p999 === undefined ? {} : { p999 }),
    ...(note === undefined ? {} : { note }),
  };
}

export function runEtcdTool(load: ToolLoad): Promise<CaseResult> {
  return new Promise((resolve) => {
    const child = spawn(etcdToolPath, toolArgs(load), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    // its progress bar goes to stderr: read and dropped
    child.stderr.on('data', () => undefined);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, load.timeoutSeconds * 1000);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve(failedResult(`benchmark tool: ${describeError(err)}`));
    });
    child.once('close', () => {
      clearTimeout(timer);
      resolve(timedOut ? failedResult(`benchmark tool killed after ${load.timeoutSeconds} s`) : parseToolOutput(out));
    });
  });
}
