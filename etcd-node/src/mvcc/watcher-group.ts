// A set of watchers, indexed for "who watches this key?". Single-key watchers (the common case:
// kube-apiserver, locks, elections) are found with one map lookup; range and prefix watchers are kept
// sorted by start key so a lookup stops at the first watcher that starts after the key.
import type { Watcher } from './watcher.js';

/** Map keys for single-key watchers: latin1 maps every byte to one char, so it is lossless. */
export function keyId(key: Buffer): string {
  return key.toString('latin1');
}

export class WatcherGroup {
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  /** `ranges` sorted by start key, rebuilt lazily after a change (lookups far outnumber changes) */
  private sortedRanges: Watcher[] | undefined = [];
  private count = 0;

  /** Every watcher in the group. */
  all(): Watcher[] {
    const out = [...this.ranges];
    for (const set of this.byKey.values()) out.push(...set);
    return out;
  }

  get size(): number {
    return this.count;
  }

  add(w: Watcher): void {
    if (w.end === undefined) {
      const id = keyId(w.key);
      let set = this.byKey.get(id);
      if (!set) {
        set = new Set();
        this.byKey.set(id, set);
      }
      if (set.has(w)) return;
      set.add(w);
    } else {
      if (this.ranges.has(w)) return;
      this.ranges.add(w);
      this.sortedRanges = undefined;
    }
    this.count++;
  }

  delete(w: Watcher): boolean {
    if (w.end === undefined) {
      const id = keyId(w.key);
      const set = this.byKey.get(id);
      if (!set?.delete(w)) return false;
      if (set.size === 0) this.byKey.delete(id);
    } else {
      if (!this.ranges.delete(w)) return false;
      this.sortedRanges = undefined;
    }
    this.count--;
    return true;
  }

  has(w: Watcher): boolean {
    if (w.end === undefined) return this.byKey.get(keyId(w.key))?.has(w) ?? false;
    return this.ranges.has(w);
  }

  /** Calls fn for every watcher whose key or range holds `key`. */
  forEachMatch(key: Buffer, fn: (w: Watcher) => void): void {
    const set = this.byKey.get(keyId(key));
    if (set) for (const w of set) fn(w);
    if (this.ranges.size === 0) return;
    this.sortedRanges ??= [...this.ranges].sort((a, b) => Buffer.compare(a.key, b.key));
    for (const w of this.sortedRanges) {
      if (Buffer.compare(w.key, key) > 0) break;
      if (w.contains(key)) fn(w);
    }
  }

  *[Symbol.iterator](): IterableIterator<Watcher> {
    for (const set of this.byKey.values()) yield* set;
    yield* this.ranges;
  }
}
