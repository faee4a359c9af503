// `npm run bench:backup`: what the backup scheme costs a cluster and what it gives, etcd-node beside a real
// etcd, measured the same way on each. It prints figures and never fails on one.
//
//  1. Snapshot cost: after BENCH_BACKUP_PRELOAD_MB of data, put latency under a steady load of
//     BENCH_BACKUP_CLIENTS clients, first alone, then while Maintenance.Snapshot streams run back to back
//     (what the backup agent's full snapshot does to the cluster); with the snapshots' time and size.
//  2. RPO: the real backup agent (`etcd-operator backup-agent`, by hand, encrypted, to a folder) with
//     delta period BENCH_BACKUP_DELTA_PERIOD (10s) while a writer puts BENCH_BACKUP_RATE writes a second
//     for BENCH_BACKUP_RPO_SECONDS. Every 500 ms the store alone is read (object names: the newest
//     revision a restore reaches) and the sample is the age of the newest acknowledged write at or below
//     that revision: what a disaster at that moment would lose.
//
// BENCH_TARGETS (default: etcd-node and the newest real etcd found), BENCH_MEMBERS (1).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotResponse } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { parseName } from '../etcd-node/src/backup/names.js';
import { envInt } from './cases.js';
import { closeAll, connectMany, type Connection } from './connections.js';
import { putRequest } from './keys.js';
import { Latencies } from './latencies.js';
import { repoRoot } from '../test/support/servers.js';
import { discoverTargets, installCleanup, makeRunDir, removeRunDir, selectTargets, startTarget, type RunningTarget, type TargetSpec } from './targets.js';

const PRELOAD_MB = envInt('BENCH_BACKUP_PRELOAD_MB', 64, 0);
const CLIENTS = envInt('BENCH_BACKUP_CLIENTS', 8);
const PHASE_SECONDS = envInt('BENCH_BACKUP_PHASE_SECONDS', 20);
const RPO_SECONDS = envInt('BENCH_BACKUP_RPO_SECONDS', 60);
const RATE = envInt('BENCH_BACKUP_RATE', 200);
const DELTA_PERIOD = process.env['BENCH_BACKUP_DELTA_PERIOD'] ?? '10s';
const MEMBERS = envInt('BENCH_MEMBERS', 1);
const VALUE = Buffer.alloc(1024, 'v');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (v: number): string => (v < 10 ? v.toFixed(2) : v.toFixed(1));

function put(c: Connection, key: string, value: Buffer = VALUE): Promise<number> {
  return new Promise((resolve, reject) =>
    c.kv.put(putRequest(Buffer.from(key), value), (err, res) => (err ? reject(err) : resolve(Number(res?.header?.revision ?? 0)))),
  );
}

async function preload(conns: Connection[]): Promise<void> {
  const n = Math.ceil((PRELOAD_MB * 1024 * 1024) / VALUE.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async (_, w) => {
      for (let i = next++; i < n; i = next++) await put(conns[w % conns.length]!, `preload/${i.toString().padStart(8, '0')}`);
    }),
  );
}

interface PhaseResult {
  puts: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
}

/** CLIENTS put loops for `seconds`; latencies of every put. */
async function putLoad(conns: Connection[], seconds: number): Promise<PhaseResult> {
  const lat = new Latencies(100_000);
  let max = 0;
  const end = Date.now() + seconds * 1000;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, w) => {
      for (let i = 0; Date.now() < end; i++) {
        const t = performance.now();
        await put(conns[w % conns.length]!, `load/${w}/${i % 1000}`);
        const ms = performance.now() - t;
        lat.add(ms);
        if (ms > max) max = ms;
      }
    }),
  );
  const p = lat.percentiles();
  return { puts: lat.count, seconds: (Date.now() - start) / 1000, p50: p.p50, p99: p.p99, max };
}

/** Snapshot streams back to back until `stop()`: each one read to its end and thrown away. */
function snapshotsBackToBack(c: Connection): { stop(): Promise<{ count: number; avgSeconds: number; bytes: number }> } {
  let stopping = false;
  let count = 0;
  let bytes = 0;
  let total = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const t = Date.now();
      let size = 0;
      const call = c.maintenance.snapshot({});
      call.on('data', (m: SnapshotResponse) => (size += m.blob.length));
      call.on('error', reject);
      call.on('end', () => {
        count++;
        bytes = size;
        total += Date.now() - t;
        resolve();
      });
    });
  const loop = (async () => {
    while (!stopping) await one();
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return { count, avgSeconds: count === 0 ? 0 : total / count / 1000, bytes };
    },
  };
}

/** The newest revision the store's object names say a restore reaches (fulls and deltas). */
function storeReaches(root: string): number {
  let best = 0;
  const walk = (dir: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(join(dir, e.name), `${rel}${e.name}/`);
      else if (!e.name.startsWith('.')) {
        const ref = parseName(`${rel}${e.name}`);
        if (ref?.kind === 'full') best = Math.max(best, ref.revision);
        if (ref?.kind === 'delta') best = Math.max(best, ref.to);
      }
    }
  };
  walk(root, '');
  return best;
}

