// Watch over the MVCC store (etcd's watchable store). Watchers live in one of two places:
//
//   synced    every event up to the current revision has been sent; each committed write txn is
//             matched against this group and sent at once, one result per watcher per revision.
//   unsynced  behind: a watcher with an old start revision, or a "victim" whose sink was full when a
//             revision arrived. A sync round reads the missing revisions from the backend in bounded
//             batches (whole revisions only) and moves a watcher to synced once it reaches the
//             current revision.
//
// Both paths run on the event loop between applies (commit callbacks run right after the backend
// batch commits; sync rounds in their own macrotasks), so a watcher never sees a revision twice or
// out of order, and a slow sink never blocks the apply loop: its watchers fall back to the backend.
import type { Event } from '../gen/mvccpb/kv.js';
import type { MvccStore } from './store.js';
import { WatchStream, type WatchSink } from './watch-stream.js';
import type { Watcher } from './watcher.js';
import { WatcherGroup } from './watcher-group.js';

/** Unsynced watchers served per sync round (etcd: maxWatchersPerSync). */
const MAX_WATCHERS_PER_SYNC = 512;
/** Revisions read from the backend per sync round, so one round stays short. */
const MAX_REVS_PER_SYNC = 1000;
/** How often unsynced watchers whose sinks are full are retried (etcd: 100 ms). */
const SYNC_INTERVAL_MS = 100;

