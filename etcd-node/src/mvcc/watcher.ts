// One watcher: what it watches, from which revision, and where its events go. The watchable store
// moves it between its synced group (fed by commits) and its unsynced set (fed from the backend).
import { Event_EventType, type Event } from '../gen/mvccpb/kv.js';
import type { WatchStream } from './watch-stream.js';

export interface WatchOptions {
  /** 0: the stream picks the next free id (etcd's AutoWatchID) */
  id: bigint;
  key: Buffer;
  /** undefined: `key` only; empty: every key >= `key`; otherwise [key, end) */
  end: Buffer | undefined;
  /** <= 0: from the next revision; otherwise every change at or after this revision */
  startRev: number;
  noPut: boolean;
  noDelete: boolean;
  /** fill each event's prevKv (the key's value before the change) */
  prevKv: boolean;
}

export class Watcher {
  /**
   * The lowest revision this watcher has not been sent yet. Invariant: every matching event with a
   * revision below minRev has been handed to the stream's sink, in revision order, exactly once.
   */
  minRev: number;
  /** true while in the store's synced group; false while the backend must catch it up */
  synced = false;
  removed = false;

  constructor(
    readonly stream: WatchStream,
    readonly id: bigint,
    readonly key: Buffer,
    readonly end: Buffer | undefined,
    minRev: number,
    private readonly noPut: boolean,
    private readonly noDelete: boolean,
    readonly prevKv: boolean,
  ) {
    this.minRev = minRev;
  }

  contains(key: Buffer): boolean {
    if (this.end === undefined) return key.equals(this.key);
    if (Buffer.compare(key, this.key) < 0) return false;
    return this.end.length === 0 || Buffer.compare(key, this.end) < 0;
  }

  /** false for an event the filters drop (NOPUT: type 0, NODELETE: type 1) */
  wants(ev: Event): boolean {
    return ev.type === Event_EventType.PUT ? !this.noPut : !this.noDelete;
  }
}
