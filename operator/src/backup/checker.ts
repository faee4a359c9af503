// The store checker (`etcd-operator backup check`, and the tests): reads a cluster's chains from the
// store alone, verifies every object (checksums, header against name, contents against header), the
// chain's continuity (holes, overlaps, deltas no full reaches), and — given the cluster's endpoints —
// compares every recorded revision with the cluster's own history, event by event, as a watch from the
// first recorded revision replays it (revisions the cluster has compacted cannot be compared, and are
// counted as such).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { analyzeChain, type Range } from '../../../etcd-node/src/backup/chain.js';
import type { BackupKeyring } from '../../../etcd-node/src/backup/keys.js';
import { clusterRoot, parseName, type ChainLocation, type DeltaRef, type ObjectRef } from '../../../etcd-node/src/backup/names.js';
import { readDelta, readFull } from '../../../etcd-node/src/backup/read-objects.js';
import type { ObjectStore } from '../../../etcd-node/src/backup/store/store.js';
import type { BackupRevision } from '../../../etcd-node/src/gen/etcdtspb/backup.js';
import { Event_EventType, type Event } from '../../../etcd-node/src/gen/mvccpb/kv.js';
import type { EtcdSource } from './etcd-source.js';

export interface ChainCheck {
  clusterId: string;
  fulls: number;
  deltas: number;
  reachable: Range[];
  gaps: Range[];
  latest?: { revision: number; time: number };
  /** revisions recorded in deltas */
  revisions: number;
  /** with a cluster to compare with: revisions compared equal, and those the cluster no longer has */
  history?: { compared: number; compactedBefore?: number };
  errors: string[];
  warnings: string[];
}

export interface CheckReport {
  chains: ChainCheck[];
  objects: number;
  bytes: number;
  ok: boolean;
}

export interface CheckOptions {
  store: ObjectStore;
  location: ChainLocation;
  keys: BackupKeyring | undefined;
  scratchDir: string;
  /** the revision a snapshot file holds */
  snapshotRevision: (file: string) => Promise<number>;
  /** only this chain (cluster id); all of the cluster's chains when unset */
  clusterId?: string;
  /** compare with this cluster's history (it must be the chain's cluster) */
  source?: EtcdSource;
}

export async function checkStore(o: CheckOptions): Promise<CheckReport> {
  const listed = await o.store.list(clusterRoot(o.location));
  const byChain = new Map<string, ObjectRef[]>();
  let bytes = 0;
  for (const l of listed) {
    const ref = parseName(l.name, l.size);
    if (!ref || (o.clusterId && ref.clusterId !== o.clusterId)) continue;
    bytes += l.size;
    byChain.set(ref.clusterId, [...(byChain.get(ref.clusterId) ?? []), ref]);
  }
  const chains: ChainCheck[] = [];
  for (const [clusterId, refs] of byChain) chains.push(await checkChain(o, clusterId, refs));
  return { chains, objects: [...byChain.values()].reduce((n, r) => n + r.length, 0), bytes, ok: chains.every((c) => c.errors.length === 0) };
}