export class WatchableStore {
  private readonly synced = new WatcherGroup();
  private readonly unsynced = new Set<Watcher>();
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly store: MvccStore) {
    this.unsubscribe = store.onCommit((rev, events) => this.notify(rev, events));
  }

  get currentRevision(): number {
    return this.store.currentRevision;
  }

  /** number of watchers (synced + unsynced), for metrics */
  get watcherCount(): number {
    return this.synced.size + this.unsynced.size;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  newStream(sink: WatchSink): WatchStream {
    return new WatchStream(this, sink);
  }

  /** @internal (WatchStream.watch) */
  add(w: Watcher, startRev: number): void {
    const cur = this.store.currentRevision;
    if (startRev <= 0 || startRev > cur) {
      w.minRev = Math.max(cur + 1, startRev);
      w.synced = true;
      this.synced.add(w);
    } else {
      w.minRev = startRev;
      this.toUnsynced(w);
      this.kickSync();
    }
  }

  /** @internal (WatchStream.cancel/close) */
  remove(w: Watcher): void {
    if (w.removed) return;
    w.removed = true;
    if (w.synced) this.synced.delete(w);
    else this.leaveUnsynced(w);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
  }

  // ---- live events ----

  private notify(rev: number, events: Event[]): void {
    if (this.synced.size === 0) return;
    const batches = new Map<Watcher, Event[]>();
    for (const ev of events) {
      const key = ev.kv?.key;
      if (!key) continue;
      // one object per event and shape, shared by every watcher: the gRPC layer encodes it once
      let bare: Event | undefined;
      this.synced.forEachMatch(key, (w) => {
        if (w.minRev > rev || !w.wants(ev)) return;
        let b = batches.get(w);
        if (!b) {
          b = [];
          batches.set(w, b);
        }
        b.push(w.prevKv ? ev : (bare ??= withoutPrevKv(ev)));
      });
    }
    for (const [w, evs] of batches) {
      if (w.stream.sink.isFull()) {
        // a victim: it has not got `rev`; the backend still has it
        this.synced.delete(w);
        w.minRev = rev;
        this.toUnsynced(w);
        this.scheduleSync(SYNC_INTERVAL_MS);
        continue;
      }
      w.minRev = rev + 1;
      w.stream.sink.send({ watchId: w.id, events: evs, revision: rev });
    }
  }

  /** The store was rebuilt from a snapshot: every synced watcher catches up from the backend from the
   *  next revision it has not seen (as etcd moves them all to unsynced on restore). */
  resync(): void {
    for (const w of this.synced.all()) {
      this.synced.delete(w);
      this.toUnsynced(w);
    }
    this.scheduleSync(0);
  }

  // ---- catching up from the backend ----

  /** Runs a sync round soon (a new historical watcher, a drained sink). */
  kickSync(): void {
    if (this.closed || this.immediate || this.unsynced.size === 0) return;
    this.immediate = setImmediate(() => {
      this.immediate = undefined;
      this.syncRound();
    });
  }

  private scheduleSync(ms: number): void {
    if (this.closed || this.timer || this.unsynced.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.syncRound();
    }, ms);
    this.timer.unref();
  }

  private syncRound(): void {
    if (this.closed || this.unsynced.size === 0) return;
    const cur = this.store.currentRevision;
    const compactRev = this.store.compactRevision;
    const batch: Watcher[] = [];
    let minRev = Number.MAX_SAFE_INTEGER;
    for (const w of this.unsynced) {
      if (w.stream.sink.isFull()) continue;
      if (w.minRev < compactRev) {
        // its history is gone: etcd cancels it with the compact revision (no header revision)
        this.remove(w);
        w.stream.dropped(w);
        w.stream.sink.send({ watchId: w.id, events: [], revision: 0, compactRevision: compactRev });
        continue;
      }
      if (w.minRev > cur) {
        this.toSynced(w);
        continue;
      }
      batch.push(w);
      minRev = Math.min(minRev, w.minRev);
      if (batch.length >= MAX_WATCHERS_PER_SYNC) break;
    }
    if (batch.length > 0) {
      const toRev = Math.min(cur, minRev + MAX_REVS_PER_SYNC - 1);
      const events = this.store.rangeEvents(minRev, toRev);
      const group = new WatcherGroup();
      for (const w of batch) group.add(w);
      const perWatcher = new Map<Watcher, Event[]>();
      for (const ev of events) {
        const key = ev.kv?.key;
        if (!key) continue;
        const rev = Number(ev.kv?.modRevision ?? 0n);
        group.forEachMatch(key, (w) => {
          if (rev < w.minRev || !w.wants(ev)) return;
          let list = perWatcher.get(w);
          if (!list) {
            list = [];
            perWatcher.set(w, list);
          }
          list.push(w.prevKv ? this.withPrevKv(ev) : ev);
        });
      }
      for (const w of batch) {
        const evs = perWatcher.get(w);
        if (evs) w.stream.sink.send({ watchId: w.id, events: evs, revision: toRev });
        w.minRev = toRev + 1;
        if (toRev >= cur) this.toSynced(w);
      }
    }
    if (this.unsynced.size === 0) return;
    // more to read for sinks that have room: go on at once (yielding first); the rest wait for drain
    const ready = [...this.unsynced].some((w) => !w.stream.sink.isFull());
    if (ready) this.kickSync();
    else this.scheduleSync(SYNC_INTERVAL_MS);
  }

  /** A backend event with the key's previous value filled in, when history still has it. */
  private withPrevKv(ev: Event): Event {
    const kv = ev.kv;
    if (!kv) return ev;
    const rev = Number(kv.modRevision) - 1;
    if (rev < 1 || rev < this.store.compactRevision) return ev;
    const prev = this.store.range(kv.key, undefined, { rev, limit: 1 }).kvs[0];
    return prev ? { type: ev.type, kv, prevKv: prev } : ev;
  }

  private toUnsynced(w: Watcher): void {
    w.synced = false;
    if (this.unsynced.has(w)) return;
    this.unsynced.add(w);
    w.stream.unsynced++;
  }

  private leaveUnsynced(w: Watcher): void {
    if (!this.unsynced.delete(w)) return;
    w.stream.unsynced--;
    if (w.stream.unsynced === 0) w.stream.onAllSynced?.();
  }

  private toSynced(w: Watcher): void {
    w.synced = true;
    this.synced.add(w);
    this.leaveUnsynced(w);
  }
}

function withoutPrevKv(ev: Event): Event {
  return ev.prevKv === undefined ? ev : { type: ev.type, kv: ev.kv, prevKv: undefined };
}
