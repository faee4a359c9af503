// An in-memory B+tree from binary-string keys to values.
//
// Keys are "binary" strings: a Buffer decoded as latin1, one char per byte (0..255). JavaScript compares
// strings by UTF-16 code unit, so for such strings `<` is exactly bytewise order — etcd's key order —
// and V8 does it inline, far cheaper than a native Buffer.compare per step. Use `toKey`/`fromKey`.
//
// Leaves hold up to MAX entries and are chained left to right, so an ordered scan walks leaf arrays
// without touching the inner nodes. Lookups, inserts and deletes are O(log n); an insert moves at most
// MAX array slots. Deletes rebalance (borrow from a sibling, else merge) so the tree stays shallow after
// compaction removes many keys.
//
// Invariants (checked by `check()` in tests):
// - every leaf is at the same depth; a non-root node has at least MIN entries (leaf) / children (inner);
// - inner node: keys.length === children.length - 1, and every key in children[i] is < keys[i] <= every
//   key in children[i + 1];
// - keys inside a node are strictly increasing; the leaf chain visits all keys in increasing order.

const MAX = 64;
const MIN = MAX >> 1;

interface Leaf<V> {
  leaf: true;
  keys: string[];
  vals: V[];
  next: Leaf<V> | null;
}

interface Inner<V> {
  leaf: false;
  keys: string[];
  children: Node<V>[];
}

type Node<V> = Leaf<V> | Inner<V>;

interface Split<V> {
  sep: string;
  right: Node<V>;
}

/** The binary-string form of a key. */
export function toKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** The bytes of a binary-string key. */
export function fromKey(k: string): Buffer {
  return Buffer.from(k, 'latin1');
}

function newLeaf<V>(keys: string[] = [], vals: V[] = []): Leaf<V> {
  return { leaf: true, keys, vals, next: null };
}

/** Index of the first key >= k. */
function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first key > k (= the child to descend into for k in an inner node). */
function upperBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function count<V>(n: Node<V>): number {
  return n.leaf ? n.keys.length : n.children.length;
}

export class BTree<V> {
  private root: Node<V> = newLeaf<V>();
  private n = 0;

  get size(): number {
    return this.n;
  }

