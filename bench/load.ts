// Our load generator for unary requests (put, range, txn-put): `clients` request loops, each waiting for
// its answer before sending the next, spread over `conns` connections, for `total` requests — the model
// of etcd's benchmark tool. A case stops issuing after `maxSeconds` (so a slow server cannot stretch a
// run without end) and gives up when nothing has been answered for `stallSeconds`.
import type { ServiceError } from '@grpc/grpc-js';
import type { KVClient } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { describeError, resultOf, type CaseResult } from './case-result.js';
import type { KeyShape, UnaryKind } from './cases.js';
import { closeAll, connectMany } from './connections.js';
import { keyPicker, putRequests, rangeRequest, RANGE_KEY, txnPutRequest } from './keys.js';
import { Latencies } from './latencies.js';

export interface UnaryLoad {
  readonly endpoints: readonly string[];
  readonly kind: UnaryKind;
  readonly clients: number;
  readonly conns: number;
  readonly total: number;
  readonly shape: KeyShape;
  readonly maxSeconds: number;
  readonly stallSeconds: number;
}

type Done = (err: ServiceError | null) => void;
type Send = (kv: KVClient, done: Done) => void;

/** How one request of the case is sent; the requests are built here, before the clock starts. */
function sender(load: UnaryLoad): Send {
  const pick = keyPicker(load.shape);
  let i = 0;
  switch (load.kind) {
    case 'put': {
      const reqs = putRequests(load.shape);
      return (kv, done) => kv.put(reqs[pick(i++)]!, done);
    }
    case 'txn-put': {
      const reqs = putRequests(load.shape).map(txnPutRequest);
      return (kv, done) => kv.txn(reqs[pick(i++)]!, done);
    }
    case 'range-linearizable':
    case 'range-serializable': {
      const req = rangeRequest(Buffer.from(RANGE_KEY), load.kind === 'range-serializable');
      return (kv, done) => kv.range(req, done);
    }
  }
}

export async function runUnary(load: UnaryLoad): Promise<CaseResult> {
  const conns = connectMany(load.endpoints, load.conns);
  try {
    const send = sender(load);
    // connect every connection (and let the server warm up its handlers) before the clock starts
    const warm = await Promise.all(conns.map((c) => new Promise<ServiceError | null>((res) => send(c.kv, res))));
    const warmError = warm.find((e) => e !== null);
    if (warmError) return { requests: 0, opsPerSec: 0, errors: 1, note: `warm-up: ${describeError(warmError)}` };
    return await drive(load, send, conns.map((c) => c.kv));
  } finally {
    closeAll(conns);
  }
}

function drive(load: UnaryLoad, send: Send, kvs: readonly KVClient[]): Promise<CaseResult> {
  const lat = new Latencies(load.total);
  const t0 = performance.now();
  const stopAt = t0 + load.maxSeconds * 1000;
  let issued = 0;
  let answered = 0;
  let errors = 0;
  let firstError: string | undefined;
  let stoppedEarly = false;
  let idleClients = 0;
  let lastAnswer = t0;
  return new Promise((resolve) => {
    let finished = false;
    const finish = (note?: string): void => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      resolve(resultOf(lat, (performance.now() - t0) / 1000, errors, note ?? firstError));
    };
    const watchdog = setInterval(() => {
      if (performance.now() - lastAnswer > load.stallSeconds * 1000) {
        finish(`stalled: ${issued - answered} requests unanswered for ${load.stallSeconds} s`);
      }
    }, 1000);
    const startClient = (kv: KVClient): void => {
      let start = 0;
      const next = (): void => {
        if (issued >= load.total || finished) {
          if (++idleClients === load.clients) finish(stoppedEarly ? `stopped after ${load.maxSeconds} s` : undefined);
          return;
        }
        if (start !== 0 && lastAnswer > stopAt) {
          stoppedEarly = true;
          issued = load.total;
          next();
          return;
        }
        issued++;
        start = performance.now();
        send(kv, done);
      };
      // one callback per client, made once: no closure per request
      const done: Done = (err) => {
        lastAnswer = performance.now();
        answered++;
        if (err) {
          errors++;
          firstError ??= describeError(err);
        } else {
          lat.add(lastAnswer - start);
        }
        next();
      };
      next();
    };
    for (let w = 0; w < load.clients; w++) startClient(kvs[w % kvs.length]!);
  });
}