async function checkChain(o: CheckOptions, clusterId: string, refs: ObjectRef[]): Promise<ChainCheck> {
  const view = analyzeChain(refs);
  const c: ChainCheck = { clusterId, fulls: view.fulls.length, deltas: view.deltas.length, reachable: view.reachable, gaps: view.gaps, revisions: 0, errors: [], warnings: [] };
  if (view.latest) c.latest = view.latest;
  for (const [a, b] of view.overlaps) c.errors.push(`${b.name} overlaps ${a.name} (revisions ${b.from}–${Math.min(a.to, b.to)} twice)`);
  for (const g of view.gaps) c.warnings.push(`revisions ${g.from}–${g.to} cannot be restored (no object covers them)`);
  for (const d of view.orphans) c.warnings.push(`${d.name}: no full snapshot reaches it`);
  if (view.fulls.length === 0) c.errors.push('no full snapshot: nothing can be restored');
  const dir = await mkdtemp(join(o.scratchDir, 'check-'));
  try {
    for (const f of view.fulls) {
      try {
        await readFull(o.store, f, o.keys, join(dir, 'full.db'), o.snapshotRevision);
      } catch (err) {
        c.errors.push(err instanceof Error ? err.message : String(err));
      }
      await rm(join(dir, 'full.db'), { force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const history = o.source && view.deltas.length > 0 ? new HistoryReader(o.source, view.deltas[0]!.from) : undefined;
  try {
    for (const d of view.deltas) {
      let revisions: BackupRevision[];
      try {
        revisions = (await readDelta(o.store, d, o.keys)).revisions;
      } catch (err) {
        c.errors.push(err instanceof Error ? err.message : String(err));
        continue;
      }
      c.revisions += revisions.length;
      if (history) await compareDelta(history, d, revisions, c);
    }
  } finally {
    history?.close();
  }
  if (history) c.history = { compared: history.compared, ...(history.compactedBefore !== undefined ? { compactedBefore: history.compactedBefore } : {}) };
  return c;
}

async function compareDelta(h: HistoryReader, d: DeltaRef, revisions: BackupRevision[], c: ChainCheck): Promise<void> {
  for (const r of revisions) {
    const rev = Number(r.revision);
    const theirs = await h.revision(rev);
    if (theirs === 'compacted') continue;
    if (theirs === undefined) {
      c.errors.push(`${d.name}: revision ${rev} is recorded, but the cluster's history has no such revision`);
      return;
    }
    const diff = diffEvents(r.events, theirs);
    if (diff) c.errors.push(`${d.name}: revision ${rev} differs from the cluster's history: ${diff}`);
    else h.compared++;
  }
}

const show = (e: Event): string =>
  `${e.type === Event_EventType.DELETE ? 'DELETE' : 'PUT'} ${JSON.stringify(e.kv?.key.toString('latin1'))} create=${e.kv?.createRevision} mod=${e.kv?.modRevision} version=${e.kv?.version} lease=${e.kv?.lease} value=${e.kv?.value.length}B`;

function diffEvents(ours: Event[], theirs: Event[]): string | undefined {
  if (ours.length !== theirs.length) return `${ours.length} events recorded, ${theirs.length} in the cluster`;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    const same =
      a.type === b.type &&
      a.kv !== undefined &&
      b.kv !== undefined &&
      a.kv.key.equals(b.kv.key) &&
      a.kv.value.equals(b.kv.value) &&
      a.kv.createRevision === b.kv.createRevision &&
      a.kv.modRevision === b.kv.modRevision &&
      a.kv.version === b.kv.version &&
      a.kv.lease === b.kv.lease;
    if (!same) return `event ${i}: recorded ${show(a)}, the cluster has ${show(b)}`;
  }
  return undefined;
}

/** The cluster's history revision by revision, from one watch (opened again where it breaks). */
class HistoryReader {
  compared = 0;
  compactedBefore: number | undefined;
  private readonly queue: Array<{ rev: number; events: Event[] }> = [];
  private waiting: (() => void) | undefined;
  private ended: Error | undefined;
  private head = 0;
  private watch: { close(): void } | undefined;

  constructor(
    private readonly source: EtcdSource,
    private next: number,
  ) {
    void this.open();
  }

  private async open(): Promise<void> {
    const order = await this.source.readOrder().catch(() => [...this.source.endpoints]);
    const from = this.next;
    this.watch = this.source.watch(order[0]!, from, {
      onEvents: (r) => {
        for (const e of r.events) {
          const rev = Number(e.kv?.modRevision ?? 0n);
          const last = this.queue[this.queue.length - 1];
          if (last && last.rev === rev) last.events.push(e);
          else this.queue.push({ rev, events: [e] });
        }
        this.wake();
      },
      onProgress: (rev) => {
        this.head = Math.max(this.head, rev);
        this.wake();
      },
      onCompacted: (compactRev) => {
        // compared from the compact revision on; what is before it cannot be checked any more
        this.compactedBefore = compactRev;
        this.next = compactRev;
        void this.open();
      },
      onEnd: (err) => {
        this.ended = err ?? new Error('watch ended');
        this.wake();
      },
    });
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  /** The events of `rev`; 'compacted' when the cluster no longer has it; undefined when the cluster is past it without it. */
  async revision(rev: number): Promise<Event[] | 'compacted' | undefined> {
    if (this.compactedBefore !== undefined && rev < this.compactedBefore) return 'compacted';
    for (let polls = 0; ; polls++) {
      while (this.queue.length > 0 && this.queue[0]!.rev < rev) this.queue.shift();
      const first = this.queue[0];
      if (first && first.rev === rev) {
        this.queue.shift();
        return first.events;
      }
      if (first && first.rev > rev) return undefined;
      if (this.compactedBefore !== undefined && rev < this.compactedBefore) return 'compacted';
      if (this.ended) throw new Error(`comparing with the cluster's history: ${this.ended.message}`);
      if (polls > 0 && this.head >= rev) return undefined;
      if (polls > 120) throw new Error(`comparing with the cluster's history: revision ${rev} did not arrive within a minute`);
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 500);
      });
    }
  }

  close(): void {
    this.watch?.close();
  }
}
