// A small DSL for scenario tests: a cluster of simulated members (sim-member.ts) on a network the test
// controls step by step. Messages wait in a queue until stabilize() delivers them (in order), dropping
// those that cross a cut link or match a drop rule. Every member runs the server loop of node.ts, and the
// cluster-wide invariants (sim-checker.ts) are checked after every delivery and every Ready.
//
//   const c = new Cluster({ voters: 3 });
//   c.campaign(1);               // 1 starts an election; stabilize() runs it to the end
//   c.propose(1, 'x');           // …and commits it everywhere
//   c.isolate(1); c.tick(2, 20); // time passes for 2 only
import type { ConfChange } from './confchange.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { MessageType, StateRole, type Message } from './messages.js';
import { ProposalDroppedError } from './node.js';
import type { TestingKnobs } from './raft.js';
import type { RawNode, Status } from './raw-node.js';
import { ClusterChecker } from './sim-checker.js';
import { Member, type MemberOptions, type Outbox } from './sim-member.js';
import { MemoryStorage } from './storage.js';
import { EntryType, type Entry } from './types.js';

export interface ClusterOptions {
  /** voters: a count (ids 1…n) or the ids */
  readonly voters: number | readonly number[];
  readonly learners?: readonly number[];
  readonly electionTick?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  readonly knobs?: TestingKnobs;
  /** start members from a given log instead of bootstrapping: the term of each entry from index 1 on
   *  (entries with the same index and term get the same data on every member), and the member's term */
  readonly logs?: Readonly<Record<number, { readonly terms: readonly number[]; readonly term: number; readonly commit?: number }>>;
}

/** the data of a preset entry: the same (index, term) gives the same entry on every member */
function presetData(index: number, term: number): Uint8Array {
  return new TextEncoder().encode(`preset-${index}.${term}`);
}

export class Cluster implements Outbox {
  readonly checker = new ClusterChecker();
  readonly members = new Map<bigint, Member>();
  /** every message ever sent, in order (tests inspect it) */
  readonly sent: Message[] = [];
  private queue: Array<{ from: bigint; bytes: Uint8Array; m: Message }> = [];
  private readonly cuts = new Set<string>();
  private dropRules: Array<(m: Message) => boolean> = [];
  private readonly memberOpts: MemberOptions;
  private readonly voters: bigint[];
  private readonly learners: bigint[];

  constructor(opts: ClusterOptions) {
    this.voters = typeof opts.voters === 'number' ? Array.from({ length: opts.voters }, (_, i) => BigInt(i + 1)) : opts.voters.map(BigInt);
    this.learners = (opts.learners ?? []).map(BigInt);
    this.memberOpts = {
      electionTick: opts.electionTick ?? 10,
      heartbeatTick: 1,
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
      maxSizePerMsg: opts.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: opts.maxInflightMsgs ?? 256,
      testingKnobs: opts.knobs ?? {},
    };
    for (const id of [...this.voters, ...this.learners]) {
      const preset = opts.logs?.[Number(id)];
      let storage: MemoryStorage | undefined;
      if (preset !== undefined) {
        storage = MemoryStorage.withConfState({ voters: this.voters, learners: this.learners });
        const ents: Entry[] = preset.terms.map((t, i) => ({ term: t, index: i + 1, type: EntryType.Normal, data: presetData(i + 1, t) }));
        storage.append(ents);
        storage.setHardState({ term: preset.term, vote: 0n, commit: preset.commit ?? 0 });
      }
      this.add(id, storage);
    }
    this.stabilize();
  }

  private add(id: bigint, storage?: MemoryStorage): Member {
    const m = new Member(id, this.voters, this.learners, this.memberOpts, 1, this.checker, storage);
    this.members.set(id, m);
    return m;
  }

  /** a new, empty member that will join (after a conf change adds it) */
  addEmptyMember(id: number): Member {
    const m = new Member(BigInt(id), [], [], this.memberOpts, 1, this.checker);
    this.members.set(BigInt(id), m);
    return m;
  }

