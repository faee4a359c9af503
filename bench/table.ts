// The benchmark table (Markdown): one row per case, client and server, and on etcd-node's rows its
// ratio to each real etcd measured in the same run (ops/s: higher is better for etcd-node; p99: lower
// is better).
import type { CaseResult } from './case-result.js';
import type { BenchCase } from './cases.js';

export interface Row {
  readonly bench: BenchCase;
  readonly server: string;
  readonly real: boolean;
  readonly result: CaseResult;
  /** average cores used by all members during the case */
  readonly cpuCores: number;
  /** RSS of all members after the case, MiB */
  readonly rssMiB: number;
}

const ms = (v: number | undefined): string => (v === undefined ? '–' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 || a === 0 ? '–' : `${(a / b).toFixed(2)}×`;
const escape = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The real etcd servers ratios are given against, in the order they appear. */
export const realServers = (rows: readonly Row[]): string[] => [...new Set(rows.filter((r) => r.real).map((r) => r.server))];

export function renderTable(rows: readonly Row[]): string {
  const reals = realServers(rows);
  const head = ['case', 'client', 'server', 'requests', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'server CPU', 'RSS after',
    ...reals.map((r) => `etcd-node ÷ ${r} (ops/s, p99)`), 'notes'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const r = row.result;
    const vs = reals.map((real) => {
      if (row.real) return '';
      const base = rows.find((o) => o.bench === row.bench && o.server === real)?.result;
      return base ? `${ratio(r.opsPerSec, base.opsPerSec)}, ${ratio(r.p99, base.p99)}` : '–';
    });
    lines.push(`| ${[
      row.bench.name, row.bench.client, row.server, String(r.requests), r.opsPerSec.toFixed(0), ms(r.p50), ms(r.p99), ms(r.p999),
      String(r.errors), `${row.cpuCores.toFixed(2)} cores`, `${row.rssMiB.toFixed(0)} MiB`, ...vs, escape(r.note ?? ''),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}
