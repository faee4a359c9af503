import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Event_EventType, type Event } from '../gen/mvccpb/kv.js';
import { Backend } from '../storage/backend/backend.js';
import { MvccStore } from './store.js';
import { WatchableStore } from './watchable-store.js';
import { WatchError, type WatchResult, type WatchSink } from './watch-stream.js';
import type { WatchOptions } from './watcher.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-watch-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirs = 0;
const b = (s: string): Buffer => Buffer.from(s);

interface Env {
  be: Backend;
  s: MvccStore;
  ws: WatchableStore;
}

function openEnv(): Env {
  const be = Backend.open(path.join(tmpRoot, `w${dirs++}`, 'db'));
  const s = MvccStore.open(be);
  return { be, s, ws: new WatchableStore(s) };
}

async function closeEnv(e: Env): Promise<void> {
  e.ws.close();
  await e.s.close();
  await e.be.close();
}

function put(e: Env, k: string, v: string): number {
  return e.be.batch(() => {
    const t = e.s.write();
    t.put(b(k), b(v), 0n);
    return t.end();
  });
}

function del(e: Env, k: string, end?: string): number {
  return e.be.batch(() => {
    const t = e.s.write();
    t.deleteRange(b(k), end === undefined ? undefined : b(end));
    return t.end();
  });
}

/** A sink that records what it gets and can be made full. */
class Recorder implements WatchSink {
  results: WatchResult[] = [];
  full = false;
  isFull(): boolean {
    return this.full;
  }
  send(r: WatchResult): void {
    this.results.push(r);
  }
  /** "type key=value@rev" per event, for one watch id */
  events(id: bigint): string[] {
    return this.results.filter((r) => r.watchId === id).flatMap((r) => r.events.map(show));
  }
}

function show(ev: Event): string {
  const kv = ev.kv!;
  const t = ev.type === Event_EventType.PUT ? 'PUT' : 'DEL';
  const prev = ev.prevKv ? ` prev=${ev.prevKv.value.toString()}` : '';
  return `${t} ${kv.key.toString()}=${kv.value.toString()}@${kv.modRevision}${prev}`;
}

