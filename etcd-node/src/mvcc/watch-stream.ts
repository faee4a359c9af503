// The watchers of one client stream: watch ids, and the sink their results go to. The API layer owns
// the sink (a gRPC stream, a gateway response) and says when it is full: a full sink's watchers stop
// taking live events and are caught up from the backend once it drains, so a slow reader costs a
// bounded buffer and never holds up the apply loop.
import type { Event } from '../gen/mvccpb/kv.js';
import type { WatchableStore } from './watchable-store.js';
import { Watcher, type WatchOptions } from './watcher.js';

export interface WatchResult {
  /** etcd's int64 watch id: a client may choose any, beyond 2^53 too */
  watchId: bigint;
  /** all events of whole revisions, oldest first; empty for a progress notification */
  events: Event[];
  /** the revision the result brings the watcher up to (etcd's response header revision) */
  revision: number;
  /** set when the watcher was canceled because its start revision has been compacted */
  compactRevision?: number;
}

export interface WatchSink {
  /** true while the consumer holds as much as it should: live events then wait in the backend */
  isFull(): boolean;
  send(result: WatchResult): void;
}

export type WatchErrorCode = 'DUPLICATE_ID' | 'EMPTY_RANGE' | 'CLOSED';

export class WatchError extends Error {
  constructor(
    readonly code: WatchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WatchError';
  }
}

export class WatchStream {
  private readonly watchers = new Map<bigint, Watcher>();
  private nextId = 0n;
  private closed = false;
  /** watchers of this stream in the store's unsynced set (kept by WatchableStore) */
  unsynced = 0;
  /** called when the last unsynced watcher of this stream has caught up */
  onAllSynced: (() => void) | undefined;

  constructor(
    private readonly ws: WatchableStore,
    readonly sink: WatchSink,
  ) {}

  /** Creates a watcher and returns its id; throws WatchError with etcd's reason. */
  watch(o: WatchOptions): bigint {
    if (this.closed) throw new WatchError('CLOSED', 'mvcc: watch stream is closed');
    if (o.end !== undefined && o.end.length > 0 && Buffer.compare(o.key, o.end) >= 0) {
      throw new WatchError('EMPTY_RANGE', 'mvcc: watcher range is empty');
    }
    let id = o.id;
    if (id === 0n) {
      while (this.watchers.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watchers.has(id)) {
      throw new WatchError('DUPLICATE_ID', 'mvcc: duplicate watch ID provided on the WatchStream');
    }
    const w = new Watcher(this, id, Buffer.from(o.key), o.end && Buffer.from(o.end), 0, o.noPut, o.noDelete, o.prevKv);
    this.watchers.set(id, w);
    this.ws.add(w, o.startRev);
    return id;
  }

  /** Removes a watcher; false when the stream has no watcher with that id. */
  cancel(id: bigint): boolean {
    const w = this.watchers.get(id);
    if (!w) return false;
    this.watchers.delete(id);
    this.ws.remove(w);
    return true;
  }

  /** Forgets a watcher the store removed by itself (its start revision was compacted). */
  dropped(w: Watcher): void {
    if (this.watchers.get(w.id) === w) this.watchers.delete(w.id);
  }

  has(id: bigint): boolean {
    return this.watchers.has(id);
  }

  get size(): number {
    return this.watchers.size;
  }

  /** every watcher of the stream has been sent every event up to the store's current revision */
  get allSynced(): boolean {
    return this.unsynced === 0;
  }

  /** Sends an empty result at the current revision for a synced watcher (progress notify); false otherwise. */
  progress(id: bigint): boolean {
    const w = this.watchers.get(id);
    if (!w?.synced) return false;
    this.sink.send({ watchId: id, events: [], revision: this.ws.currentRevision });
    return true;
  }

  /** The sink drained: its watchers may catch up now. */
  drained(): void {
    if (this.unsynced > 0) this.ws.kickSync();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) this.ws.remove(w);
    this.watchers.clear();
    this.onAllSynced = undefined;
  }
}
