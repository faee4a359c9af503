// The benchmark cases and their settings. The goal is judged on put at 1 client and on put and
// both kinds of range at 64 clients over 8 connections and 1,000 clients over 100 connections (etcd's
// benchmark documentation uses these shapes); txn-put, watch and lease keep-alive run at one moderate
// setting each. Cases whose client is 'etcd benchmark' run etcd's own Go tool instead of our generator,
// to show how much our generator's own cost shapes the figures.

export type UnaryKind = 'put' | 'range-linearizable' | 'range-serializable' | 'txn-put';
export type CaseKind = UnaryKind | 'watch' | 'lease-keepalive';
export type ClientKind = 'ours' | 'etcd benchmark';

export interface BenchCase {
  readonly name: string;
  readonly kind: CaseKind;
  readonly client: ClientKind;
  readonly clients: number;
  readonly conns: number;
  /** requests (unary, keep-alives) or events to receive (watch) */
  readonly total: number;
  /** watch: streams, watchers per stream and concurrent writers */
  readonly watch?: { readonly streams: number; readonly watchersPerStream: number; readonly writers: number };
}

/** Key and value shape, as etcd's benchmark tool's flags (key size 8, value size 256). */
export interface KeyShape {
  readonly keySize: number;
  readonly valueSize: number;
  /** distinct keys put cases write to */
  readonly keySpace: number;
  /** sequential keys (0, 1, 2, …) instead of uniformly random ones */
  readonly sequential: boolean;
}

/**
 * An integer setting from the environment: `def` when unset or empty. A value that is not an integer of
 * at least `min` ends the benchmark (exit code 2) with a message naming the variable: a typo must not
 * measure something else. Read when the bench scripts load, before anything starts.
 */
export function envInt(name: string, def: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    console.error(`bench: ${name} must be an integer of at least ${min}, got "${raw}"`);
    process.exit(2);
  }
  return v;
}

export function keyShapeFromEnv(): KeyShape {
  return {
    keySize: envInt('BENCH_KEY_SIZE', 8),
    valueSize: envInt('BENCH_VALUE_SIZE', 256),
    keySpace: envInt('BENCH_KEY_SPACE', 100_000),
    sequential: process.env['BENCH_SEQUENTIAL_KEYS'] === '1',
  };
}

/** The default requests per case: chosen so that BENCH_MEMBERS=1,3 finishes in about 15 minutes on 2 cores. */
export const DEFAULT_TOTAL = 10_000;

export function allCases(total: number, withEtcdTool: boolean): BenchCase[] {
  const shapes = [
    { clients: 64, conns: 8 },
    { clients: 1000, conns: 100 },
  ];
  const cases: BenchCase[] = [
    // one client waits for every answer: latency bound, so fewer requests suffice
    { name: 'put 1 client', kind: 'put', client: 'ours', clients: 1, conns: 1, total: Math.max(50, Math.round(total / 5)) },
  ];
  for (const kind of ['put', 'range-linearizable', 'range-serializable'] as const) {
    for (const s of shapes) {
      cases.push({ name: `${kind} ${s.clients} clients/${s.conns} conns`, kind, client: 'ours', ...s, total });
    }
  }
  cases.push(
    { name: 'txn-put 64 clients/8 conns', kind: 'txn-put', client: 'ours', clients: 64, conns: 8, total },
    {
      // every put is seen by all 100 watchers: `total` events need total/100 puts
      name: 'watch 10 streams×10 watchers/5 conns',
      kind: 'watch',
      client: 'ours',
      clients: 100,
      conns: 5,
      total,
      watch: { streams: 10, watchersPerStream: 10, writers: 4 },
    },
    { name: 'lease-keepalive 64 clients/8 conns', kind: 'lease-keepalive', client: 'ours', clients: 64, conns: 8, total },
  );
  if (withEtcdTool) {
    for (const kind of ['put', 'range-linearizable', 'range-serializable'] as const) {
      cases.push({ name: `${kind} 64 clients/8 conns`, kind, client: 'etcd benchmark', clients: 64, conns: 8, total });
    }
  }
  return cases;
}

/** The name BENCH_CASES matches against: `put 64 clients/8 conns (ours)`, `… (etcd benchmark)`. */
export const fullName = (c: BenchCase): string => `${c.name} (${c.client})`;

/** BENCH_CASES: comma-separated substrings; a case runs when its full name contains one of them. */
export function selectCases(cases: readonly BenchCase[], filter: string | undefined): BenchCase[] {
  const parts = (filter ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  return parts.length === 0 ? [...cases] : cases.filter((c) => parts.some((p) => fullName(c).includes(p)));
}
