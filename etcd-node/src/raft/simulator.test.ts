// Thousands of random schedules of the deterministic network simulator (simulator.ts), each checking
// every invariant after every step and liveness at the end. Spread over worker threads (node's runner
// runs test files one at a time on a 2-core machine).
//
//   RAFT_SCHEDULES=50000 node --import tsx --test etcd-node/src/raft/simulator.test.ts   more schedules
//   RAFT_SEED_BASE=1000000 …                                                            other seeds
//   RAFT_SEED=123 node --import tsx --test etcd-node/src/raft/simulator.test.ts          replay one, with its trace
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { profileFor, runSchedule, runSeeds, SimFailure, type SeedRange, type SeedsResult } from './simulator.js';

const replaySeed = process.env.RAFT_SEED;
const schedules = Number(process.env.RAFT_SCHEDULES ?? 10_000);
const base = Number(process.env.RAFT_SEED_BASE ?? 0);
const replayCommand = (seed: number): string => `RAFT_SEED=${seed} node --import tsx --test etcd-node/src/raft/simulator.test.ts`;

/** runs a seed range in a worker thread (TypeScript loaded through tsx's API), or here if that fails */
function inWorker(range: SeedRange): Promise<SeedsResult> {
  const simulator = new URL('./simulator.ts', import.meta.url).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('tsx/esm/api')
      .then(({ register }) => { register(); return import(${JSON.stringify(simulator)}); })
      .then(
        ({ runSeeds }) => parentPort.postMessage(runSeeds(workerData)),
        (err) => parentPort.postMessage({ loadError: String(err) }),
      );`;
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(code, { eval: true, workerData: range });
    } catch {
      resolve(runSeeds(range));
      return;
    }
    worker.once('message', (msg: SeedsResult | { loadError: string }) => {
      // Without a TypeScript loader in the worker, run the seeds here (slower, same result).
      if ('loadError' in msg) resolve(runSeeds(range));
      else resolve(msg);
    });
    worker.once('error', reject);
  });
}

if (replaySeed !== undefined) {
  test(`replay seed ${replaySeed}`, () => {
    const seed = Number(replaySeed);
    const profile = profileFor(seed);
    try {
      const stats = runSchedule(seed, { ...profile.config, traceLength: 100_000 });
      console.log(`seed ${seed} (${profile.name}) passed`, stats);
    } catch (err) {
      if (err instanceof SimFailure) console.log(err.message);
      throw err;
    }
  });
} else {
  test(`${schedules} random schedules keep every invariant after every step, and end live`, async (t) => {
    const started = Date.now();
    const threads = Math.max(1, Math.min(availableParallelism(), 4));
    const results = await Promise.all(
      Array.from({ length: threads }, (_, k) => inWorker({ first: base + 1 + k, last: base + schedules, stride: threads })),
    );
    const total: Record<string, number> = {};
    let ran = 0;
    for (const r of results) {
      ran += r.schedules;
      for (const [k, v] of Object.entries(r.stats)) total[k] = (total[k] ?? 0) + v;
    }
    const failures = results.flatMap((r) => r.failures).sort((a, b) => a.seed - b.seed);
    if (failures.length > 0) {
      const f = failures[0]!;
      assert.fail(`seed ${f.seed} (${f.profile}) failed; replay with:\n  ${replayCommand(f.seed)}\n${f.message}`);
    }
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(`${ran} schedules on ${threads} threads in ${seconds.toFixed(1)} s: ${JSON.stringify(total)}`);
    assert.equal(ran, schedules);
    // The schedules did exercise what they are for.
    assert.ok(total.leadersElected! > schedules, 'leaders elected');
    assert.ok(total.maxCommitted! > schedules * 5, 'entries committed');
    assert.ok(total.readsAnswered! > schedules / 2, 'reads answered');
    assert.ok(total.confChanges! > schedules / 4, 'membership changes');
    assert.ok(total.snapshotsSent! > schedules / 10, 'snapshots sent');
    assert.ok(total.crashes! > schedules, 'crashes');
  });

  test('the simulator is deterministic: a seed replays the same run', () => {
    for (const seed of [1, 2, 3, 4, 5]) assert.deepEqual(runSchedule(seed), runSchedule(seed));
  });
}
