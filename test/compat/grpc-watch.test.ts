// The Watch stream over raw gRPC, side by side: the same script of requests against etcd-node and a
// real etcd, and every response the two send must be the same (only cluster id, member id and raft
// term are hidden). This pins down what etcdctl does not print: created/canceled replies, refused
// creates and their reasons, cancel, progress requests and notifications, compaction, filters,
// prev_kv, fragments.
import assert from 'node:assert/strict';
import { credentials, Metadata } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import {
  AuthClient,
  KVClient,
  WatchClient,
  WatchCreateRequest_FilterType as Filter,
  type WatchCreateRequest,
  type WatchRequest,
  type WatchResponse,
} from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import { Event_EventType } from '../../etcd-node/src/gen/mvccpb/kv.js';
import { etcdctl } from '../support/etcdctl.js';
import { startServer, skipUnless, type RunningServer } from '../support/servers.js';

const MAX_REQUEST_BYTES = 2000;
const b = (s: string): Buffer => Buffer.from(s);

/** A response as comparable text: everything but the ids and term of the header. */
function show(r: WatchResponse): string {
  const parts = [`id=${r.watchId}`, `rev=${r.header?.revision ?? 'none'}`];
  if (r.created) parts.push('created');
  if (r.canceled) parts.push('canceled');
  if (r.compactRevision !== 0n) parts.push(`compact=${r.compactRevision}`);
  if (r.cancelReason !== '') parts.push(`reason=${JSON.stringify(r.cancelReason)}`);
  if (r.fragment) parts.push('fragment');
  if (r.events.length > 4) {
    const first = r.events[0]!.kv!;
    const last = r.events.at(-1)!.kv!;
    parts.push(`[${r.events.length} events ${first.key.toString()}@m${first.modRevision} .. ${last.key.toString()}@m${last.modRevision}]`);
    return parts.join(' ');
  }
  for (const ev of r.events) {
    const kv = ev.kv!;
    let e = `${ev.type === Event_EventType.PUT ? 'PUT' : 'DEL'} ${kv.key.toString()}=${kv.value.length > 20 ? `<${kv.value.length} bytes>` : kv.value.toString()} c${kv.createRevision} m${kv.modRevision} v${kv.version}`;
    if (ev.prevKv) e += ` prev=${ev.prevKv.value.length > 20 ? `<${ev.prevKv.value.length} bytes>` : ev.prevKv.value.toString()}@${ev.prevKv.modRevision}`;
    parts.push(`[${e}]`);
  }
  return parts.join(' ');
}

class Conn {
  readonly kv: KVClient;
  private readonly watch: WatchClient;
  private readonly stream;
  private readonly got: WatchResponse[] = [];
  private waiter: (() => void) | undefined;
  readonly transcript: string[] = [];

  constructor(endpoint: string, token?: string) {
    this.kv = new KVClient(endpoint, credentials.createInsecure());
    this.watch = new WatchClient(endpoint, credentials.createInsecure());
    const md = new Metadata();
    if (token !== undefined) md.set('token', token);
    this.stream = this.watch.watch(md);
    this.stream.on('data', (r: WatchResponse) => {
      this.got.push(r);
      this.waiter?.();
    });
    this.stream.on('error', () => undefined);
  }

  send(req: Partial<WatchRequest>, note: string): void {
    this.transcript.push(`> ${note}`);
    this.stream.write({ createRequest: undefined, cancelRequest: undefined, progressRequest: undefined, ...req });
  }

  create(c: Partial<WatchCreateRequest>, note: string): void {
    const req: WatchCreateRequest = {
      key: b(''),
      rangeEnd: b(''),
      startRevision: 0n,
      progressNotify: false,
      filters: [],
      prevKv: false,
      watchId: 0n,
      fragment: false,
      ...c,
    };
    this.send({ createRequest: req }, `create ${note}`);
  }

  /**
   * Waits for n more responses (fails after timeoutMs), then for quietMs in which nothing else may come.
   * `unordered`: responses of different watchers for one revision come in no fixed order (etcd
   * iterates a Go map), so they are sorted.
   */
  async expect(n: number, timeoutMs = 5000, quietMs = 150, unordered = false): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.got.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiter = () => {
          clearTimeout(t);
          res();
        };
      });
      this.waiter = undefined;
    }
    await new Promise((r) => setTimeout(r, quietMs));
    const lines = this.got.splice(0).map((r) => `< ${show(r)}`);
    this.transcript.push(...(unordered ? lines.sort() : lines));
  }

  put(key: string, value: string | Buffer): Promise<void> {
    return new Promise((res, rej) =>
      this.kv.put({ key: b(key), value: typeof value === 'string' ? b(value) : value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }, (e) =>
        e ? rej(e) : res(),
      ),
    );
  }

  del(key: string): Promise<void> {
    return new Promise((res, rej) => this.kv.deleteRange({ key: b(key), rangeEnd: b(''), prevKv: false }, (e) => (e ? rej(e) : res())));
  }

  compact(rev: bigint): Promise<void> {
    return new Promise((res, rej) => this.kv.compact({ revision: rev, physical: true }, (e) => (e ? rej(e) : res())));
  }

  close(): void {
    this.stream.cancel();
    this.watch.close();
    this.kv.close();
  }
}

