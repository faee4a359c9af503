// `npm run bench:watch`: server memory with many watchers, etcd-node beside Debian's etcd (when
// installed): RSS at rest, with 10,000 watchers on one stream, and with 1,000 more streams (one watcher
// each, over 10 connections); then one write that every stream's watcher sees, and how long until the
// last stream got it. It prints figures and never fails on them.
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { KVClient, WatchClient, type WatchRequest, type WatchResponse } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { findTool, startServer, type RunningServer } from '../test/support/servers.js';

const WATCHERS_ON_ONE_STREAM = 10_000;
const STREAMS = 1_000;
const CONNECTIONS = 10;

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function create(s: ClientDuplexStream<WatchRequest, WatchResponse>, key: string): void {
  s.write({
    createRequest: { key: Buffer.from(key), rangeEnd: Buffer.alloc(0), startRevision: 0n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false },
  });
}

async function measure(server: RunningServer): Promise<string[]> {
  const rows: string[] = [];
  const pid = server.pid();
  rows.push(`at rest: ${rssMiB(pid).toFixed(0)} MiB`);
  const clients = Array.from({ length: CONNECTIONS }, (_, i) => new WatchClient(server.endpoint, credentials.createInsecure(), { 'grpc.channel_id': i }));
  let created = 0;
  const big = clients[0]!.watch();
  big.on('data', (r: WatchResponse) => {
    if (r.created) created++;
  });
  for (let i = 0; i < WATCHERS_ON_ONE_STREAM; i++) create(big, `big/${i}`);
  while (created < WATCHERS_ON_ONE_STREAM) await sleep(50);
  await sleep(500);
  rows.push(`${WATCHERS_ON_ONE_STREAM} watchers on one stream: ${rssMiB(pid).toFixed(0)} MiB`);

  let seen = 0;
  const streams: Array<ClientDuplexStream<WatchRequest, WatchResponse>> = [];
  for (let i = 0; i < STREAMS; i++) {
    const s = clients[i % CONNECTIONS]!.watch();
    s.on('data', (r: WatchResponse) => {
      if (r.created) created++;
      if (r.events.length > 0) seen++;
    });
    create(s, 'shared');
    streams.push(s);
  }
  while (created < WATCHERS_ON_ONE_STREAM + STREAMS) await sleep(50);
  await sleep(500);
  rows.push(`+ ${STREAMS} streams (1 watcher each): ${rssMiB(pid).toFixed(0)} MiB`);

  const kv = new KVClient(server.endpoint, credentials.createInsecure());
  const t0 = performance.now();
  await new Promise<void>((res, rej) =>
    kv.put({ key: Buffer.from('shared'), value: Buffer.from('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false }, (e) => (e ? rej(e) : res())),
  );
  while (seen < STREAMS) await sleep(1);
  rows.push(`one put seen by all ${STREAMS} streams after ${(performance.now() - t0).toFixed(1)} ms; RSS ${rssMiB(pid).toFixed(0)} MiB`);
  for (const s of [big, ...streams]) {
    s.on('error', () => undefined); // the cancel below ends them with CANCELLED
    s.cancel();
  }
  kv.close();
  for (const c of clients) c.close();
  return rows;
}

const kinds: Array<'node' | 'etcd'> = findTool('etcd') ? ['node', 'etcd'] : ['node'];
if (kinds.length === 1) console.log("(Debian's etcd not installed: etcd-node only)");
for (const kind of kinds) {
  const server = await startServer({ kind });
  try {
    const rows = await measure(server);
    console.log(`${server.binary}:`);
    for (const r of rows) console.log(`  ${r}`);
  } finally {
    await server.stop();
  }
}
process.exit(0);
