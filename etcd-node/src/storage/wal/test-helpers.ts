// Helpers for the WAL tests: temp dirs, entries, reading segment files, and simulating a crash in the
// middle of the last write.

import { mkdtemp, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { EntryType, type Entry } from '../../raft/types.js';

export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'etcd-ts-wal-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export function entry(index: number, term: number, payload?: string): Entry {
  return {
    index,
    term,
    type: index % 7 === 0 ? EntryType.ConfChange : EntryType.Normal,
    data: Buffer.from(payload ?? `entry ${index} term ${term}`),
  };
}

export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

/** Plain comparable form of entries (Buffer vs Uint8Array and readonly-ness do not matter). */
export function plain(ents: readonly Entry[]): { index: number; term: number; type: EntryType; data: string }[] {
  return ents.map((e) => ({ index: e.index, term: e.term, type: e.type, data: Buffer.from(e.data).toString('hex') }));
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
}

/** The whole directory: segment name → content. */
export async function readSegments(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const name of await segmentFiles(dir)) out.set(name, await readFile(path.join(dir, name)));
  return out;
}

/** Offsets of the records in a segment, by walking the length fields (24-byte header, 8-byte alignment). */
export function recordOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  let off = 24;
  while (off + 12 <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (buf[off + 4] === 0) break;
    out.push(off);
    off += Math.ceil((12 + len) / 8) * 8;
  }
  return out;
}

function lastNonZero(b: Buffer): number {
  for (let i = b.length - 1; i >= 0; i--) if (b[i] !== 0) return i;
  return -1;
}

/**
 * What a crash in the middle of the writes that turned `before` into `after` can leave on disk: the
 * writes are kept up to `keep` bytes (0 ≤ keep ≤ 1 as a fraction of the bytes written). An existing
 * segment that changed keeps a prefix of its new bytes and the rest reads as zeros (`truncate` false) or
 * is cut off (`truncate` true). A new segment appears whole or not at all (segments are created by
 * rename). Returns the number of bytes kept out of the total.
 */
export async function tearLastWrite(
  dir: string,
  before: Map<string, Buffer>,
  after: Map<string, Buffer>,
  keep: number,
  truncateFile: boolean,
): Promise<{ kept: number; total: number }> {
  interface Region { name: string; from: number; to: number; isNew: boolean }
  const regions: Region[] = [];
  for (const [name, now] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
    const old = before.get(name);
    if (old === undefined) {
      regions.push({ name, from: 0, to: lastNonZero(now) + 1, isNew: true });
      continue;
    }
    let from = 0;
    while (from < now.length && now[from] === (old[from] ?? 0)) from++;
    if (from === now.length) continue;
    let to = now.length;
    while (to > from && now[to - 1] === (old[to - 1] ?? 0)) to--;
    regions.push({ name, from, to, isNew: false });
  }
  const total = regions.reduce((s, r) => s + (r.to - r.from), 0);
  let budget = Math.floor(total * Math.min(1, Math.max(0, keep)));
  const kept = budget;
  for (const r of regions) {
    const file = path.join(dir, r.name);
    const len = r.to - r.from;
    const take = Math.min(budget, len);
    budget -= take;
    if (take === len) continue;
    if (r.isNew) {
      await unlink(file);
      continue;
    }
    const now = after.get(r.name)!;
    const cutAt = r.from + take;
    if (truncateFile) {
      await truncate(file, cutAt);
    } else {
      const old = before.get(r.name)!;
      const torn = Buffer.from(now);
      for (let i = cutAt; i < r.to; i++) torn[i] = old[i] ?? 0;
      await writeFile(file, torn);
    }
  }
  return { kept, total };
}
