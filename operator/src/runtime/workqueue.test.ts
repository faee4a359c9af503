// The workqueue keeps the Reconciler contract (reconciler.ts): one reconcile per key at a time, keys
// coalesced, backoff on errors reset by a success, requeueAfter honoured, terminal errors not retried.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalError } from './reconciler.js';
import { WorkQueue, type QueueResult } from './workqueue.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('WorkQueue', () => {
  it('a key added many times while queued is reconciled once; added while running, once more after', async () => {
    const runs: string[] = [];
    let release: () => void = () => undefined;
    const q = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (runs.length === 1) await new Promise<void>((r) => (release = r));
        return {};
      },
      () => undefined,
      1,
    );
    q.add('ns/a');
    await until('the first run', () => runs.length === 1);
    for (let i = 0; i < 5; i++) q.add('ns/a');
    await sleep(30);
    assert.deepEqual(runs, ['ns/a'], 'never two reconciles of one key at once');
    release();
    await until('the second run', () => runs.length === 2);
    await sleep(50);
    assert.deepEqual(runs, ['ns/a', 'ns/a'], 'five adds during the run coalesce into one');
    await q.shutdown();
  });

  it('different keys run side by side up to the concurrency', async () => {
    let active = 0;
    let peak = 0;
    const q = new WorkQueue(
      async () => {
        active++;
        peak = Math.max(peak, active);
        await sleep(40);
        active--;
        return {};
      },
      () => undefined,
      2,
    );
    for (const k of ['a/1', 'a/2', 'a/3', 'a/4']) q.add(k);
    await sleep(20);
    assert.equal(q.depth, 2, 'two wait while two run');
    await until('all done', () => q.depth === 0 && active === 0);
    assert.equal(peak, 2);
    await q.shutdown();
  });

  it('errors retry with doubling backoff; a success resets it; requeueAfterMs looks again', async () => {
    const times: number[] = [];
    const retries: Array<number | undefined> = [];
    const outcomes: Array<'fail' | QueueResult> = ['fail', 'fail', 'fail', { requeueAfterMs: 30 }, 'fail', {}];
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        const o = outcomes.shift();
        if (o === 'fail') throw new Error('the API server did not answer');
        return o ?? {};
      },
      (_key, _err, retry) => retries.push(retry),
    );
    q.add('ns/b');
    await until('six runs', () => times.length === 6, 5000);
    assert.deepEqual(retries, [100, 200, 400, 100], 'backoff doubles, and starts again after a success');
    const gap = (i: number): number => times[i]! - times[i - 1]!;
    assert.ok(gap(1) >= 95 && gap(2) >= 195 && gap(3) >= 395, `waited the backoff: ${[1, 2, 3].map(gap).join(', ')} ms`);
    assert.ok(gap(4) >= 25, `requeueAfterMs 30 honoured: ${gap(4)} ms`);
    await sleep(250);
    assert.equal(times.length, 6, 'a plain success is not run again');
    await q.shutdown();
  });

  it('a terminal error is reported once and not retried; the next add runs the key again', async () => {
    let runs = 0;
    const errors: Array<{ err: unknown; retry: number | undefined }> = [];
    const q = new WorkQueue(
      async () => {
        runs++;
        if (runs === 1) throw new TerminalError('the API server refused the StatefulSet');
        return {};
      },
      (_key, err, retry) => errors.push({ err, retry }),
    );
    q.add('ns/c');
    await until('the first run', () => runs === 1);
    await sleep(300);
    assert.equal(runs, 1, 'not retried');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.retry, undefined);
    assert.ok(errors[0]!.err instanceof TerminalError);
    q.add('ns/c');
    await until('a run after a new add', () => runs === 2);
    await q.shutdown();
  });

  it('shutdown waits for the reconciles in flight and takes no more work', async () => {
    let finished = false;
    let started = 0;
    const q = new WorkQueue(
      async () => {
        started++;
        await sleep(60);
        finished = true;
        return { requeueAfterMs: 10 };
      },
      () => undefined,
    );
    q.add('ns/d');
    await until('the run', () => started === 1);
    await q.shutdown();
    assert.equal(finished, true, 'the run in flight finished before shutdown returned');
    q.add('ns/d');
    await sleep(50);
    assert.equal(started, 1, 'nothing runs after shutdown, not even the requeue');
  });
});
