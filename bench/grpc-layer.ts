// `npm run bench:grpc-layer`: what the gRPC layer costs etcd-node per call, measured. The same serializable
// Range load goes to three servers on this machine, one after the other:
//   bare node:http2  a minimal gRPC unary server written on node:http2 (length-prefixed message, headers,
//                    data, trailers) that answers every Range with an empty RangeResponse;
//   grpc-js          the same answer from a @grpc/grpc-js server set up as etcd-node's (channelz off);
//   etcd-node        the whole server (gRPC layer, auth check, MVCC read) on one member;
//   etcd x.y         every real etcd found (as `npm run bench` finds them), for the scale.
// The load comes from etcd's Go benchmark tool when scripts/build-tools.sh built it (else from our
// generator, which loads a server less and so shows a higher cost per call). It prints the server CPU per call: the difference between the first two is grpc-js's own cost, the one
// between the last two what etcd-node's handlers add. Figures only; it never fails on one.
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { KVService, RangeRequest, RangeResponse, type KVServer } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { freePorts } from '../test/support/servers.js';
import type { CaseResult } from './case-result.js';
import { envInt, keyShapeFromEnv } from './cases.js';
import { etcdToolAvailable, runEtcdTool } from './etcd-tool.js';
import { runUnary } from './load.js';
import { cpuMeter } from './process-stats.js';
import { discoverTargets, installCleanup, makeRunDir, removeRunDir, startTarget } from './targets.js';

const TOTAL = envInt('BENCH_TOTAL', 30_000);
const WARMUP = envInt('BENCH_WARMUP', 10_000, 0);

const answer: RangeResponse = { header: { clusterId: 1n, memberId: 2n, revision: 5n, raftTerm: 2n }, kvs: [], more: false, count: 0n };

/** The child process: serve Range on `port` with the bare http2 server or grpc-js. */
function serve(kind: string, port: number): void {
  if (kind === 'http2') {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const msg = Buffer.concat(chunks);
        RangeRequest.decode(msg.subarray(5)); // as a real server would
        const body = RangeResponse.encode(answer).finish();
        const frame = Buffer.allocUnsafe(5 + body.length);
        frame[0] = 0;
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame);
      });
    });
    server.listen(port, '127.0.0.1');
    return;
  }
  const server = new Server({ 'grpc.enable_channelz': 0 });
  const impl: Pick<KVServer, 'range'> = { range: (_call, cb) => cb(null, answer) };
  server.addService(KVService, impl);
  server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => {
    if (err) throw err;
  });
}

/** etcd's Go tool when built (it loads a server far harder than our client can on 2 cores), else ours. */
const client = etcdToolAvailable() ? "etcd's benchmark tool" : 'our load generator (bench/load.ts)';

function load(endpoint: string, total: number): Promise<CaseResult> {
  const l = { endpoints: [endpoint], kind: 'range-serializable' as const, clients: 64, conns: 8, total, shape: keyShapeFromEnv() };
  return etcdToolAvailable() ? runEtcdTool({ ...l, timeoutSeconds: 120 }) : runUnary({ ...l, maxSeconds: 60, stallSeconds: 20 });
}

async function measure(endpoint: string, pid: number): Promise<{ opsPerSec: number; cpuUsPerCall: number; errors: number }> {
  if (WARMUP > 0) await load(endpoint, WARMUP);
  const cpu = cpuMeter([pid]);
  const t0 = performance.now();
  const r = await load(endpoint, TOTAL);
  const cores = cpu.stop();
  const seconds = (performance.now() - t0) / 1000;
  return { opsPerSec: r.opsPerSec, cpuUsPerCall: r.requests > 0 ? (cores * seconds * 1e6) / r.requests : 0, errors: r.errors };
}

async function main(): Promise<void> {
  installCleanup();
  const rows: string[] = ['| server | ops/s | server CPU per call | errors |', '|---|---|---|---|'];
  const row = (name: string, m: Awaited<ReturnType<typeof measure>>): void => {
    rows.push(`| ${name} | ${m.opsPerSec.toFixed(0)} | ${m.cpuUsPerCall.toFixed(1)} µs | ${m.errors} |`);
    console.error(rows.at(-1));
  };
  for (const kind of ['http2', 'grpc-js']) {
    const [port] = await freePorts(1);
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve', kind, String(port)], { stdio: 'inherit' });
    try {
      await new Promise((r) => setTimeout(r, 1500)); // a fresh process listening on loopback
      row(kind === 'http2' ? 'bare node:http2' : 'grpc-js', await measure(`127.0.0.1:${port}`, child.pid!));
    } finally {
      child.kill('SIGKILL');
    }
  }
  const targets = discoverTargets();
  if (!targets.some((t) => t.id === 'etcd-node')) throw new Error('etcd-node is not built: run `npm run build`');
  // etcd-node, then every real etcd found, for the scale: a whole etcd Range against the layers above
  for (const spec of targets) {
    const dir = makeRunDir();
    const server = await startTarget(spec, 1, dir);
    try {
      row(spec.label, await measure(server.endpoints[0]!, server.pids[0]!));
    } finally {
      await server.stop();
      removeRunDir(dir);
    }
  }
  console.log(`Serializable Range from ${client}, 64 clients over 8 connections, ${TOTAL} requests after ${WARMUP} to warm up:\n\n${rows.join('\n')}`);
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3] ?? '', Number(process.argv[4]));
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
