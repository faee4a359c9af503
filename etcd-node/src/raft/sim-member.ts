// A simulated server around one RawNode, for the simulator and the scenario tests. It follows the rules
// a real server must follow:
//   - `storage` stands for the disk (WAL + snapshot file): it survives crash(); everything else does not.
//   - A Ready is handled in two halves that other events may interleave with (a real WAL write takes
//     time): begin() sends the messages allowed before the write; finish() persists (snapshot, hard state,
//     entries), sends the rest, restores/applies, and calls advance().
//   - Conf-change entries are applied with applyConfChange; the resulting ConfState goes into snapshots.
//   - Snapshots are taken of the applied state; compaction never passes the snapshot.
// The state machine is (applied index, hash of every entry applied); its snapshot data is those two.
import { decodeConfChange } from './confchange.js';
import { emptyConfState, type Message, type ReadState } from './messages.js';
import type { Ready } from './node.js';
import { RawNode, type RawNodeOptions } from './raw-node.js';
import type { ClusterChecker } from './sim-checker.js';
import { MemoryStorage } from './storage.js';
import { EntryType, type ConfState } from './types.js';

/** mulberry32: a small, fast, seeded generator (uniform in [0, 1)) */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Outbox {
  send(from: bigint, m: Message): void;
}

export type MemberOptions = Omit<RawNodeOptions, 'id' | 'storage' | 'random' | 'peers' | 'learners' | 'applied'>;

export function encodeState(applied: number, hash: number): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setFloat64(0, applied);
  v.setUint32(8, hash);
  return b;
}

export function decodeState(data: Uint8Array): { applied: number; hash: number } {
  if (data.length !== 12) return { applied: 0, hash: 0 };
  const v = new DataView(data.buffer, data.byteOffset, 12);
  return { applied: v.getFloat64(0), hash: v.getUint32(8) };
}

export class Member {
  /** the disk */
  readonly storage: MemoryStorage;
  node: RawNode | undefined;
  private pending: Ready | undefined;
  appliedIndex = 0;
  hash = 0;
  confState: ConfState = emptyConfState;
  /** data of every Normal entry applied in this incarnation, for the scenario tests */
  appliedData: string[] = [];
  readStates: ReadState[] = [];
  incarnation = 0;

  constructor(
    readonly id: bigint,
    private readonly bootPeers: readonly bigint[],
    private readonly bootLearners: readonly bigint[],
    private readonly opts: MemberOptions,
    private readonly seed: number,
    private readonly checker: ClusterChecker,
    storage?: MemoryStorage,
  ) {
    this.storage = storage ?? new MemoryStorage();
    this.start();
  }

  get alive(): boolean {
    return this.node !== undefined;
  }

  get writing(): boolean {
    return this.pending !== undefined;
  }

  private start(): void {
    this.incarnation++;
    const snap = this.storage.snapshot();
    const st = decodeState(snap.data);
    this.appliedIndex = snap.meta.index;
    this.hash = st.hash;
    this.confState = snap.meta.confState;
    this.appliedData = [];
    this.node = new RawNode({
      ...this.opts,
      id: this.id,
      storage: this.storage,
      peers: this.bootPeers,
      learners: this.bootLearners,
      random: seededRandom(this.seed * 7919 + Number(this.id) * 104729 + this.incarnation),
    });
    this.checker.restarted(this.id);
  }

  /** loses everything not on disk, including a Ready being written */
  crash(): void {
    this.node = undefined;
    this.pending = undefined;
    this.checker.restarted(this.id);
  }

  restart(): void {
    if (this.node !== undefined) return;
    this.start();
  }

  /** takes a Ready and sends what may go before the write; false when there is nothing to do */
  begin(out: Outbox): boolean {
    const n = this.node;
    if (n === undefined || this.pending !== undefined || !n.hasReady()) return false;
    const rd = n.ready();
    this.pending = rd;
    for (let i = 0; i < rd.earlyMessages; i++) out.send(this.id, rd.messages[i]!);
    return true;
  }

  /** completes the Ready taken by begin(); false when there is none */
  finish(out: Outbox): boolean {
    const n = this.node;
    const rd = this.pending;
    if (n === undefined || rd === undefined) return false;
    this.pending = undefined;
    if (rd.snapshot !== undefined) this.storage.applySnapshot(rd.snapshot);
    if (rd.hardState !== undefined) {
      this.storage.setHardState(rd.hardState);
      this.checker.persisted(this.id, rd.hardState);
    }
    this.storage.append(rd.entries);
    for (let i = rd.earlyMessages; i < rd.messages.length; i++) out.send(this.id, rd.messages[i]!);
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.appliedIndex) {
      const st = decodeState(rd.snapshot.data);
      if (st.applied !== rd.snapshot.meta.index) throw new Error(`snapshot data at ${st.applied} but meta at ${rd.snapshot.meta.index}`);
      this.checker.checkChain(this.id, st.applied, st.hash);
      this.appliedIndex = st.applied;
      this.hash = st.hash;
      this.confState = rd.snapshot.meta.confState;
    }
    for (const e of rd.committedEntries) {
      if (e.index !== this.appliedIndex + 1) throw new Error(`member ${this.id}: applies ${e.index} after ${this.appliedIndex}`);
      this.hash = this.checker.apply(this.id, e, this.hash);
      this.appliedIndex = e.index;
      if (e.type === EntryType.ConfChange) this.confState = n.applyConfChange(decodeConfChange(e.data));
      else if (e.data.length > 0) this.appliedData.push(new TextDecoder().decode(e.data));
    }
    for (const rs of rd.readStates) this.readStates.push(rs);
    n.advance();
    return true;
  }

  /** both halves at once */
  process(out: Outbox): boolean {
    if (!this.begin(out)) return false;
    this.finish(out);
    return true;
  }

  /** the server's periodic snapshot: of the applied state, keeping `keep` entries before it */
  snapshot(keep: number): boolean {
    if (this.appliedIndex <= this.storage.snapshot().meta.index || this.appliedIndex > this.storage.lastIndex()) return false;
    this.storage.createSnapshot(this.appliedIndex, this.confState, encodeState(this.appliedIndex, this.hash));
    this.storage.compact(Math.max(0, this.appliedIndex - keep));
    return true;
  }
}