const opts = (o: Partial<WatchOptions> & { key: Buffer }): WatchOptions => ({
  id: 0n,
  end: undefined,
  startRev: 0,
  noPut: false,
  noDelete: false,
  prevKv: false,
  ...o,
});

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('watchable store', () => {
  it('sends live events of a key, a prefix and a from-key range, with prevKv and filters', async () => {
    const e = openEnv();
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    const one = st.watch(opts({ key: b('a') }));
    const pre = st.watch(opts({ key: b('a'), end: b('b'), prevKv: true }));
    const from = st.watch(opts({ key: b('b'), end: Buffer.alloc(0), noPut: true }));
    assert.deepEqual([one, pre, from], [0n, 1n, 2n]);
    put(e, 'a', '1'); // rev 2
    put(e, 'ab', '2'); // rev 3
    put(e, 'a', '3'); // rev 4
    put(e, 'c', '4'); // rev 5
    del(e, 'a', 'z'); // rev 6: a, ab, c
    assert.deepEqual(rec.events(one), ['PUT a=1@2', 'PUT a=3@4', 'DEL a=@6']);
    assert.deepEqual(rec.events(pre), ['PUT a=1@2', 'PUT ab=2@3', 'PUT a=3@4 prev=1', 'DEL a=@6 prev=3', 'DEL ab=@6 prev=2']);
    assert.deepEqual(rec.events(from), ['DEL c=@6']);
    // one result per watcher per revision, header revision = that revision
    assert.deepEqual(
      rec.results.filter((r) => r.watchId === pre).map((r) => r.revision),
      [2, 3, 4, 6],
    );
    await closeEnv(e);
  });

  it('catches up an old start revision from the backend, then goes live without a gap or a repeat', async () => {
    const e = openEnv();
    for (let i = 0; i < 2500; i++) put(e, `k${i % 10}`, `v${i}`); // revs 2..2501
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    const id = st.watch(opts({ key: b('k3'), prevKv: true, startRev: 5 }));
    assert.equal(st.allSynced, false);
    // writes go on while it catches up (in rounds of at most 1000 revisions)
    for (let i = 2500; i < 2510; i++) {
      put(e, `k${i % 10}`, `v${i}`);
      await turn();
    }
    while (!st.allSynced) await turn();
    put(e, 'k3', 'last');
    const got = rec.events(id);
    const want: string[] = [];
    let prev: string | undefined;
    for (let i = 0; i < 2510; i++) {
      if (i % 10 !== 3 || i + 2 < 5) continue;
      want.push(`PUT k3=v${i}@${i + 2}${prev ? ` prev=${prev}` : ''}`);
      prev = `v${i}`;
    }
    want.push(`PUT k3=last@2512 prev=${prev}`);
    assert.equal(want[0], 'PUT k3=v3@5'); // k3 did not exist before rev 5: no prevKv
    assert.deepEqual(got, want);
    await closeEnv(e);
  });

  it('a full sink turns the watcher into a victim; after the drain it gets every missed revision once, in order', async () => {
    const e = openEnv();
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    const id = st.watch(opts({ key: b('x'), end: b('y') }));
    put(e, 'x1', 'a'); // 2, delivered
    rec.full = true;
    put(e, 'x2', 'b'); // 3: victim
    put(e, 'x3', 'c'); // 4: not live any more
    assert.equal(st.allSynced, false);
    assert.deepEqual(rec.events(id), ['PUT x1=a@2']);
    rec.full = false;
    st.drained();
    while (!st.allSynced) await turn();
    put(e, 'x4', 'd'); // 5, live again
    assert.deepEqual(rec.events(id), ['PUT x1=a@2', 'PUT x2=b@3', 'PUT x3=c@4', 'PUT x4=d@5']);
    await closeEnv(e);
  });

  it('a start revision below the compaction answers compacted and drops the watcher', async () => {
    const e = openEnv();
    for (let i = 0; i < 5; i++) put(e, 'k', `v${i}`); // 2..6
    await e.s.compact(4);
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    const id = st.watch(opts({ key: b('k'), startRev: 2 }));
    await sleep(20);
    assert.deepEqual(rec.results, [{ watchId: id, events: [], revision: 0, compactRevision: 4 }]);
    assert.equal(st.has(id), false);
    // at the compact revision itself history is still there
    const ok = st.watch(opts({ key: b('k'), startRev: 4 }));
    while (!st.allSynced) await turn();
    assert.deepEqual(rec.events(ok), ['PUT k=v2@4', 'PUT k=v3@5', 'PUT k=v4@6']);
    await closeEnv(e);
  });

  it('ids: automatic, client-chosen, duplicate refused, empty range refused; cancel stops events', async () => {
    const e = openEnv();
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    assert.equal(st.watch(opts({ key: b('a'), id: 7n })), 7n);
    assert.equal(st.watch(opts({ key: b('a') })), 0n);
    assert.throws(() => st.watch(opts({ key: b('a'), id: 7n })), (err: unknown) => err instanceof WatchError && err.code === 'DUPLICATE_ID');
    assert.throws(
      () => st.watch(opts({ key: b('b'), end: b('a') })),
      (err: unknown) => err instanceof WatchError && err.message === 'mvcc: watcher range is empty',
    );
    assert.equal(st.cancel(7n), true);
    assert.equal(st.cancel(7n), false);
    // etcd's ids are int64: one beyond 2^53 is kept exactly, not rounded to a neighbour
    const big = 9_007_199_254_740_993n;
    assert.equal(st.watch(opts({ key: b('z'), id: big })), big);
    assert.throws(() => st.watch(opts({ key: b('z'), id: big })), (err: unknown) => err instanceof WatchError && err.code === 'DUPLICATE_ID');
    assert.equal(st.watch(opts({ key: b('z'), id: big + 1n })), big + 1n, 'its neighbour is another watch');
    assert.equal(st.cancel(big), true);
    assert.equal(st.cancel(big + 1n), true);
    put(e, 'a', '1');
    assert.deepEqual(
      rec.results.map((r) => r.watchId),
      [0n],
    );
    st.close();
    put(e, 'a', '2');
    assert.equal(rec.results.length, 1);
    assert.equal(e.ws.watcherCount, 0);
    await closeEnv(e);
  });

  it('a future start revision waits for that revision', async () => {
    const e = openEnv();
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    const id = st.watch(opts({ key: b('f'), startRev: 4 }));
    put(e, 'f', '1'); // 2
    put(e, 'f', '2'); // 3
    put(e, 'f', '3'); // 4
    assert.deepEqual(rec.events(id), ['PUT f=3@4']);
    await closeEnv(e);
  });

  it('10,000 watchers on one stream each get their own key, and closing frees them all', async () => {
    const e = openEnv();
    const rec = new Recorder();
    const st = e.ws.newStream(rec);
    for (let i = 0; i < 10_000; i++) st.watch(opts({ key: b(`key/${i}`) }));
    for (let i = 0; i < 10_000; i += 1000) put(e, `key/${i}`, 'v');
    put(e, 'key', 'prefix-only'); // nobody watches it
    assert.equal(rec.results.length, 10);
    assert.deepEqual(
      rec.results.map((r) => r.watchId),
      [0n, 1000n, 2000n, 3000n, 4000n, 5000n, 6000n, 7000n, 8000n, 9000n],
    );
    st.close();
    assert.equal(e.ws.watcherCount, 0);
    await closeEnv(e);
  });
});
