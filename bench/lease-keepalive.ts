// The lease keep-alive case: every client holds its own lease and a LeaseKeepAlive stream, and sends
// a keep-alive as soon as the previous one is answered (what a busy Kubernetes node's kubelet leases
// and etcd's `benchmark lease-keepalive` exercise). Reports keep-alives/s and their latency.
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { LeaseClient, LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { describeError, resultOf, type CaseResult } from './case-result.js';
import { closeAll, connectMany } from './connections.js';
import { Latencies } from './latencies.js';

export interface LeaseLoad {
  readonly endpoints: readonly string[];
  readonly clients: number;
  readonly conns: number;
  readonly total: number;
  readonly maxSeconds: number;
  readonly stallSeconds: number;
}

type KeepAliveStream = ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>;

const grant = (lease: LeaseClient): Promise<bigint> =>
  new Promise((res, rej) => lease.leaseGrant({ TTL: 120n, ID: 0n }, (err, r) => (err ? rej(err) : res(r.ID))));

export async function runLeaseKeepAlive(load: LeaseLoad): Promise<CaseResult> {
  const conns = connectMany(load.endpoints, load.conns);
  const streams: KeepAliveStream[] = [];
  const leaseOf = (c: number): LeaseClient => conns[c % conns.length]!.lease;
  let ids: bigint[];
  try {
    ids = await Promise.all(Array.from({ length: load.clients }, (_, c) => grant(leaseOf(c))));
  } catch (err) {
    closeAll(conns);
    return { requests: 0, opsPerSec: 0, errors: 1, note: `lease grant: ${describeError(err)}` };
  }
  const lat = new Latencies(load.total);
  let issued = 0;
  let answered = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const stopAt = t0 + load.maxSeconds * 1000;
  let lastAnswer = t0;
  try {
    const note = await new Promise<string | undefined>((resolve) => {
      let idle = 0;
      let finished = false;
      const finish = (why?: string): void => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        resolve(why ?? firstError);
      };
      const watchdog = setInterval(() => {
        if (performance.now() - lastAnswer > load.stallSeconds * 1000) finish(`stalled: ${issued - answered} keep-alives unanswered`);
      }, 1000);
      for (let c = 0; c < load.clients; c++) {
        const req: LeaseKeepAliveRequest = { ID: ids[c]! };
        const stream = leaseOf(c).leaseKeepAlive();
        streams.push(stream);
        let start = 0;
        let done = false;
        const next = (): void => {
          if (issued >= load.total || finished || lastAnswer > stopAt) {
            done = true;
            if (++idle === load.clients) finish(lastAnswer > stopAt ? `stopped after ${load.maxSeconds} s` : undefined);
            return;
          }
          issued++;
          start = performance.now();
          stream.write(req);
        };
        stream.on('data', (r: LeaseKeepAliveResponse) => {
          lastAnswer = performance.now();
          answered++;
          // TTL ≤ 0 means the lease is gone: an error, as etcd's client treats it
          if (r.TTL <= 0n) {
            errors++;
            firstError ??= 'keep-alive answered with TTL ≤ 0 (lease not found)';
          } else {
            lat.add(lastAnswer - start);
          }
          next();
        });
        stream.on('error', (err: ServiceError) => {
          if (err.code === status.CANCELLED || done) return; // our own cancel at the end
          errors++;
          firstError ??= describeError(err);
          done = true;
          if (++idle === load.clients) finish();
        });
        next();
      }
    });
    return resultOf(lat, (performance.now() - t0) / 1000, errors, note);
  } finally {
    for (const s of streams) s.cancel();
    await Promise.all(
      ids.map((ID, c) => new Promise<void>((res) => leaseOf(c).leaseRevoke({ ID }, () => res()))),
    );
    closeAll(conns);
  }
}
