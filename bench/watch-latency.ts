// The watch case: watchers on one key spread over a few streams, writers putting to that key; each
// event's latency is the time from its put being sent to a watcher receiving it (the put's number is
// in its value, so events are matched to their put even when a response carries several). Reports
// events/s and event latency percentiles, like etcd's `benchmark watch-latency`.
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { WatchRequest, WatchResponse } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { describeError, resultOf, type CaseResult } from './case-result.js';
import { closeAll, connectMany } from './connections.js';
import { putRequest } from './keys.js';
import { Latencies } from './latencies.js';

export const WATCH_KEY = 'bench-wk';

export interface WatchLoad {
  readonly endpoints: readonly string[];
  readonly conns: number;
  readonly streams: number;
  readonly watchersPerStream: number;
  readonly writers: number;
  /** events to receive in all */
  readonly total: number;
  readonly valueSize: number;
  readonly maxSeconds: number;
  readonly stallSeconds: number;
}

type WatchStream = ClientDuplexStream<WatchRequest, WatchResponse>;

export function watchCreate(key: Buffer): WatchRequest {
  return { createRequest: { key, rangeEnd: Buffer.alloc(0), startRevision: 0n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false } };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runWatch(load: WatchLoad): Promise<CaseResult> {
  const watchers = load.streams * load.watchersPerStream;
  const puts = Math.max(10, Math.ceil(load.total / watchers));
  const conns = connectMany(load.endpoints, load.conns);
  const streams: WatchStream[] = [];
  const lat = new Latencies(puts * watchers);
  const sentAt = new Float64Array(puts);
  let created = 0;
  let received = 0;
  let lastEvent = 0;
  let streamError: string | undefined;
  const onResponse = (r: WatchResponse): void => {
    if (r.created) created++;
    if (r.events.length === 0) return;
    const now = performance.now();
    for (const ev of r.events) {
      const n = ev.kv?.value.readUInt32LE(0) ?? puts;
      if (n < puts) {
        lat.add(now - sentAt[n]!);
        received++;
      }
    }
    lastEvent = now;
  };
  try {
    const key = Buffer.from(WATCH_KEY);
    for (let s = 0; s < load.streams; s++) {
      const stream = conns[s % conns.length]!.watch.watch();
      stream.on('data', onResponse);
      stream.on('error', (err: ServiceError) => {
        if (err.code !== status.CANCELLED) streamError ??= describeError(err); // our own cancel at the end
      });
      for (let w = 0; w < load.watchersPerStream; w++) stream.write(watchCreate(key));
      streams.push(stream);
    }
    const createBy = performance.now() + load.stallSeconds * 1000;
    while (created < watchers && streamError === undefined && performance.now() < createBy) await sleep(10);
    if (created < watchers) {
      return { requests: 0, opsPerSec: 0, errors: watchers - created, note: streamError ?? `only ${created}/${watchers} watchers created` };
    }

    // values carry the put's number in their first 4 bytes; built before the clock starts
    const values = Array.from({ length: puts }, (_, n) => {
      const v = Buffer.alloc(Math.max(4, load.valueSize), 'v');
      v.writeUInt32LE(n, 0);
      return putRequest(key, v);
    });
    const t0 = performance.now();
    const stopAt = t0 + load.maxSeconds * 1000;
    let next = 0;
    let putErrors = 0;
    let putsDone = 0;
    let firstError: string | undefined;
    const kvs = conns.map((c) => c.kv);
    await Promise.all(
      Array.from({ length: load.writers }, (_, w) => new Promise<void>((resolve) => {
        const kv = kvs[w % kvs.length]!;
        const one = (): void => {
          if (next >= puts || performance.now() > stopAt) {
            resolve();
            return;
          }
          const n = next++;
          sentAt[n] = performance.now();
          kv.put(values[n]!, (err) => {
            putsDone++;
            if (err) {
              putErrors++;
              firstError ??= describeError(err);
            }
            one();
          });
        };
        one();
      })),
    );
    const expected = (putsDone - putErrors) * watchers;
    let waitedSince = performance.now();
    let lastCount = received;
    while (received < expected && streamError === undefined) {
      await sleep(5);
      if (received !== lastCount) {
        lastCount = received;
        waitedSince = performance.now();
      } else if (performance.now() - waitedSince > load.stallSeconds * 1000) {
        break;
      }
    }
    const missing = Math.max(0, expected - received);
    const note = streamError ?? firstError ?? (missing > 0 ? `${missing} events never arrived` : next < puts ? `stopped after ${load.maxSeconds} s` : undefined);
    return resultOf(lat, (Math.max(lastEvent, t0) - t0) / 1000, putErrors + missing, note);
  } finally {
    for (const s of streams) s.cancel();
    closeAll(conns);
  }
}
