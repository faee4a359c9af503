// The write-ahead log: raft's HardState and log entries, made durable before a member answers.
//
// ## On-disk format (version 1)
//
// A WAL directory holds segment files named `%016x-%016x.wal`: the segment's sequence number (0, 1, 2 …
// without gaps) and the index of the first entry that may follow in it (a hint; replay does not rely on
// it). Files ending in `.tmp` are segments whose creation did not finish and are deleted on open/create.
//
// Segment = header | records… | zeros to the preallocated size
//   header (24 bytes): "ETCDTSWL" | u32 LE format version (1) | u32 zero | u64 LE sequence number
//   record:            u32 LE payload length | u8 type | 3 zero bytes | u32 LE crc32c(type byte ++ payload)
//                      | payload | zero padding so the whole record is a multiple of 8 bytes
//   types:             1 metadata  (etcdtspb.WalMetadata: member and cluster id)
//                      2 entry     (etcdtspb.Entry)
//                      3 hardstate (etcdtspb.HardState)
//                      4 snapshot  (etcdtspb.WalSnapshot: a snapshot at index/term exists)
//
// Every segment starts with a metadata record. A segment started by a cut also repeats the newest durable
// HardState and snapshot marker right after it, so each segment is self-describing and older segments can
// be deleted without losing either. The end of the records is the first all-zero record header followed
// only by zeros (or the end of the file).
//
// New segments are written in full (header, preamble records and the batch that did not fit in the
// previous segment) to `<name>.tmp`, extended to the segment size with ftruncate (a sparse file reads as
// zeros), fsynced, renamed into place and the directory fsynced: a segment exists whole or not at all.
//
// ## Replay
//
// Records are read in order across all segments. The last HardState wins. An entry with an index at or
// below the last one read replaces the tail from that index on (raft log truncation). A snapshot marker
// (I, T) drops the entries with index ≤ I; entries above I survive whether written before or after the
// marker (a member that snapshots its own log writes the marker after entries it keeps). The entries
// returned must then run contiguously from (newest marker index, or 0) + 1, else the WAL is corrupt.
//
// A bad record in the last segment is a torn write — truncated away, and the file repaired — only if its
// bytes can be a prefix of a valid record followed by nothing but zeros or EOF (see isTornTail in
// format.ts). Every other bad record, anywhere, is a WalCorruptError naming the file and byte offset.
//
// ## Writing
//
// save() encodes and buffers; sync() writes everything buffered with one write and one fdatasync (a cut
// adds a file fsync, a rename and a directory fsync). Calls to sync() made while one is in flight wait
// for the next one, which covers everything saved before it: group commit.

import { fdatasync, readdirSync, writeSync } from 'node:fs';
import { mkdir, open as openFile, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { fsyncDir } from '../../util/fsync-dir.js';

import { emptyHardState, type Entry, type HardState, type SnapshotMeta } from '../../raft/types.js';
import {
  decodeEntry,
  decodeHardState,
  decodeMetadata,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeMetadata,
  encodeSnapshot,
} from './codec.js';
import {
  checkSegmentHeader,
  encodeSegmentHeader,
  frameRecords,
  isTornTail,
  putRecord,
  readRecord,
  RECORD_TYPE_NAMES,
  RecordType,
  recordSize,
  SEGMENT_HEADER_SIZE,
} from './format.js';

export interface WalIdentity {
  memberId: bigint;
  clusterId: bigint;
}

export interface WalOptions {
  /** a segment is cut when a write would take it past this size; default 64 MiB */
  segmentSizeBytes?: number;
  /** called with the duration of every file fsync/fdatasync, in seconds (metrics hook) */
  onFsync?: (seconds: number) => void;
  /** called with the size and duration of every write of records to a segment (metrics hook) */
  onWrite?: (bytes: number, seconds: number) => void;
}

export interface WalOpenResult {
  wal: Wal;
  identity: WalIdentity;
  hardState: HardState;
  /** the entries after the newest snapshot marker (all entries when there is none) */
  entries: Entry[];
  /** the newest snapshot marker seen */
  snapshot: SnapshotMeta | undefined;
}

export class WalCorruptError extends Error {
  readonly code = 'WAL_CORRUPT';
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super(`wal: corrupt record in ${file} at offset ${offset}: ${reason}`);
    this.name = 'WalCorruptError';
    this.file = file;
    this.offset = offset;
  }
}