  get(key: string): V | undefined {
    const leaf = this.findLeaf(key);
    const i = lowerBound(leaf.keys, key);
    const k = leaf.keys[i];
    return k === key ? leaf.vals[i] : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Inserts or replaces. */
  set(key: string, val: V): void {
    const split = this.insert(this.root, key, val);
    if (split) {
      const root: Inner<V> = { leaf: false, keys: [split.sep], children: [this.root, split.right] };
      this.root = root;
    }
  }

  /** Removes the key; returns whether it was there. */
  delete(key: string): boolean {
    const removed = this.remove(this.root, key);
    if (!this.root.leaf && this.root.children.length === 1) this.root = this.root.children[0]!;
    return removed;
  }

  /**
   * Calls `fn` for each entry with start <= key < end, in key order (`end` undefined: no upper bound).
   * Stops early when `fn` returns false. The tree must not be modified during the walk.
   */
  forRange(start: string, end: string | undefined, fn: (key: string, val: V) => boolean | void): void {
    let leaf: Leaf<V> | null = this.findLeaf(start);
    let i = lowerBound(leaf.keys, start);
    while (leaf) {
      const keys = leaf.keys;
      for (; i < keys.length; i++) {
        const k = keys[i]!;
        if (end !== undefined && k >= end) return;
        if (fn(k, leaf.vals[i]!) === false) return;
      }
      leaf = leaf.next;
      i = 0;
    }
  }

  /** Up to `max` entries with key >= start (or > start when `exclusive`), in key order. */
  collect(start: string, exclusive: boolean, max: number): Array<[string, V]> {
    const out: Array<[string, V]> = [];
    if (max <= 0) return out;
    this.forRange(start, undefined, (k, v) => {
      if (exclusive && k === start) return true;
      out.push([k, v]);
      return out.length < max;
    });
    return out;
  }

  /** All entries in key order (tests, debugging). */
  entries(): Array<[string, V]> {
    return this.collect('', false, Number.MAX_SAFE_INTEGER);
  }

  /** Verifies the structural invariants; throws on violation. For tests. */
  check(): void {
    const leafDepths = new Set<number>();
    let counted = 0;
    const walk = (node: Node<V>, depth: number, lo: string | undefined, hi: string | undefined): void => {
      const isRoot = node === this.root;
      if (!isRoot && count(node) < MIN) throw new Error(`btree: underfull node at depth ${depth}`);
      if (count(node) > MAX) throw new Error('btree: overfull node');
      for (let i = 1; i < node.keys.length; i++) {
        if (node.keys[i - 1]! >= node.keys[i]!) throw new Error('btree: keys out of order');
      }
      for (const k of node.keys) {
        if (lo !== undefined && k < lo) throw new Error('btree: key below separator');
        if (hi !== undefined && k >= hi) throw new Error('btree: key above separator');
      }
      if (node.leaf) {
        if (node.keys.length !== node.vals.length) throw new Error('btree: keys/vals length mismatch');
        leafDepths.add(depth);
        counted += node.keys.length;
        return;
      }
      if (node.keys.length !== node.children.length - 1) throw new Error('btree: inner arity');
      node.children.forEach((c, i) => walk(c, depth + 1, i === 0 ? lo : node.keys[i - 1], i === node.keys.length ? hi : node.keys[i]));
    };
    walk(this.root, 0, undefined, undefined);
    if (leafDepths.size > 1) throw new Error('btree: leaves at different depths');
    if (counted !== this.n) throw new Error(`btree: size ${this.n} but ${counted} entries`);
    let chained = 0;
    let prev: string | undefined;
    let leaf: Leaf<V> | null = this.firstLeaf();
    while (leaf) {
      for (const k of leaf.keys) {
        if (prev !== undefined && prev >= k) throw new Error('btree: leaf chain out of order');
        prev = k;
        chained++;
      }
      leaf = leaf.next;
    }
    if (chained !== this.n) throw new Error('btree: leaf chain misses entries');
  }

  private firstLeaf(): Leaf<V> {
    let node = this.root;
    while (!node.leaf) node = node.children[0]!;
    return node;
  }

  private findLeaf(key: string): Leaf<V> {
    let node = this.root;
    while (!node.leaf) node = node.children[upperBound(node.keys, key)]!;
    return node;
  }

  private insert(node: Node<V>, key: string, val: V): Split<V> | null {
    if (node.leaf) {
      const i = lowerBound(node.keys, key);
      const k = node.keys[i];
      if (k === key) {
        node.vals[i] = val;
        return null;
      }
      node.keys.splice(i, 0, key);
      node.vals.splice(i, 0, val);
      this.n++;
      if (node.keys.length <= MAX) return null;
      const mid = node.keys.length >> 1;
      const right = newLeaf(node.keys.splice(mid), node.vals.splice(mid));
      right.next = node.next;
      node.next = right;
      return { sep: right.keys[0]!, right };
    }
    const ci = upperBound(node.keys, key);
    const split = this.insert(node.children[ci]!, key, val);
    if (!split) return null;
    node.keys.splice(ci, 0, split.sep);
    node.children.splice(ci + 1, 0, split.right);
    if (node.children.length <= MAX) return null;
    const mid = node.children.length >> 1;
    const rightChildren = node.children.splice(mid);
    const rightKeys = node.keys.splice(mid - 1);
    const sep = rightKeys.shift()!;
    return { sep, right: { leaf: false, keys: rightKeys, children: rightChildren } };
  }

  private remove(node: Node<V>, key: string): boolean {
    if (node.leaf) {
      const i = lowerBound(node.keys, key);
      const k = node.keys[i];
      if (k !== key) return false;
      node.keys.splice(i, 1);
      node.vals.splice(i, 1);
      this.n--;
      return true;
    }
    const ci = upperBound(node.keys, key);
    const child = node.children[ci]!;
    if (!this.remove(child, key)) return false;
    if (count(child) < MIN) this.rebalance(node, ci);
    return true;
  }

  /** children[ci] of `parent` fell below MIN: borrow from a sibling that can spare one, else merge. */
  private rebalance(parent: Inner<V>, ci: number): void {
    const child = parent.children[ci]!;
    const left = ci > 0 ? parent.children[ci - 1]! : undefined;
    const right = ci + 1 < parent.children.length ? parent.children[ci + 1]! : undefined;
    if (left && count(left) > MIN) {
      if (child.leaf && left.leaf) {
        child.keys.unshift(left.keys.pop()!);
        child.vals.unshift(left.vals.pop()!);
        parent.keys[ci - 1] = child.keys[0]!;
      } else if (!child.leaf && !left.leaf) {
        child.keys.unshift(parent.keys[ci - 1]!);
        child.children.unshift(left.children.pop()!);
        parent.keys[ci - 1] = left.keys.pop()!;
      }
      return;
    }
    if (right && count(right) > MIN) {
      if (child.leaf && right.leaf) {
        child.keys.push(right.keys.shift()!);
        child.vals.push(right.vals.shift()!);
        parent.keys[ci] = right.keys[0]!;
      } else if (!child.leaf && !right.leaf) {
        child.keys.push(parent.keys[ci]!);
        child.children.push(right.children.shift()!);
        parent.keys[ci] = right.keys.shift()!;
      }
      return;
    }
    if (left) this.merge(parent, ci - 1);
    else if (right) this.merge(parent, ci);
  }

  /** Merges children[li + 1] into children[li]. */
  private merge(parent: Inner<V>, li: number): void {
    const l = parent.children[li]!;
    const r = parent.children[li + 1]!;
    if (l.leaf && r.leaf) {
      for (let i = 0; i < r.keys.length; i++) {
        l.keys.push(r.keys[i]!);
        l.vals.push(r.vals[i]!);
      }
      l.next = r.next;
    } else if (!l.leaf && !r.leaf) {
      l.keys.push(parent.keys[li]!);
      for (const k of r.keys) l.keys.push(k);
      for (const c of r.children) l.children.push(c);
    }
    parent.keys.splice(li, 1);
    parent.children.splice(li + 1, 1);
  }
}
