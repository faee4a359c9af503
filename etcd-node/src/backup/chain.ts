// What a listing of one chain (one cluster id) can restore, as pure functions of the object names: the
// revision ranges a restore reaches (a full at revision S reaches S, and every revision after it that
// deltas cover without a gap), the holes between them, overlapping deltas (which one writer never makes),
// where the tail resumes, and what retention may delete.
import type { DeltaRef, FullRef, ObjectRef } from './names.js';

export interface Range {
  from: number;
  to: number;
}

export interface ChainView {
  fulls: FullRef[];
  deltas: DeltaRef[];
  /** the revisions a restore can reach, as disjoint ranges in order; each starts at a full's revision */
  reachable: Range[];
  /** revisions between two reachable ranges that no restore can reach (a tail overtaken by compaction) */
  gaps: Range[];
  /** pairs of deltas that share revisions */
  overlaps: Array<[DeltaRef, DeltaRef]>;
  /** deltas no full reaches (they follow a hole with no full after it) */
  orphans: DeltaRef[];
  /** the newest revision a restore can reach, with its time (the time in the name of the object ending there) */
  latest?: { revision: number; time: number };
  /** the last revision the deltas cover contiguously from the newest reachable range (where the tail goes on) */
  tailEnd?: number;
}

export function analyzeChain(objects: readonly ObjectRef[]): ChainView {
  const fulls = objects.filter((o): o is FullRef => o.kind === 'full').sort((a, b) => a.revision - b.revision || a.time - b.time);
  const deltas = objects.filter((o): o is DeltaRef => o.kind === 'delta').sort((a, b) => a.from - b.from || a.to - b.to);
  const overlaps: Array<[DeltaRef, DeltaRef]> = [];
  // contiguous runs of deltas
  const runs: Array<{ from: number; to: number; last: DeltaRef; members: DeltaRef[] }> = [];
  for (const d of deltas) {
    const run = runs[runs.length - 1];
    if (run && d.from <= run.to) {
      overlaps.push([run.last, d]);
      if (d.to > run.to) {
        run.to = d.to;
        run.last = d;
      }
      run.members.push(d);
    } else if (run && d.from === run.to + 1) {
      run.to = d.to;
      run.last = d;
      run.members.push(d);
    } else {
      runs.push({ from: d.from, to: d.to, last: d, members: [d] });
    }
  }
  // each full reaches its revision, and through the run that continues right after it
  const reached: Array<Range & { end: ObjectRef }> = [];
  const usedRuns = new Set<number>();
  for (const f of fulls) {
    const i = runs.findIndex((r) => r.from <= f.revision + 1 && r.to >= f.revision + 1);
    if (i >= 0) {
      usedRuns.add(i);
      reached.push({ from: f.revision, to: runs[i]!.to, end: runs[i]!.last });
    } else {
      reached.push({ from: f.revision, to: f.revision, end: f });
    }
  }
  reached.sort((a, b) => a.from - b.from);
  const merged: Array<Range & { end: ObjectRef }> = [];
  for (const r of reached) {
    const m = merged[merged.length - 1];
    if (m && r.from <= m.to + 1) {
      if (r.to > m.to) {
        m.to = r.to;
        m.end = r.end;
      }
    } else merged.push({ ...r });
  }
  const gaps: Range[] = [];
  for (let i = 1; i < merged.length; i++) gaps.push({ from: merged[i - 1]!.to + 1, to: merged[i]!.from - 1 });
  const orphans = runs.flatMap((r, i) => (usedRuns.has(i) || merged.some((m) => r.from >= m.from && r.to <= m.to) ? [] : r.members));
  const last = merged[merged.length - 1];
  const view: ChainView = { fulls, deltas, reachable: merged.map(({ from, to }) => ({ from, to })), gaps, overlaps, orphans };
  if (last) {
    view.latest = { revision: last.to, time: last.end.time };
    view.tailEnd = last.to;
  }
  return view;
}

export interface RetentionPolicy {
  /** keep this many of the newest fulls */
  fullSnapshots?: number;
  /** keep the fulls taken within this many ms (the newest is always kept) */
  maxAgeMs?: number;
}

/**
 * What retention deletes: the fulls the policy does not keep, and the deltas that end at or before the
 * oldest kept full (no kept full needs them). Nothing when no full is kept. Never the newest full.
 */
export function retentionVictims(view: ChainView, policy: RetentionPolicy, now: number): ObjectRef[] {
  const fulls = [...view.fulls].sort((a, b) => b.revision - a.revision || b.time - a.time); // newest first
  if (fulls.length === 0) return [];
  let keep = fulls.length;
  if (policy.fullSnapshots !== undefined) keep = Math.min(keep, Math.max(1, policy.fullSnapshots));
  if (policy.maxAgeMs !== undefined) {
    const young = fulls.filter((f) => now - f.time <= policy.maxAgeMs!).length;
    keep = Math.min(keep, Math.max(1, young));
  }
  const kept = fulls.slice(0, keep);
  const oldestKept = kept[kept.length - 1]!;
  const victims: ObjectRef[] = fulls.slice(keep);
  for (const d of view.deltas) if (d.to <= oldestKept.revision) victims.push(d);
  return victims;
}