const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;
const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

interface Segment {
  readonly seq: number;
  readonly file: string;
  /** highest entry index stored in the segment, 0 if none */
  maxEntryIndex: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

interface WalState {
  dir: string;
  identity: WalIdentity;
  segmentSize: number;
  onFsync: ((seconds: number) => void) | undefined;
  onWrite: ((bytes: number, seconds: number) => void) | undefined;
  segments: Segment[];
  fh: FileHandle;
  writeOffset: number;
  preambleEnd: number;
  hardState: HardState;
  snapshot: SnapshotMeta | undefined;
  lastIndex: number;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

function segmentName(seq: number, index: number): string {
  return `${hex16(seq)}-${hex16(index)}.wal`;
}

function segmentSizeOf(opts: WalOptions | undefined): number {
  const size = opts?.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE;
  if (!Number.isSafeInteger(size) || size < 256) throw new Error(`wal: segmentSizeBytes ${size} is too small`);
  return size;
}

async function listSegments(dir: string): Promise<{ seq: number; name: string }[]> {
  const out: { seq: number; name: string }[] = [];
  for (const name of await readdir(dir)) {
    const m = SEGMENT_RE.exec(name);
    if (!m) continue;
    const seq = Number.parseInt(m[1]!, 16);
    if (!Number.isSafeInteger(seq)) throw new WalCorruptError(path.join(dir, name), 0, 'sequence number out of range');
    out.push({ seq, name });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

async function removeTempFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.endsWith('.wal.tmp')) await unlink(path.join(dir, name));
  }
}

async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('wal: write made no progress');
    done += bytesWritten;
  }
}

/**
 * The hot path's write: the bytes go to the page cache synchronously (microseconds), and only the
 * fdatasync leaves the event loop. One thread-pool round trip per flush instead of two: under load the
 * loop is busy with requests, and every extra hop waits for a whole turn of it.
 */
function writeFullySync(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done, position + done);
    if (n <= 0) throw new Error('wal: write made no progress');
    done += n;
  }
}

function datasyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

