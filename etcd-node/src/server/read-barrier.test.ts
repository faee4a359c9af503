import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReadState } from '../raft/messages.js';
import { ReadBarrier, type ReadHost } from './read-barrier.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A host that records the read-index requests and lets the test move the applied index. */
function host(): ReadHost & { asked: Uint8Array[]; appliedIndex: number } {
  return { asked: [], appliedIndex: 0, readIndex(ctx) { this.asked.push(ctx); } };
}

const answer = (ctx: Uint8Array, index: number): ReadState => ({ index, requestCtx: ctx });

test('reads that arrive in one turn share one ReadIndex round', async () => {
  const h = host();
  const b = new ReadBarrier(h, 5000);
  h.appliedIndex = 10;
  let done = 0;
  const reads = Array.from({ length: 100 }, () => b.wait().then(() => done++));
  await turn();
  assert.equal(h.asked.length, 1, 'one request for 100 reads');
  assert.equal(done, 0, 'no read goes ahead before the round is answered');
  b.onReadState(answer(h.asked[0]!, 10));
  await Promise.all(reads);
  assert.equal(done, 100);
});

test('reads arriving while a round is out wait for the next round; a round waits for the apply loop', async () => {
  const h = host();
  const b = new ReadBarrier(h, 5000);
  const first = b.wait();
  await turn();
  let secondDone = false;
  const second = b.wait().then(() => (secondDone = true));
  await turn();
  assert.equal(h.asked.length, 1, 'the second read does not start a round of its own while one is out');
  b.onReadState(answer(h.asked[0]!, 7)); // the leader's commit index is 7, this member applied 0
  await turn();
  assert.equal(h.asked.length, 2, 'the waiting read gets the next round');
  let firstDone = false;
  void first.then(() => (firstDone = true));
  await turn();
  assert.equal(firstDone, false, 'not before the apply loop reaches the read index');
  h.appliedIndex = 7;
  b.onApplied(7);
  await first;
  assert.equal(secondDone, false, 'the second round is not answered yet');
  b.onReadState(answer(h.asked[1]!, 7));
  await second;
});

test('an answer to an unknown request is ignored; failAll rejects every read', async () => {
  const h = host();
  const b = new ReadBarrier(h, 5000);
  const r = b.wait();
  await turn();
  b.onReadState(answer(Buffer.from('not-ours'), 1));
  const err = new Error('stopped');
  b.failAll(err);
  await assert.rejects(r, err);
});