async function rpo(t: RunningTarget, work: string): Promise<{ samples: number; p50: number; p99: number; max: number; writes: number }> {
  const store = join(work, 'store');
  mkdirSync(store);
  const keyFile = join(work, 'backup.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'));
  const agent = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'etcd-operator.js'), 'backup-agent', '--endpoints', t.endpoints.join(','), '--store', store, '--key-file', keyFile, '--delta-period', DELTA_PERIOD, '--metrics-address', '0', '--scratch-dir', work],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let agentErr = '';
  agent.stderr.on('data', (b: Buffer) => (agentErr = (agentErr + b.toString()).slice(-4000)));
  const [c] = connectMany(t.endpoints, 1);
  // acknowledged writes in revision order: [revision, ack time]
  const acks: Array<[number, number]> = [];
  let writing = true;
  const writer = (async () => {
    const every = 1000 / RATE;
    let due = Date.now();
    for (let i = 0; writing; i++) {
      const rev = await put(c!, `rpo/${i % 10_000}`, Buffer.from(String(Date.now())));
      acks.push([rev, Date.now()]);
      due += every;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  const samples = new Latencies(1000);
  let max = 0;
  try {
    // the first full must be in the store before the RPO is defined
    const ready = Date.now() + 60_000;
    while (storeReaches(store) === 0) {
      if (Date.now() > ready || agent.exitCode !== null) throw new Error(`the agent wrote nothing: ${agentErr.trim()}`);
      await sleep(200);
    }
    const end = Date.now() + RPO_SECONDS * 1000;
    while (Date.now() < end) {
      await sleep(500);
      const reach = storeReaches(store);
      // newest acknowledged write a restore reaches (acks are in revision order: one writer)
      let lo = 0;
      let hi = acks.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (acks[mid]![0] <= reach) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (found < 0) continue;
      // nothing acknowledged after it: nothing would be lost
      const age = found === acks.length - 1 ? 0 : (Date.now() - acks[found]![1]) / 1000;
      samples.add(age);
      if (age > max) max = age;
    }
  } finally {
    writing = false;
    await writer;
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode !== null ? r(undefined) : agent.once('exit', r)));
    closeAll([c!]);
  }
  const p = samples.percentiles();
  return { samples: samples.count, p50: p.p50, p99: p.p99, max, writes: acks.length };
}

function defaultTargets(all: readonly TargetSpec[]): TargetSpec[] {
  const node = all.filter((t) => !t.real);
  const newestReal = all.filter((t) => t.real).at(-1);
  return [...node, ...(newestReal ? [newestReal] : [])];
}

async function main(): Promise<number> {
  installCleanup();
  const all = discoverTargets();
  const targets = process.env['BENCH_TARGETS'] ? selectTargets(all, process.env['BENCH_TARGETS']) : defaultTargets(all);
  if (targets.length === 0) {
    console.error('bench:backup: no server found (npm run build for etcd-node; Debian etcd or scripts/build-tools.sh etcd)');
    return 1;
  }
  console.log(`bench:backup: ${targets.map((t) => t.label).join(', ')}; ${MEMBERS} member(s); ${PRELOAD_MB} MiB preloaded; ${CLIENTS} put clients, 1 KiB values; delta period ${DELTA_PERIOD}, ${RATE} writes/s for ${RPO_SECONDS} s`);
  const cost: string[] = [];
  const rpoRows: string[] = [];
  for (const spec of targets) {
    const runDir = makeRunDir();
    try {
      const t = await startTarget(spec, MEMBERS, runDir);
      const conns = connectMany(t.endpoints, 4);
      try {
        process.stdout.write(`${spec.label}: preloading… `);
        await preload(conns);
        await putLoad(conns, 3); // warm-up
        process.stdout.write('put load alone… ');
        const alone = await putLoad(conns, PHASE_SECONDS);
        process.stdout.write('with snapshots… ');
        const snaps = snapshotsBackToBack(conns[3]!);
        const during = await putLoad(conns, PHASE_SECONDS);
        const s = await snaps.stop();
        process.stdout.write('RPO… ');
        const r = await rpo(t, runDir);
        console.log('done');
        cost.push(
          `| ${spec.label} | ${f(alone.p50)} / ${f(alone.p99)} / ${f(alone.max)} | ${Math.round(alone.puts / alone.seconds)} | ` +
            `${f(during.p50)} / ${f(during.p99)} / ${f(during.max)} | ${Math.round(during.puts / during.seconds)} | ${s.count} × ${(s.bytes / 1048576).toFixed(1)} MiB, ${s.avgSeconds.toFixed(2)} s each |`,
        );
        rpoRows.push(`| ${spec.label} | ${DELTA_PERIOD} | ${r.writes} | ${r.samples} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} |`);
      } finally {
        closeAll(conns);
        await t.stop();
      }
    } catch (err) {
      console.log(`\n${spec.label}: ${err instanceof Error ? err.message : String(err)}`);
      cost.push(`| ${spec.label} | failed: ${err instanceof Error ? err.message.replace(/\|/g, '/') : String(err)} | | | | |`);
    } finally {
      removeRunDir(runDir);
    }
  }
  console.log('\nPut latency (ms, p50 / p99 / max) and throughput, alone and while full snapshots stream back to back:\n');
  console.log('| server | alone | puts/s | during snapshots | puts/s | snapshots |');
  console.log('|---|---|---|---|---|---|');
  for (const l of cost) console.log(l);
  console.log('\nRPO: age (s) of the newest acknowledged write a restore could reach, sampled every 500 ms from the store:\n');
  console.log('| server | delta period | writes | samples | p50 s | p99 s | max s |');
  console.log('|---|---|---|---|---|---|---|');
  for (const l of rpoRows) console.log(l);
  return rpoRows.length > 0 ? 0 : 1;
}

process.exitCode = await main();