async function timed(op: () => Promise<void>, onFsync: ((seconds: number) => void) | undefined): Promise<void> {
  const t0 = process.hrtime.bigint();
  await op();
  onFsync?.(Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Header, metadata and (for a cut) the current HardState and snapshot marker of a new segment. */
function encodePreamble(seq: number, identity: WalIdentity, hs?: HardState, snap?: SnapshotMeta): Buffer {
  const records: [RecordType, Uint8Array][] = [[RecordType.Metadata, encodeMetadata(identity)]];
  if (hs) records.push([RecordType.HardState, encodeHardState(hs)]);
  if (snap) records.push([RecordType.Snapshot, encodeSnapshot(snap)]);
  return Buffer.concat([encodeSegmentHeader(seq), frameRecords(records)]);
}

/**
 * Creates a segment atomically: content to `<name>.tmp`, preallocate, fsync, rename, fsync the
 * directory. Returns a handle open for writing on the renamed file.
 */
async function writeNewSegment(
  dir: string,
  name: string,
  content: Buffer,
  segmentSize: number,
  onFsync: ((seconds: number) => void) | undefined,
): Promise<FileHandle> {
  const final = path.join(dir, name);
  const tmp = `${final}.tmp`;
  const fh = await openFile(tmp, 'w+');
  try {
    await writeFully(fh, content, 0);
    if (content.length < segmentSize) await fh.truncate(segmentSize);
    await timed(() => fh.sync(), onFsync);
    await rename(tmp, final);
    await fsyncDir(dir);
    return fh;
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

/** Replay state: the log as rebuilt from the records read so far. */
class Replay {
  identity: WalIdentity | undefined;
  hardState: HardState = emptyHardState;
  snapshot: SnapshotMeta | undefined;
  /** contiguous run of entries */
  ents: Entry[] = [];
  /** where the current run of entries started (for the error when it does not follow the snapshot) */
  runStart: { file: string; offset: number } = { file: '', offset: 0 };

  private get base(): number {
    return this.snapshot?.index ?? 0;
  }

  entry(e: Entry, file: string, offset: number): void {
    if (e.index <= this.base) return;
    const ents = this.ents;
    const first = ents[0]?.index;
    if (first === undefined || e.index > first + ents.length || e.index < first) {
      // the first entry, or one after a gap: only a snapshot marker read later can explain a gap, and the
      // final check reports it if none does
      this.ents = [e];
      this.runStart = { file, offset };
      return;
    }
    ents.length = e.index - first;
    ents.push(e);
  }

  snapshotMarker(s: SnapshotMeta): void {
    if (s.index < this.base) return;
    this.snapshot = s;
    const first = this.ents[0]?.index;
    if (first !== undefined && first <= s.index) this.ents = this.ents.slice(s.index - first + 1);
  }
}

export class Wal {
  private readonly dir: string;
  private readonly identity: WalIdentity;
  private readonly segmentSize: number;
  private readonly onFsync: ((seconds: number) => void) | undefined;
  private readonly onWrite: ((bytes: number, seconds: number) => void) | undefined;
  private readonly segments: Segment[];
  private fh: FileHandle;
  /** where the next write goes in the active (last) segment */
  private writeOffset: number;
  /** end of the active segment's preamble: a segment holding nothing more is never cut */
  private preambleEnd: number;
  /** newest HardState and snapshot marker on disk (repeated at the start of each new segment) */
  private durableHardState: HardState;
  private durableSnapshot: SnapshotMeta | undefined;
  private durableLastIndex: number;
  private last: number;
  /** index of the newest snapshot marker saved (durable or not); entries at or below it are refused */
  private snapshotIndex: number;

  // buffered by save(), written by the next sync()
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingHardState: HardState | undefined;
  private pendingSnapshot: SnapshotMeta | undefined;
  private pendingFirstIndex: number | undefined;
  private pendingMaxIndex = 0;

  private waiters: Waiter[] = [];
  private syncing = false;
  private failure: Error | undefined;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | undefined;

  private constructor(s: WalState) {
    this.dir = s.dir;
    this.identity = s.identity;
    this.segmentSize = s.segmentSize;
    this.onFsync = s.onFsync;
    this.onWrite = s.onWrite;
    this.segments = s.segments;
    this.fh = s.fh;
    this.writeOffset = s.writeOffset;
    this.preambleEnd = s.preambleEnd;
    this.durableHardState = s.hardState;
    this.durableSnapshot = s.snapshot;
    this.durableLastIndex = s.lastIndex;
    this.last = s.lastIndex;
    this.snapshotIndex = s.snapshot?.index ?? 0;
  }

  /** Index of the last entry saved (or of the newest snapshot marker, if above it); 0 if none. */
  get lastIndex(): number {
    return this.last;
  }

  /** True when `dir` holds at least one segment. */
  static exists(dir: string): boolean {
    try {
      return readdirSync(dir).some((name) => SEGMENT_RE.test(name));
    } catch {
      return false;
    }
  }

  /** Creates a new WAL in `dir` (created if missing); fails if `dir` already holds one. */
  static async create(dir: string, identity: WalIdentity, opts?: WalOptions): Promise<Wal> {
    const segmentSize = segmentSizeOf(opts);
    const created = await mkdir(dir, { recursive: true });
    if (Wal.exists(dir)) throw new Error(`wal: ${dir} already holds a WAL`);
    await removeTempFiles(dir);
    const id = { memberId: identity.memberId, clusterId: identity.clusterId };
    const content = encodePreamble(0, id);
    const name = segmentName(0, 1);
    const fh = await writeNewSegment(dir, name, content, segmentSize, opts?.onFsync);
    try {
      // make the directories mkdir created durable too, up to the first one that already existed
      const top = path.dirname(path.resolve(created ?? dir));
      for (let d = path.dirname(path.resolve(dir)); ; d = path.dirname(d)) {
        await fsyncDir(d);
        if (d === top || d === path.dirname(d)) break;
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new Wal({
      dir,
      identity: id,
      segmentSize,
      onFsync: opts?.onFsync,
      onWrite: opts?.onWrite,
      segments: [{ seq: 0, file: path.join(dir, name), maxEntryIndex: 0 }],
      fh,
      writeOffset: content.length,
      preambleEnd: content.length,
      hardState: emptyHardState,
      snapshot: undefined,
      lastIndex: 0,
    });
  }

  /** Opens an existing WAL and replays it; see the format notes at the top of this file. */
  static async open(dir: string, opts?: WalOptions): Promise<WalOpenResult> {
    const segmentSize = segmentSizeOf(opts);
    const list = await listSegments(dir);
    if (list.length === 0) throw new Error(`wal: no WAL segments in ${dir}`);
    await removeTempFiles(dir);

    const replay = new Replay();
    const segments: Segment[] = [];
    let appendAt = 0;
    let preambleEnd = 0;
    let tornAt: number | undefined;
    for (let i = 0; i < list.length; i++) {
      const { seq, name } = list[i]!;
      const file = path.join(dir, name);
      if (i > 0 && seq !== list[i - 1]!.seq + 1) {
        throw new WalCorruptError(file, 0, `segment ${list[i - 1]!.seq + 1} is missing before this one`);
      }
      const isLast = i === list.length - 1;
      const buf = await readFile(file);
      const headerProblem = checkSegmentHeader(buf, seq);
      if (headerProblem !== undefined) throw new WalCorruptError(file, 0, headerProblem);
      const seg: Segment = { seq, file, maxEntryIndex: 0 };
      segments.push(seg);

      let off = SEGMENT_HEADER_SIZE;
      for (;;) {
        const rec = readRecord(buf, off);
        if (rec.kind === 'end') {
          if (off === SEGMENT_HEADER_SIZE) throw new WalCorruptError(file, off, 'segment has no metadata record');
          break;
        }
        if (rec.kind === 'bad') {
          if (isLast && off > SEGMENT_HEADER_SIZE && isTornTail(buf, off)) {
            tornAt = off;
            break;
          }
          throw new WalCorruptError(file, off, rec.reason);
        }
        if (off === SEGMENT_HEADER_SIZE && rec.type !== RecordType.Metadata) {
          throw new WalCorruptError(file, off, `segment starts with a ${RECORD_TYPE_NAMES[rec.type]} record, not metadata`);
        }
        applyRecord(replay, seg, rec.type, rec.payload, file, off);
        off += rec.size;
        if (off === SEGMENT_HEADER_SIZE + rec.size) preambleEnd = off;
      }
      appendAt = off;
    }

    const base = replay.snapshot?.index ?? 0;
    const firstEntry = replay.ents[0];
    if (firstEntry !== undefined && firstEntry.index !== base + 1) {
      const from = replay.snapshot ? `snapshot at index ${base}` : 'the start of the log';
      throw new WalCorruptError(
        replay.runStart.file,
        replay.runStart.offset,
        `entries ${base + 1}..${firstEntry.index - 1} are missing: ${from} is followed by entry ${firstEntry.index}`,
      );
    }

    const active = segments[segments.length - 1]!;
    const fh = await openFile(active.file, 'r+');
    try {
      if (tornAt !== undefined) {
        // Cut the torn record off and zero everything after the last good record, so that appends
        // continue there and no stale bytes remain behind them.
        await fh.truncate(tornAt);
        await fh.truncate(Math.max(segmentSize, tornAt));
        await timed(() => fh.sync(), opts?.onFsync);
      }
    } catch (err) {
      await fh.close();
      throw err;
    }

    const identity = replay.identity!;
    const entries = replay.ents;
    const lastIndex = entries.length > 0 ? entries[entries.length - 1]!.index : base;
    const wal = new Wal({
      dir,
      identity,
      segmentSize,
      onFsync: opts?.onFsync,
      onWrite: opts?.onWrite,
      segments,
      fh,
      writeOffset: appendAt,
      preambleEnd,
      hardState: replay.hardState,
      snapshot: replay.snapshot,
      lastIndex,
    });
    return {
      wal,
      identity: { memberId: identity.memberId, clusterId: identity.clusterId },
      hardState: replay.hardState,
      entries,
      snapshot: replay.snapshot,
    };
  }

  /**
   * Encodes and buffers a HardState and entries; nothing is written until sync(). `entries` must be
   * consecutive, start at or below lastIndex + 1 (lower replaces the log from there on) and above the
   * newest snapshot marker. For a snapshot received from the leader, call saveSnapshot before saving the
   * entries that follow it.
   */
  save(hardState: HardState | undefined, entries: readonly Entry[]): void {
    this.checkWritable();
    if (hardState === undefined && entries.length === 0) return;
    const records: [RecordType, Uint8Array][] = [];
    const first = entries[0];
    if (first !== undefined) {
      if (!Number.isSafeInteger(first.index) || first.index < 1 || first.index > this.last + 1) {
        throw new Error(`wal: entries start at index ${first.index}, but the last index is ${this.last}`);
      }
      if (first.index <= this.snapshotIndex) {
        throw new Error(`wal: entry ${first.index} is covered by the snapshot at index ${this.snapshotIndex}`);
      }
      let prev = first.index - 1;
      for (const e of entries) {
        if (e.index !== prev + 1) throw new Error(`wal: entry ${e.index} follows entry ${prev}: not consecutive`);
        prev = e.index;
        records.push([RecordType.Entry, encodeEntry(e)]);
      }
    }
    if (hardState !== undefined) records.push([RecordType.HardState, encodeHardState(hardState)]);
    // encode everything before touching any state, so a bad argument leaves the WAL unchanged
    this.enqueue(frameRecords(records));
    if (hardState !== undefined) this.pendingHardState = hardState;
    if (first !== undefined) {
      const lastEntry = entries[entries.length - 1]!;
      this.pendingFirstIndex ??= first.index;
      this.pendingMaxIndex = Math.max(this.pendingMaxIndex, lastEntry.index);
      this.last = lastEntry.index;
    }
  }

  /**
   * Writes everything saved so far with one write and one fdatasync; resolves when it is durable. A call
   * made while a sync is in flight is served by the next one.
   */
  sync(): Promise<void> {
    if (this.closing) return Promise.reject(new Error('wal: closed'));
    return this.requestSync();
  }

  /** Saves a durable snapshot marker (and everything saved before it). */
  saveSnapshot(snap: SnapshotMeta): Promise<void> {
    try {
      this.checkWritable();
      const payload = encodeSnapshot(snap);
      const buf = Buffer.alloc(recordSize(payload.length));
      putRecord(buf, 0, RecordType.Snapshot, payload);
      this.enqueue(buf);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.pendingSnapshot === undefined || snap.index >= this.pendingSnapshot.index) this.pendingSnapshot = snap;
    if (snap.index > this.last) this.last = snap.index;
    if (snap.index > this.snapshotIndex) this.snapshotIndex = snap.index;
    return this.requestSync();
  }

  /**
   * Deletes the oldest segments whose entries are all below `index`, never the last segment. `index` is
   * capped at the newest durable snapshot marker's index + 1, so that replay always has a snapshot
   * marker under the first entry it keeps.
   */
  async releaseTo(index: number): Promise<void> {
    if (this.closing) throw new Error('wal: closed');
    const limit = Math.min(index, (this.durableSnapshot?.index ?? 0) + 1);
    const doomed: Segment[] = [];
    while (this.segments.length > 1 && this.segments[0]!.maxEntryIndex < limit) doomed.push(this.segments.shift()!);
    if (doomed.length === 0) return;
    // oldest first: a crash part-way leaves the remaining sequence numbers contiguous
    for (const s of doomed) await unlink(s.file);
    await fsyncDir(this.dir);
  }

  /** Syncs anything buffered, then closes the active segment. Later calls return the same promise. */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    let err: Error | undefined;
    if (this.failure === undefined) {
      try {
        await this.requestSync();
      } catch (e) {
        err = e instanceof Error ? e : new Error(String(e));
      }
    }
    this.closed = true;
    await this.fh.close();
    if (err !== undefined) throw err;
  }

  private checkWritable(): void {
    if (this.closing) throw new Error('wal: closed');
    if (this.failure !== undefined) throw new Error(`wal: unusable after a failed write: ${this.failure.message}`);
  }

  private enqueue(buf: Buffer): void {
    this.pending.push(buf);
    this.pendingBytes += buf.length;
  }

  private requestSync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('wal: closed'));
    if (this.failure !== undefined) {
      return Promise.reject(new Error(`wal: unusable after a failed write: ${this.failure.message}`));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.syncing) void this.syncLoop();
    });
  }

  /** Serves waiters one flush at a time; each flush covers everything saved before it started. */
  private async syncLoop(): Promise<void> {
    this.syncing = true;
    while (this.waiters.length > 0) {
      const batch = this.waiters;
      this.waiters = [];
      try {
        await this.flush();
      } catch (e) {
        // The state on disk is unknown after a failed write or fsync: fail every caller, now and later.
        const err = e instanceof Error ? e : new Error(String(e));
        this.failure = err;
        for (const w of [...batch, ...this.waiters]) w.reject(err);
        this.waiters = [];
        break;
      }
      for (const w of batch) w.resolve();
    }
    this.syncing = false;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const hardState = this.pendingHardState;
    const snapshot = this.pendingSnapshot;
    const firstIndex = this.pendingFirstIndex;
    const maxIndex = this.pendingMaxIndex;
    const lastIndex = this.last;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingHardState = undefined;
    this.pendingSnapshot = undefined;
    this.pendingFirstIndex = undefined;
    this.pendingMaxIndex = 0;

    if (this.writeOffset > this.preambleEnd && this.writeOffset + data.length > this.segmentSize) {
      await this.cut(data, firstIndex ?? this.durableLastIndex + 1);
    } else {
      const t0 = process.hrtime.bigint();
      writeFullySync(this.fh.fd, data, this.writeOffset);
      this.onWrite?.(data.length, Number(process.hrtime.bigint() - t0) / 1e9);
      const fd = this.fh.fd;
      await timed(() => datasyncFd(fd), this.onFsync);
      this.writeOffset += data.length;
    }
    const active = this.segments[this.segments.length - 1]!;
    active.maxEntryIndex = Math.max(active.maxEntryIndex, maxIndex);
    if (hardState !== undefined) this.durableHardState = hardState;
    if (snapshot !== undefined && (this.durableSnapshot === undefined || snapshot.index >= this.durableSnapshot.index)) {
      this.durableSnapshot = snapshot;
    }
    this.durableLastIndex = lastIndex;
  }

  /** Starts a new segment holding the preamble and `data`, which did not fit in the active one. */
  private async cut(data: Buffer, nameIndex: number): Promise<void> {
    const seq = this.segments[this.segments.length - 1]!.seq + 1;
    const name = segmentName(seq, nameIndex);
    const preamble = encodePreamble(seq, this.identity, this.durableHardState, this.durableSnapshot);
    const fh = await writeNewSegment(this.dir, name, Buffer.concat([preamble, data]), this.segmentSize, this.onFsync);
    const old = this.fh;
    this.fh = fh;
    this.segments.push({ seq, file: path.join(this.dir, name), maxEntryIndex: 0 });
    this.preambleEnd = preamble.length;
    this.writeOffset = preamble.length + data.length;
    await old.close();
  }
}

function applyRecord(replay: Replay, seg: Segment, type: RecordType, payload: Buffer, file: string, off: number): void {
  try {
    switch (type) {
      case RecordType.Metadata: {
        const id = decodeMetadata(payload);
        if (replay.identity === undefined) replay.identity = id;
        else if (id.memberId !== replay.identity.memberId || id.clusterId !== replay.identity.clusterId) {
          throw new Error(
            `identity (member ${id.memberId.toString(16)}, cluster ${id.clusterId.toString(16)}) differs from ` +
              `earlier segments (member ${replay.identity.memberId.toString(16)}, cluster ${replay.identity.clusterId.toString(16)})`,
          );
        }
        return;
      }
      case RecordType.Entry: {
        const e = decodeEntry(payload);
        seg.maxEntryIndex = Math.max(seg.maxEntryIndex, e.index);
        replay.entry(e, file, off);
        return;
      }
      case RecordType.HardState:
        replay.hardState = decodeHardState(payload);
        return;
      case RecordType.Snapshot:
        replay.snapshotMarker(decodeSnapshot(payload));
        return;
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new WalCorruptError(file, off, `bad ${RECORD_TYPE_NAMES[type]} record: ${msg}`);
  }
}
