// `npm run bench:memory`: server memory side by side, etcd-node beside every real etcd found (one
// member each, one server at a time so they do not compete for memory or cores):
//   (a) RSS at rest, then after loading BENCH_MEMORY_KEYS keys (default 1,000,000; 8-byte keys, 256-byte
//       values, in txns of 128 puts — etcd's default --max-txn-ops), and the backend size from
//       Maintenance.Status (dbSize);
//   (b) RSS after BENCH_MEMORY_WATCHERS watchers (default 100,000: streams of 1,000 watchers over up to 10
//       connections) on the same server, and how long one put takes to reach every stream.
// `--only=keys` or `--only=watchers` runs one part (`npm run bench:watch` is `--only=watchers`). It
// prints figures and never fails on them; BENCH_TARGETS selects servers and BENCH_RECORD=1 (or
// --record) writes them to docs/benchmarks.md.
import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { StatusResponse, TxnRequest, WatchRequest, WatchResponse } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { describeError } from './case-result.js';
import { envInt } from './cases.js';
import { closeAll, connectMany, type Connection } from './connections.js';
import { keyBytes, putRequest } from './keys.js';
import { rssMiB } from './process-stats.js';
import { machineDescription, recording, reproduceCommand, writeSection } from './record.js';
import { discoverTargets, installCleanup, makeRunDir, removeRunDir, selectTargets, startTarget, type RunningTarget } from './targets.js';
import { watchCreate } from './watch-latency.js';

const KEYS = envInt('BENCH_MEMORY_KEYS', 1_000_000);
const WATCHERS = envInt('BENCH_MEMORY_WATCHERS', 100_000);
const WATCHERS_PER_STREAM = Math.min(1000, WATCHERS);
const PUTS_PER_TXN = 128;
const TXNS_IN_FLIGHT = 16;
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const runKeys = only !== 'watchers';
const runWatchers = only !== 'keys';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (v: number): string => `${v.toFixed(0)} MiB`;

interface Figures {
  server: string;
  restMiB: number;
  load?: { seconds: number; errors: number; rssMiB: number; dbSize: bigint };
  watchers?: { created: number; seconds: number; rssMiB: number; fanOutMs: number | undefined };
  note?: string;
}

function batch(first: number, value: Buffer): TxnRequest {
  const n = Math.min(PUTS_PER_TXN, KEYS - first);
  return { compare: [], success: Array.from({ length: n }, (_, i) => ({ requestPut: putRequest(keyBytes(first + i, 8), value) })), failure: [] };
}

async function loadKeys(conns: readonly Connection[]): Promise<{ seconds: number; errors: number }> {
  const value = Buffer.alloc(256, 'm');
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: TXNS_IN_FLIGHT }, (_, w) => (async () => {
      const kv = conns[w % conns.length]!.kv;
      while (next < KEYS) {
        const first = next;
        next += PUTS_PER_TXN;
        const ok = await new Promise<boolean>((res) => kv.txn(batch(first, value), (err) => res(err === null)));
        if (!ok) errors++;
      }
    })()),
  );
  return { seconds: (performance.now() - t0) / 1000, errors };
}

const status = (c: Connection): Promise<StatusResponse> =>
  new Promise((res, rej) => c.maintenance.status({}, (err, r) => (err ? rej(err) : res(r))));

