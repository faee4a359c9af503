// A small load generator over @grpc/grpc-js with our generated etcd v3 client: `clients` concurrent
// request loops spread over `conns` connections, for a fixed number of requests. Reports ops/s and
// latency percentiles. Used by `npm run bench`; never asserts on a figure.
import { credentials } from '@grpc/grpc-js';
import { KVClient, type PutRequest, type RangeRequest } from '../etcd-node/src/gen/etcdserverpb/rpc.js';

export interface LoadSpec {
  readonly endpoint: string;
  readonly op: 'put' | 'range-linearizable' | 'range-serializable';
  readonly clients: number;
  readonly conns: number;
  readonly total: number;
  readonly valueSize: number;
}

export interface LoadResult {
  readonly opsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly errors: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const conns = Array.from(
    { length: spec.conns },
    (_, i) => new KVClient(spec.endpoint, credentials.createInsecure(), { 'grpc.channel_id': i }),
  );
  const value = Buffer.alloc(spec.valueSize, 'v');
  const latencies: number[] = [];
  let issued = 0;
  let errors = 0;
  const one = (c: KVClient, n: number): Promise<void> =>
    new Promise((resolve) => {
      const key = Buffer.from(`bench/${(n % 100000).toString().padStart(6, '0')}`);
      const start = process.hrtime.bigint();
      const done = (err: unknown): void => {
        if (err) errors++;
        latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
        resolve();
      };
      if (spec.op === 'put') {
        const req: PutRequest = { key, value, lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false };
        c.put(req, (err) => done(err));
      } else {
        const req: RangeRequest = {
          key: Buffer.from('bench/000001'), rangeEnd: Buffer.alloc(0), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0,
          serializable: spec.op === 'range-serializable', keysOnly: false, countOnly: false,
          minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n,
        };
        c.range(req, (err) => done(err));
      }
    });
  const worker = async (w: number): Promise<void> => {
    const c = conns[w % conns.length]!;
    while (issued < spec.total) {
      const n = issued++;
      await one(c, n);
    }
  };
  // warm the connections
  await Promise.all(conns.map((c) => one(c, 1)));
  latencies.length = 0;
  errors = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: spec.clients }, (_, w) => worker(w)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const c of conns) c.close();
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { opsPerSec: latencies.length / secs, p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), errors };
}
