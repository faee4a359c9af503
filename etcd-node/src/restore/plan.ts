// Which objects a restore reads, as pure functions of a chain's listing: the newest full snapshot at or
// before the target revision from which deltas reach the target without a hole, and the deltas after it
// up to the target. A target the chain cannot reach is refused here, naming what the chain covers, before
// anything is read or written.
//
// A revision's time is when the backup agent received it from its watch (recorded per revision in the
// delta objects); a full snapshot's revision has the time the snapshot was taken. `--to-time T` is the
// last revision whose time is at or before T (resolveTime, which reads the one delta that straddles T).
import type { BackupDelta } from '../gen/etcdtspb/backup.js';
import type { ChainView } from '../backup/chain.js';
import type { DeltaRef, FullRef, ObjectRef } from '../backup/names.js';
import { RestoreError } from './errors.js';

export type RestoreTarget = { kind: 'latest' } | { kind: 'revision'; revision: number } | { kind: 'time'; time: number };

export interface RestorePlan {
  clusterId: string;
  /** the revision the restore reaches */
  revision: number;
  full: FullRef;
  /** in revision order; the first starts at full.revision + 1, the last ends at or after `revision` */
  deltas: DeltaRef[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** "revisions 5–90, 120–300" or "nothing" */
export function coverage(view: ChainView): string {
  return view.reachable.length === 0 ? 'nothing (no full snapshot)' : `revisions ${view.reachable.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}–${r.to}`)).join(', ')}`;
}

/** Objects grouped by chain (cluster id). */
export function byChain(refs: readonly ObjectRef[]): Map<string, ObjectRef[]> {
  const out = new Map<string, ObjectRef[]>();
  for (const r of refs) out.set(r.clusterId, [...(out.get(r.clusterId) ?? []), r]);
  return out;
}

/** The deltas that take `full` to `revision`, or undefined when a hole lies on the way. */
function deltasFrom(full: FullRef, revision: number, deltas: readonly DeltaRef[]): DeltaRef[] | undefined {
  const out: DeltaRef[] = [];
  let at = full.revision; // reached so far
  while (at < revision) {
    // the delta that continues right after `at` and goes furthest (one writer never overlaps; be robust)
    let next: DeltaRef | undefined;
    for (const d of deltas) if (d.from <= at + 1 && d.to > at && (!next || d.to > next.to)) next = d;
    if (!next) return undefined;
    out.push(next);
    at = next.to;
  }
  return out;
}

export function planRevision(view: ChainView, clusterId: string, revision: number): RestorePlan {
  const candidates = view.fulls.filter((f) => f.revision <= revision).sort((a, b) => b.revision - a.revision || b.time - a.time);
  if (candidates.length === 0) {
    const oldest = view.fulls[0];
    throw new RestoreError(
      'Unreachable',
      oldest
        ? `revision ${revision} is before the oldest full snapshot (revision ${oldest.revision}, ${oldest.name}); chain ${clusterId} restores ${coverage(view)}`
        : `chain ${clusterId} has no full snapshot: nothing can be restored`,
    );
  }
  for (const full of candidates) {
    const deltas = deltasFrom(full, revision, view.deltas);
    if (deltas) return { clusterId, revision, full, deltas };
  }
  const latest = view.latest?.revision ?? 0;
  const gap = view.gaps.find((g) => revision >= g.from && revision <= g.to);
  throw new RestoreError(
    'Unreachable',
    revision > latest
      ? `revision ${revision} is after the newest revision the chain holds (${latest}); chain ${clusterId} restores ${coverage(view)}`
      : `revision ${revision} lies in a hole of the chain (${gap ? `revisions ${gap.from}–${gap.to}` : 'no delta reaches it'}: a compaction overtook the event tail); chain ${clusterId} restores ${coverage(view)}`,
  );
}

export function planLatest(view: ChainView, clusterId: string): RestorePlan {
  if (!view.latest) throw new RestoreError('Unreachable', `chain ${clusterId} has no full snapshot: nothing can be restored`);
  return planRevision(view, clusterId, view.latest.revision);
}

/**
 * The last revision at or before `time`. Revisions' times only grow along a chain (the agent receives
 * them in order), so every delta whose name's time (its last revision's) is at or before T is wholly
 * before T, and at most one delta straddles T: only that one is read.
 */
export async function resolveTime(view: ChainView, clusterId: string, time: number, read: (d: DeltaRef) => Promise<BackupDelta>): Promise<{ revision: number; time: number }> {
  if (view.latest && time > view.latest.time) {
    // nothing is known of the revisions after the newest recorded one (not yet flushed, or not backed up):
    // restoring "as of T" would silently be a guess
    throw new RestoreError(
      'Unreachable',
      `${iso(time)} is after the newest revision the chain holds (revision ${view.latest.revision}, received ${iso(view.latest.time)}); restore to the latest state instead, or to a time up to then; chain ${clusterId} restores ${coverage(view)}`,
    );
  }
  let best: { revision: number; time: number } | undefined;
  const consider = (revision: number, t: number): void => {
    if (!best || revision > best.revision) best = { revision, time: t };
  };
  for (const f of view.fulls) if (f.time <= time) consider(f.revision, f.time);
  for (const d of view.deltas) {
    if (d.time <= time) {
      consider(d.to, d.time);
      continue;
    }
    const delta = await read(d);
    for (const r of delta.revisions) if (Number(r.timeMs) <= time) consider(Number(r.revision), Number(r.timeMs));
    break;
  }
  if (!best) {
    const oldest = [...view.fulls].sort((a, b) => a.time - b.time)[0];
    throw new RestoreError(
      'Unreachable',
      oldest
        ? `${iso(time)} is before the oldest full snapshot (revision ${oldest.revision}, taken ${iso(oldest.time)}); chain ${clusterId} restores ${coverage(view)}`
        : `chain ${clusterId} has no full snapshot: nothing can be restored`,
    );
  }
  return best;
}