  member(id: number | bigint): Member {
    const m = this.members.get(BigInt(id));
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  node(id: number | bigint): RawNode {
    const n = this.member(id).node;
    if (n === undefined) throw new Error(`member ${id} is down`);
    return n;
  }

  status(id: number | bigint): Status {
    return this.node(id).status();
  }

  role(id: number | bigint): StateRole {
    return this.node(id).raft.role;
  }

  /** the running leader of the highest term */
  leader(): bigint | undefined {
    let best: RawNode | undefined;
    for (const m of this.members.values()) {
      const n = m.node;
      if (n?.raft.role === StateRole.Leader && (best === undefined || n.term > best.term)) best = n;
    }
    return best?.id;
  }

  /** Normal entries applied by a member (this incarnation), as strings */
  applied(id: number | bigint): string[] {
    return this.member(id).appliedData;
  }

  // ---- the network ----

  send(from: bigint, m: Message): void {
    this.sent.push(m);
    this.queue.push({ from, bytes: encodeMessage(m), m });
  }

  private link(a: bigint, b: bigint): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  /** cuts every link between `id` and the others */
  isolate(id: number): void {
    for (const other of this.members.keys()) if (other !== BigInt(id)) this.cuts.add(this.link(BigInt(id), other));
  }

  /** cuts every link between the two groups */
  partition(a: readonly number[], b: readonly number[]): void {
    for (const x of a) for (const y of b) this.cuts.add(this.link(BigInt(x), BigInt(y)));
  }

  heal(): void {
    this.cuts.clear();
    this.dropRules = [];
  }

  /** drops every message matching `rule` until heal() */
  drop(rule: (m: Message) => boolean): void {
    this.dropRules.push(rule);
  }

  /** messages waiting to be delivered */
  pending(): readonly Message[] {
    return this.queue.map((q) => q.m);
  }

  /** delivers the messages now queued (not those they cause); returns how many arrived */
  deliverQueued(): number {
    const batch = this.queue;
    this.queue = [];
    let n = 0;
    for (const { from, bytes, m } of batch) {
      const to = this.members.get(m.to)?.node;
      if (to === undefined || this.cuts.has(this.link(from, m.to)) || this.dropRules.some((r) => r(m))) {
        if (m.type === MessageType.MsgSnap) this.members.get(from)?.node?.reportSnapshot(m.to, false);
        continue;
      }
      to.step(decodeMessage(bytes));
      if (m.type === MessageType.MsgSnap) this.members.get(from)?.node?.reportSnapshot(m.to, true);
      n++;
      this.check();
    }
    return n;
  }

  /** runs every member's Ready loop once */
  processReadies(): boolean {
    let any = false;
    for (const m of this.members.values()) {
      while (m.process(this)) {
        any = true;
        this.check();
      }
    }
    return any;
  }

  /** processes Readys and delivers messages until nothing moves (no time passes) */
  stabilize(): void {
    for (let guard = 0; guard < 1000; guard++) {
      const moved = this.processReadies();
      if (this.deliverQueued() === 0 && !moved && this.queue.length === 0) return;
    }
    throw new Error('cluster did not stabilize');
  }

  check(): void {
    const nodes = new Map<bigint, RawNode>();
    for (const m of this.members.values()) {
      if (m.node === undefined) continue;
      nodes.set(m.id, m.node);
      this.checker.observe(m.node);
    }
    this.checker.checkLeaders(nodes);
  }

  // ---- time ----

  /** ticks the given members (all running ones by default) n times, stabilizing after each tick */
  tick(ids: number | readonly number[] | 'all', n = 1): void {
    const list = ids === 'all' ? [...this.members.keys()] : (typeof ids === 'number' ? [ids] : ids).map(BigInt);
    for (let i = 0; i < n; i++) {
      for (const id of list) this.members.get(id)?.node?.tick();
      this.stabilize();
    }
  }

  /** member `id` starts an election now; the election runs to its end */
  campaign(id: number): void {
    this.node(id).campaign();
    this.stabilize();
  }

  // ---- clients ----

  /** proposes at member `id` and runs to quiet; returns false when the proposal was refused */
  propose(id: number, data: string): boolean {
    try {
      this.node(id).propose(new TextEncoder().encode(data));
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
    this.stabilize();
    return true;
  }

  proposeConfChange(id: number, cc: ConfChange): boolean {
    try {
      this.node(id).proposeConfChange(cc);
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
    this.stabilize();
    return true;
  }

  /** asks member `id` for a read index; the answer lands in member(id).readStates */
  readIndex(id: number, ctx: string): boolean {
    try {
      this.node(id).readIndex(new TextEncoder().encode(ctx));
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
    this.stabilize();
    return true;
  }

  /** the read states member `id` received, as ctx → index */
  reads(id: number): Map<string, number> {
    return new Map(this.member(id).readStates.map((rs) => [new TextDecoder().decode(rs.requestCtx), rs.index]));
  }

  crash(id: number): void {
    this.member(id).crash();
  }

  restart(id: number): void {
    this.member(id).restart();
    this.stabilize();
  }

  /** every member's log as index:term pairs, for readable assertions */
  logTerms(id: number): number[] {
    const log = this.node(id).raft.log;
    return log.allEntries().map((e) => e.term);
  }
}