/** The script both servers run; returns the transcript of requests and responses. */
async function script(endpoint: string): Promise<string[]> {
  const c = new Conn(endpoint);
  try {
    for (let i = 0; i < 5; i++) await c.put(`k${i}`, `v${i}`); // revs 2..6
    await c.compact(3n);
    c.create({ key: b('k'), startRevision: 2n }, 'key k from compacted rev 2');
    await c.expect(2);
    c.create({ key: b('k'), watchId: 7n }, 'client-chosen id 7');
    c.create({ key: b('k'), watchId: 7n }, 'id 7 again');
    await c.expect(2);
    c.create({ key: b('b'), rangeEnd: b('a') }, 'range b..a');
    await c.expect(1);
    c.send({ cancelRequest: { watchId: 99n } }, 'cancel unknown 99');
    await c.expect(0, 0, 300);
    c.send({ cancelRequest: { watchId: 7n } }, 'cancel 7');
    await c.expect(1);
    // ids are int64: beyond 2^53 (where a double would round 2^53+1 to 2^53) and the largest
    c.create({ key: b('big'), watchId: 9_007_199_254_740_993n }, 'client-chosen id 2^53+1');
    c.create({ key: b('big'), watchId: 9_223_372_036_854_775_807n }, 'client-chosen id 2^63-1');
    await c.expect(2);
    await c.put('big', 'v');
    await c.expect(2, 5000, 150, true); // one revision, two watchers: etcd's order is a Go map's
    c.send({ cancelRequest: { watchId: 9_007_199_254_740_993n } }, 'cancel 2^53+1');
    c.send({ cancelRequest: { watchId: 9_223_372_036_854_775_807n } }, 'cancel 2^63-1');
    await c.expect(2);
    c.send({ progressRequest: {} }, 'progress request');
    await c.expect(1);
    c.create({ key: b('k'), rangeEnd: b('l'), startRevision: 4n, prevKv: true }, 'prefix k from rev 4 with prev_kv');
    await c.expect(2);
    await c.put('k4', 'new');
    await c.expect(1);
    c.create({ key: b('k4'), filters: [Filter.NOPUT] }, 'k4 without puts');
    await c.expect(1);
    await c.put('k4', 'again');
    await c.del('k4');
    await c.expect(3, 5000, 150, true); // the prefix watcher twice, the filtered one once
    c.create({ key: b('k'), rangeEnd: b('\0'), startRevision: 100n }, 'from key k, future rev 100');
    await c.expect(1);
    // fragments: etcd splits a response only past --max-request-bytes + 512 KiB (gRPC's allowance):
    // 300 values of 1900 bytes, caught up in one response, exceed it together
    const big = Buffer.alloc(1900, 'x');
    for (let i = 0; i < 300; i++) await c.put(`f${String(i).padStart(3, '0')}`, big); // revs 10..309
    await c.expect(0, 0, 150); // nobody watches f yet (the from-key watcher starts at k)
    c.create({ key: b('f'), rangeEnd: b('g'), startRevision: 10n, fragment: true }, 'prefix f from rev 10, fragment');
    await c.expect(3);
    c.create({ key: b('f'), rangeEnd: b('g'), startRevision: 10n }, 'prefix f from rev 10, no fragment');
    await c.expect(2);
    c.create({ key: b('quiet'), progressNotify: true }, 'quiet key with progress_notify (interval 1s)');
    await c.expect(2, 5000, 0);
    return c.transcript;
  } finally {
    c.close();
  }
}

/** With auth on: a watch without a token, with a user lacking read access, with one that has it. */
async function authScript(endpoint: string): Promise<string[]> {
  const ctl = async (...args: string[]): Promise<void> => {
    const r = await etcdctl(endpoint, args);
    if (r.code !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  };
  await ctl('user', 'add', 'root:rootpw');
  await ctl('user', 'add', 'alice:alicepw');
  await ctl('role', 'add', 'app');
  await ctl('role', 'grant-permission', 'app', 'read', '--prefix', 'app/');
  await ctl('user', 'grant-role', 'alice', 'app');
  await ctl('auth', 'enable');
  const auth = new AuthClient(endpoint, credentials.createInsecure());
  const token = await new Promise<string>((res, rej) =>
    auth.authenticate({ name: 'alice', password: 'alicepw' }, (e, r) => (e ? rej(e) : res(r?.token ?? ''))),
  );
  auth.close();
  const out: string[] = [];
  for (const [who, tok] of [['anonymous', undefined], ['alice', token], ['bad token', 'not-a-token']] as const) {
    const c = new Conn(endpoint, tok);
    c.create({ key: b('app/x') }, `${who}: app/x`);
    await c.expect(1);
    c.create({ key: b('app/'), rangeEnd: b('app0') }, `${who}: prefix app/`);
    await c.expect(1);
    c.create({ key: b('other') }, `${who}: other`);
    await c.expect(1);
    out.push(...c.transcript);
    c.close();
  }
  await ctl('--user', 'root:rootpw', 'auth', 'disable');
  return out;
}

describe('Watch over raw gRPC: etcd-node answers what etcd answers', skipUnless('etcd', 'etcdctl'), () => {
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  const extraArgs = [`--max-request-bytes=${MAX_REQUEST_BYTES}`, '--experimental-watch-progress-notify-interval=1s'];
  before(async () => {
    [node, etcd] = await Promise.all([startServer({ kind: 'node', extraArgs }), startServer({ kind: 'etcd', extraArgs })]);
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
  });

  it('the same script gets the same responses', async () => {
    const [got, want] = await Promise.all([script(node!.endpoint), script(etcd!.endpoint)]);
    // the reference itself must show what the script is about
    const all = want.join('\n');
    assert.match(all, /compact=3/);
    assert.match(all, /reason="mvcc: duplicate watch ID provided on the WatchStream"/);
    assert.match(all, /^< .* fragment \[/m);
    if (process.env.SHOW) console.log(want.join("\n"));
    assert.deepEqual(got, want);
  });

  it('with auth on, a watch needs read access: refused creates say why, as etcd', async () => {
    const [got, want] = await Promise.all([authScript(node!.endpoint), authScript(etcd!.endpoint)]);
    assert.match(want.join('\n'), /permission denied/);
    assert.deepEqual(got, want);
  });
});