async function addWatchers(conns: readonly Connection[], pid: number): Promise<NonNullable<Figures['watchers']>> {
  const streamCount = Math.ceil(WATCHERS / WATCHERS_PER_STREAM);
  const streams: Array<ClientDuplexStream<WatchRequest, WatchResponse>> = [];
  let created = 0;
  let sawPut = 0;
  const t0 = performance.now();
  try {
    for (let s = 0; s < streamCount; s++) {
      const stream = conns[s % conns.length]!.watch.watch();
      stream.on('data', (r: WatchResponse) => {
        if (r.created) created++;
        if (r.events.length > 0) sawPut++;
      });
      stream.on('error', () => undefined); // our cancel at the end ends every stream with CANCELLED
      const n = Math.min(WATCHERS_PER_STREAM, WATCHERS - s * WATCHERS_PER_STREAM);
      // every stream watches the same keys w/0…w/999, one watcher each: a put to w/0 reaches every stream once
      for (let i = 0; i < n; i++) stream.write(watchCreate(Buffer.from(`w/${i}`)));
      streams.push(stream);
    }
    let last = -1;
    let lastChange = performance.now();
    while (created < WATCHERS && performance.now() - lastChange < 60_000) {
      await sleep(100);
      if (created !== last) {
        last = created;
        lastChange = performance.now();
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    await sleep(2000);
    const rss = rssMiB(pid);
    const p0 = performance.now();
    await new Promise<void>((res) => conns[0]!.kv.put(putRequest(Buffer.from('w/0'), Buffer.from('x')), () => res()));
    while (sawPut < streamCount && performance.now() - p0 < 60_000) await sleep(1);
    return { created, seconds, rssMiB: rss, fanOutMs: sawPut >= streamCount ? performance.now() - p0 : undefined };
  } finally {
    for (const s of streams) s.cancel();
  }
}

async function measure(target: RunningTarget): Promise<Figures> {
  const pid = target.pids[0]!;
  await sleep(2000);
  const figures: Figures = { server: target.spec.label, restMiB: rssMiB(pid) };
  const conns = connectMany(target.endpoints, 10);
  try {
    if (runKeys) {
      const { seconds, errors } = await loadKeys(conns);
      await sleep(2000);
      figures.load = { seconds, errors, rssMiB: rssMiB(pid), dbSize: (await status(conns[0]!)).dbSize };
      console.error(`${target.spec.label}: ${KEYS} keys in ${seconds.toFixed(1)} s, RSS ${mib(figures.load.rssMiB)}`);
    }
    if (runWatchers) {
      figures.watchers = await addWatchers(conns, pid);
      console.error(`${target.spec.label}: ${figures.watchers.created} watchers, RSS ${mib(figures.watchers.rssMiB)}`);
    }
  } catch (err) {
    figures.note = describeError(err);
  } finally {
    closeAll(conns);
  }
  return figures;
}

function render(rows: readonly Figures[]): string {
  const streams = Math.ceil(WATCHERS / WATCHERS_PER_STREAM);
  const head = ['server', 'RSS at rest'];
  if (runKeys) head.push(`load ${KEYS} keys (txns of ${PUTS_PER_TXN} puts)`, 'errors', `RSS with ${KEYS} keys`, 'dbSize');
  if (runWatchers) head.push(`${WATCHERS} watchers created in`, `RSS with the watchers (change)`, `one put seen by all ${streams} streams`);
  head.push('notes');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const f of rows) {
    const cells = [f.server, mib(f.restMiB)];
    if (runKeys) {
      const l = f.load;
      cells.push(l ? `${l.seconds.toFixed(1)} s (${(KEYS / l.seconds).toFixed(0)} keys/s)` : '–', l ? String(l.errors) : '–',
        l ? mib(l.rssMiB) : '–', l ? mib(Number(l.dbSize) / 2 ** 20) : '–');
    }
    if (runWatchers) {
      const w = f.watchers;
      const before = f.load?.rssMiB ?? f.restMiB;
      cells.push(w ? `${w.seconds.toFixed(1)} s${w.created < WATCHERS ? ` (only ${w.created})` : ''}` : '–',
        w ? `${mib(w.rssMiB)} (${w.rssMiB >= before ? '+' : '−'}${mib(Math.abs(w.rssMiB - before))})` : '–', w?.fanOutMs === undefined ? '–' : `${w.fanOutMs.toFixed(1)} ms`);
    }
    cells.push(f.note ?? '');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  installCleanup();
  const specs = selectTargets(discoverTargets(), process.env['BENCH_TARGETS']);
  if (specs.length === 0) throw new Error('no server to measure: run `npm run build` first');
  const started = Date.now();
  const rows: Figures[] = [];
  const runDir = makeRunDir();
  try {
    for (const spec of specs) {
      let target: RunningTarget | undefined;
      try {
        target = await startTarget(spec, 1, runDir);
        rows.push(await measure(target));
      } catch (err) {
        console.error(`${spec.label}: ${describeError(err)}`);
        rows.push({ server: spec.label, restMiB: 0, note: describeError(err) });
      } finally {
        await target?.stop();
      }
    }
  } finally {
    removeRunDir(runDir);
  }
  const table = render(rows);
  console.log(`\n${table}`);
  if (recording()) {
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    writeSection('bench-memory', [
      `Recorded ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${minutes} min with:`,
      '', '```sh', `npm ci && npm run build && ${reproduceCommand(only === 'watchers' ? 'bench:watch' : 'bench:memory')}`, '```', '',
      ...machineDescription(specs, false),
      '- one member per server, default flags; RSS of the member process; the watchers are added to the server holding the keys',
      '', table,
    ].join('\n'));
    console.error('written: docs/benchmarks.md');
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:memory: ${describeError(err)}`);
    process.exit(1);
  },
);
