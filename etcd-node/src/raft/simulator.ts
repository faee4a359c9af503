// A seeded, deterministic network of simulated members (sim-member.ts). Each step picks one action from
// the seed: tick a member or all of them, fire a member's election timer early, start or finish a
// member's Ready (the write takes time: other events interleave), deliver any message in flight (reorder,
// delay), drop or duplicate one, propose, change membership (add learner, promote, remove), ReadIndex,
// transfer leadership, snapshot and compact. Faults arrive with time (on ticks): crash a member (losing
// everything not on its disk, a Ready being written included) and restart it from its disk, partition
// and heal the network. After every step the cluster-wide invariants are checked (sim-checker.ts) on
// every member the step touched, and every answered ReadIndex must be at or past every index committed
// before it was asked. At the end the network heals, everyone restarts, and the cluster must elect a
// leader and commit a proposal (liveness).
import { ConfChangeType } from './confchange.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { MessageType, StateRole, type Message } from './messages.js';
import { ProposalDroppedError } from './node.js';
import type { TestingKnobs } from './raft.js';
import type { RawNode } from './raw-node.js';
import { ClusterChecker } from './sim-checker.js';
import { Member, seededRandom, type Outbox } from './sim-member.js';

export type ActionName =
  | 'tick'
  | 'tickAll'
  | 'hup'
  | 'begin'
  | 'finish'
  | 'deliver'
  | 'deliverOldest'
  | 'drop'
  | 'duplicate'
  | 'propose'
  | 'confChange'
  | 'readIndex'
  | 'transfer'
  | 'snapshot';

/** relative frequency of each action among the actions that have something to act on */
export const defaultWeights: Readonly<Record<ActionName, number>> = {
  tick: 1.5,
  tickAll: 5,
  hup: 0.4,
  begin: 14,
  finish: 12,
  deliver: 26,
  deliverOldest: 6,
  drop: 2,
  duplicate: 1,
  propose: 5,
  confChange: 0.6,
  readIndex: 1.2,
  transfer: 0.3,
  snapshot: 0.8,
};

export interface FaultRates {
  /** probability per tick-all that a member crashes (the leader half the time) */
  readonly crash: number;
  /** … that a crashed member restarts */
  readonly restart: number;
  /** … that the network splits (half the time isolating one member, often the leader) */
  readonly partition: number;
  readonly heal: number;
  /** probability that a newly elected leader is isolated right away, before its
   *  first entries spread: the leadership churn in which a wrong commit rule shows */
  readonly newLeader: number;
}

export const defaultFaults: FaultRates = { crash: 0.05, restart: 0.25, partition: 0.05, heal: 0.2, newLeader: 0.1 };

export interface SimConfig {
  readonly seed: number;
  /** members of the bootstrapped cluster, all voters */
  readonly voters: number;
  /** actions per schedule (before the liveness phase) */
  readonly steps: number;
  /** the most members (joiners included) there may ever be */
  readonly maxMembers: number;
  readonly electionTick: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly liveness: boolean;
  readonly knobs: TestingKnobs;
  /** keep this many actions for the failure report */
  readonly traceLength: number;
  readonly weights: Readonly<Record<ActionName, number>>;
  readonly faults: FaultRates;
}

export const defaultSimConfig: Omit<SimConfig, 'seed'> = {
  voters: 3,
  steps: 800,
  maxMembers: 5,
  electionTick: 5,
  maxSizePerMsg: 64,
  maxInflightMsgs: 4,
  preVote: true,
  checkQuorum: true,
  liveness: true,
  knobs: {},
  traceLength: 80,
  weights: defaultWeights,
  faults: defaultFaults,
};

export interface SimStats {
  steps: number;
  ticks: number;
  delivered: number;
  leadersElected: number;
  maxCommitted: number;
  readsAnswered: number;
  confChanges: number;
  snapshotsSent: number;
  crashes: number;
  partitions: number;
  livenessTicks: number;
}

export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly cause: unknown,
    readonly trace: readonly string[],
  ) {
    super(`seed ${seed} failed at step ${step}: ${cause instanceof Error ? cause.message : String(cause)}\nlast actions:\n  ${trace.join('\n  ')}`);
  }
}

interface Envelope {
  readonly from: bigint;
  readonly to: bigint;
  readonly bytes: Uint8Array;
  readonly type: MessageType;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Simulation implements Outbox {
  readonly checker = new ClusterChecker();
  readonly members = new Map<bigint, Member>();
  readonly stats: SimStats = {
    steps: 0,
    ticks: 0,
    delivered: 0,
    leadersElected: 0,
    maxCommitted: 0,
    readsAnswered: 0,
    confChanges: 0,
    snapshotsSent: 0,
    crashes: 0,
    partitions: 0,
    livenessTicks: 0,
  };
  /** running members, for the leader checks */
  private readonly nodes = new Map<bigint, RawNode>();
  /** members the current step touched: the ones to check */
  private readonly dirty = new Set<bigint>();
  private queue: Envelope[] = [];
  private readonly group = new Map<bigint, number>();
  private partitioned = false;
  private readonly rnd: () => number;
  private readonly trace: string[] = [];
  private proposals = 0;
  private readonly reads = new Map<string, number>();
  private nextId: bigint;
  private stepNo = 0;
  private lastLeaderKey = '';
  private readonly actions: Array<[number, () => boolean]>;
  private readonly totalWeight: number;

  constructor(readonly cfg: SimConfig) {
    this.rnd = seededRandom(cfg.seed);
    const peers: bigint[] = [];
    for (let i = 1; i <= cfg.voters; i++) peers.push(BigInt(i));
    for (const id of peers) this.addMember(id, peers);
    this.nextId = BigInt(cfg.voters + 1);
    const table: Array<[ActionName, () => boolean]> = [
      ['tick', () => this.actTick()],
      ['tickAll', () => this.actTickAll()],
      ['hup', () => this.actHup()],
      ['begin', () => this.actBegin()],
      ['finish', () => this.actFinish()],
      ['deliver', () => this.actDeliver(true)],
      ['deliverOldest', () => this.actDeliver(false)],
      ['drop', () => this.actDrop()],
      ['duplicate', () => this.actDuplicate()],
      ['propose', () => this.actPropose()],
      ['confChange', () => this.actConfChange()],
      ['readIndex', () => this.actReadIndex()],
      ['transfer', () => this.actTransfer()],
      ['snapshot', () => this.actSnapshot()],
    ];
    this.actions = table.map(([name, act]) => [cfg.weights[name], act]);
    this.totalWeight = this.actions.reduce((sum, [w]) => sum + w, 0);
  }

  private addMember(id: bigint, peers: readonly bigint[]): Member {
    const c = this.cfg;
    const opts = {
      electionTick: c.electionTick,
      heartbeatTick: 1,
      maxSizePerMsg: c.maxSizePerMsg,
      maxInflightMsgs: c.maxInflightMsgs,
      preVote: c.preVote,
      checkQuorum: c.checkQuorum,
      testingKnobs: c.knobs,
    };
    const m = new Member(id, peers, [], opts, c.seed, this.checker);
    this.members.set(id, m);
    this.group.set(id, 0);
    this.nodes.set(id, m.node!);
    this.dirty.add(id);
    return m;
  }

  // ---- the network ----

  send(from: bigint, m: Message): void {
    if (m.type === MessageType.MsgSnap) this.stats.snapshotsSent++;
    this.queue.push({ from, to: m.to, bytes: encodeMessage(m), type: m.type });
  }

  private deliver(i: number): void {
    const env = this.queue[i]!;
    this.queue.splice(i, 1);
    const to = this.members.get(env.to);
    if (to?.node === undefined || this.group.get(env.from) !== this.group.get(env.to)) {
      this.lost(env);
      return;
    }
    this.stats.delivered++;
    this.dirty.add(env.to);
    to.node.step(decodeMessage(env.bytes));
    if (env.type === MessageType.MsgSnap) this.report(env, true);
  }

  /** what a transport reports when it cannot deliver */
  private lost(env: Envelope): void {
    if (env.type === MessageType.MsgSnap) this.report(env, false);
    else if (env.type === MessageType.MsgApp) {
      const sender = this.members.get(env.from)?.node;
      if (sender !== undefined) {
        sender.reportUnreachable(env.to);
        this.dirty.add(env.from);
      }
    }
  }

  private report(env: Envelope, ok: boolean): void {
    const sender = this.members.get(env.from)?.node;
    if (sender === undefined) return;
    sender.reportSnapshot(env.to, ok);
    this.dirty.add(env.from);
  }

  // ---- helpers ----

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.rnd() * xs.length)];
  }

  private alive(): Member[] {
    const out: Member[] = [];
    for (const m of this.members.values()) if (m.node !== undefined) out.push(m);
    return out;
  }

  /** the running leader of the highest term, if any */
  leader(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members.values()) {
      const n = m.node;
      if (n?.raft.role !== StateRole.Leader) continue;
      if (best === undefined || n.term > best.node!.term) best = m;
    }
    return best;
  }

  private note(s: string): void {
    this.trace.push(`${this.stepNo}: ${s}`);
    if (this.trace.length > this.cfg.traceLength) this.trace.shift();
  }

  private propose(m: Member, data: string): boolean {
    this.dirty.add(m.id);
    try {
      m.node!.propose(encoder.encode(data));
      return true;
    } catch (err) {
      if (err instanceof ProposalDroppedError) return false;
      throw err;
    }
  }

  // ---- time and faults ----

  private tickMember(m: Member): void {
    m.node!.tick();
    this.dirty.add(m.id);
  }

  private actTick(): boolean {
    const m = this.pick(this.alive());
    if (m === undefined) return false;
    this.note(`tick ${m.id}`);
    this.tickMember(m);
    return true;
  }

  /** time passes for everyone; faults arrive with time */
  private actTickAll(): boolean {
    this.note('tick all');
    this.stats.ticks++;
    for (const m of this.alive()) this.tickMember(m);
    const f = this.cfg.faults;
    if (this.rnd() < f.crash) this.crash();
    if (this.rnd() < f.restart) this.restart();
    if (this.rnd() < f.partition) this.partition();
    if (this.partitioned && this.rnd() < f.heal) this.heal();
    return true;
  }

  /** a member's election timer fires early (clock skew): it campaigns now; PreVote and leases still apply */
  private actHup(): boolean {
    const m = this.pick(this.alive().filter((x) => x.node!.raft.role !== StateRole.Leader && x.node!.raft.promotable()));
    if (m === undefined) return false;
    this.note(`election timeout ${m.id}`);
    m.node!.campaign();
    this.dirty.add(m.id);
    return true;
  }

  private crash(): void {
    // Half the time the leader: leadership changes with entries in flight are where Raft is subtle.
    const l = this.leader();
    const m = l !== undefined && this.rnd() < 0.5 ? l : this.pick(this.alive());
    if (m !== undefined) this.crashMember(m);
  }

  private crashMember(m: Member): void {
    this.note(`crash ${m.id}${m.writing ? ' (during a write)' : ''}`);
    this.stats.crashes++;
    m.crash();
    this.nodes.delete(m.id);
  }

  private restart(): void {
    const m = this.pick([...this.members.values()].filter((x) => !x.alive));
    if (m === undefined) return;
    this.note(`restart ${m.id}`);
    m.restart();
    this.nodes.set(m.id, m.node!);
    this.dirty.add(m.id);
  }

  private partition(): void {
    const ids = [...this.members.keys()];
    if (this.rnd() < 0.5) {
      const l = this.leader();
      this.isolate(l !== undefined && this.rnd() < 0.5 ? l.id : this.pick(ids)!);
      return;
    }
    for (const id of ids) this.group.set(id, this.rnd() < 0.5 ? 0 : 1);
    this.partitioned = true;
    this.stats.partitions++;
    this.note(`partition ${ids.map((id) => `${id}:${this.group.get(id)}`).join(' ')}`);
  }

  private isolate(lonely: bigint): void {
    for (const id of this.members.keys()) this.group.set(id, id === lonely ? 1 : 0);
    this.partitioned = true;
    this.stats.partitions++;
    this.note(`partition: isolate ${lonely}`);
  }

  private heal(): void {
    this.note('heal');
    for (const id of this.members.keys()) this.group.set(id, 0);
    this.partitioned = false;
  }

  // ---- Readys and messages ----

  private actBegin(): boolean {
    const m = this.pick(this.alive().filter((x) => !x.writing && x.node!.hasReady()));
    if (m === undefined) return false;
    this.note(`ready ${m.id}: begin write`);
    this.dirty.add(m.id);
    return m.begin(this);
  }

  private actFinish(): boolean {
    const m = this.pick(this.alive().filter((x) => x.writing));
    if (m === undefined) return false;
    this.note(`ready ${m.id}: write done, apply, advance`);
    this.dirty.add(m.id);
    return m.finish(this);
  }

  private actDeliver(random: boolean): boolean {
    if (this.queue.length === 0) return false;
    const i = random ? Math.floor(this.rnd() * this.queue.length) : 0;
    const env = this.queue[i]!;
    const lost = this.members.get(env.to)?.node === undefined || this.group.get(env.from) !== this.group.get(env.to);
    this.note(`${lost ? 'lose' : 'deliver'} ${MessageType[env.type]} ${env.from}→${env.to}`);
    this.deliver(i);
    return true;
  }

  private actDrop(): boolean {
    if (this.queue.length === 0) return false;
    const i = Math.floor(this.rnd() * this.queue.length);
    const env = this.queue[i]!;
    this.note(`drop ${MessageType[env.type]} ${env.from}→${env.to}`);
    this.queue.splice(i, 1);
    this.lost(env);
    return true;
  }

  private actDuplicate(): boolean {
    const env = this.pick(this.queue);
    if (env === undefined) return false;
    this.note(`duplicate ${MessageType[env.type]} ${env.from}→${env.to}`);
    this.queue.push(env);
    return true;
  }

  // ---- the clients ----

  private actPropose(): boolean {
    // Mostly at a leader (a stale one too: its entries are the ones later overwritten), mostly where a
    // leader is known.
    const leaders = this.alive().filter((x) => x.node!.raft.role === StateRole.Leader);
    const m = leaders.length > 0 && this.rnd() < 0.7 ? this.pick(leaders) : this.pick(this.alive());
    if (m === undefined || (m.node!.leader === 0n && this.rnd() < 0.95)) return false;
    const data = `p${++this.proposals}`;
    const ok = this.propose(m, data);
    this.note(`propose ${data} at ${m.id}${ok ? '' : ' (dropped)'}`);
    return true;
  }

  private actConfChange(): boolean {
    const l = this.leader();
    if (l === undefined) return false;
    const cs = l.node!.status().config;
    const choice = this.rnd();
    let type: ConfChangeType;
    let nodeId: bigint;
    if (choice < 0.4 && this.members.size < this.cfg.maxMembers) {
      type = ConfChangeType.AddLearnerNode;
      nodeId = this.nextId;
    } else if (choice < 0.75 && cs.learners.length > 0) {
      type = ConfChangeType.PromoteLearner;
      nodeId = this.pick(cs.learners)!;
    } else if (cs.voters.length > 2) {
      type = ConfChangeType.RemoveNode;
      nodeId = this.pick(cs.voters)!;
    } else {
      return false;
    }
    this.dirty.add(l.id);
    try {
      l.node!.proposeConfChange({ type, nodeId, context: new Uint8Array(0) });
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.note(`conf change ${ConfChangeType[type]} ${nodeId} at ${l.id} (refused: ${err.message})`);
      return true;
    }
    this.note(`conf change ${ConfChangeType[type]} ${nodeId} at ${l.id}`);
    this.stats.confChanges++;
    if (type === ConfChangeType.AddLearnerNode) {
      this.addMember(nodeId, []);
      this.nextId++;
    }
    return true;
  }

  private actReadIndex(): boolean {
    const m = this.pick(this.alive());
    if (m === undefined) return false;
    const ctx = `r${this.reads.size + 1}`;
    this.dirty.add(m.id);
    try {
      m.node!.readIndex(encoder.encode(ctx));
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.note(`read index ${ctx} at ${m.id} (dropped)`);
      return true;
    }
    this.reads.set(ctx, this.checker.maxCommitted);
    this.note(`read index ${ctx} at ${m.id} (must be ≥ ${this.checker.maxCommitted})`);
    return true;
  }

  private actTransfer(): boolean {
    const l = this.leader();
    if (l === undefined) return false;
    const to = this.pick(l.node!.status().config.voters.filter((v) => v !== l.id));
    if (to === undefined) return false;
    this.note(`transfer leadership ${l.id}→${to}`);
    l.node!.transferLeader(to);
    this.dirty.add(l.id);
    return true;
  }

  private actSnapshot(): boolean {
    const m = this.pick(this.alive());
    if (m === undefined) return false;
    const keep = Math.floor(this.rnd() * 4);
    if (!m.snapshot(keep)) return false;
    this.note(`snapshot ${m.id} at ${m.appliedIndex}, compact keeping ${keep}`);
    this.dirty.add(m.id);
    return true;
  }

  // ---- checks ----

  /** the invariants, on every member the step touched (the others did not change) */
  check(): void {
    for (const id of this.dirty) {
      const m = this.members.get(id)!;
      if (m.node === undefined) continue;
      this.checker.observe(m.node);
      for (const rs of m.readStates) {
        const ctx = decoder.decode(rs.requestCtx);
        const min = this.reads.get(ctx);
        if (min === undefined) throw new Error(`member ${m.id}: read state for unknown request ${ctx}`);
        if (rs.index < min) throw new Error(`linearizable read: ${ctx} answered at ${rs.index} at member ${m.id}, but ${min} was committed before it was asked`);
        this.stats.readsAnswered++;
      }
      m.readStates = [];
    }
    this.dirty.clear();
    this.checker.checkLeaders(this.nodes);
    const l = this.leader();
    if (l !== undefined) {
      const key = `${l.id}/${l.node!.term}`;
      if (key !== this.lastLeaderKey) {
        this.stats.leadersElected++;
        this.note(`  (${l.id} leads term ${l.node!.term})`);
        this.lastLeaderKey = key;
        if (this.stepNo <= this.cfg.steps && this.rnd() < this.cfg.faults.newLeader) this.isolate(l.id);
      }
    }
    this.stats.maxCommitted = this.checker.maxCommitted;
  }

  /** one action drawn by weight among those with something to act on */
  private randomAction(): void {
    for (let attempt = 0; attempt < 100; attempt++) {
      let x = this.rnd() * this.totalWeight;
      for (const [w, act] of this.actions) {
        x -= w;
        if (x < 0) {
          if (act()) return;
          break;
        }
      }
    }
    this.actTickAll();
  }

  /** the random schedule, then (if configured) the liveness phase; throws SimFailure */
  run(): SimStats {
    try {
      this.check();
      for (this.stepNo = 1; this.stepNo <= this.cfg.steps; this.stepNo++) {
        this.randomAction();
        this.check();
      }
      this.stats.steps = this.cfg.steps;
      if (this.cfg.liveness) this.liveness();
    } catch (err) {
      throw new SimFailure(this.cfg.seed, this.stepNo, err, this.trace);
    }
    return this.stats;
  }

  // ---- liveness ----

  /** delivers everything and completes every write until the cluster is quiet (no time passes) */
  private settle(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      let busy = false;
      for (const m of this.members.values()) {
        if (m.writing) busy = m.finish(this) || busy;
        while (m.process(this)) busy = true;
        this.dirty.add(m.id);
      }
      while (this.queue.length > 0) {
        this.deliver(0);
        busy = true;
      }
      this.check();
      if (!busy) return;
    }
    throw new Error('liveness: the cluster never went quiet');
  }

  /** after healing and restarting everyone, with no more faults, a leader is elected and a proposal commits */
  private liveness(): void {
    this.stepNo = this.cfg.steps + 1;
    this.note('liveness: heal, restart everyone, no more faults');
    this.heal();
    for (const m of this.members.values()) {
      if (!m.alive) {
        m.restart();
        this.nodes.set(m.id, m.node!);
      }
      this.dirty.add(m.id);
    }
    const limit = this.cfg.electionTick * 60;
    const data = `live-${this.cfg.seed}`;
    let proposedAt = '';
    for (let t = 0; t < limit; t++) {
      this.settle();
      const l = this.leader();
      if (l !== undefined && l.appliedData.includes(data)) {
        this.stats.livenessTicks = t;
        return;
      }
      if (l !== undefined) {
        const key = `${l.id}/${l.node!.term}`;
        // (Re)propose to each new leader, and periodically in case it was dropped by a transfer.
        if (key !== proposedAt || t % this.cfg.electionTick === 0) {
          if (this.propose(l, data)) proposedAt = key;
        }
      }
      this.note('liveness: tick all');
      for (const m of this.alive()) this.tickMember(m);
      this.check();
    }
    const roles = [...this.members.values()].map((m) => {
      const s = m.node!.status();
      return `${m.id}:${StateRole[s.role]}/t${s.term}/c${s.commit}/cfg[${s.config.voters.join(',')}|${s.config.learners.join(',')}]`;
    });
    throw new Error(`liveness: no leader committed a proposal within ${limit} ticks after healing (${roles.join(' ')})`);
  }
}

export type SimOverrides = Partial<Omit<SimConfig, 'seed'>>;

/** no PreVote and no CheckQuorum: a leader cut off lives on until it hears of a newer term, so only the
 *  ReadIndex quorum round keeps its reads from going stale */
export const staleLeaderProfile: SimOverrides = {
  preVote: false,
  checkQuorum: false,
  weights: { ...defaultWeights, readIndex: 3 },
  faults: { ...defaultFaults, partition: 0.15, heal: 0.1 },
};

/** long schedules of leadership churn: where a wrong commit rule shows (see the broken-rule tests) */
export const churnProfile: SimOverrides = {
  steps: 3000,
  electionTick: 3,
  maxSizePerMsg: 1,
  faults: { crash: 0.02, restart: 0.25, partition: 0.15, heal: 0.3, newLeader: 0.5 },
  weights: { ...defaultWeights, confChange: 0, snapshot: 0, tickAll: 3 },
};

/** the mixes of cluster size, network and faults the test suite cycles through, one per seed */
export const profiles: ReadonlyArray<{ readonly name: string; readonly config: SimOverrides }> = [
  { name: 'three voters', config: {} },
  { name: 'five voters', config: { voters: 5, maxMembers: 7, steps: 1000 } },
  {
    name: 'lossy network, one entry per message',
    config: { maxSizePerMsg: 1, maxInflightMsgs: 2, weights: { ...defaultWeights, drop: 5, duplicate: 3 } },
  },
  {
    name: 'membership changes and snapshots',
    config: { maxMembers: 6, weights: { ...defaultWeights, confChange: 3, snapshot: 3 } },
  },
  { name: 'no PreVote, no CheckQuorum', config: staleLeaderProfile },
  {
    name: 'leadership churn',
    config: { ...churnProfile, steps: 800, weights: defaultWeights },
  },
];

export function profileFor(seed: number): { readonly name: string; readonly config: SimOverrides } {
  return profiles[seed % profiles.length]!;
}

/** runs one schedule (of the seed's profile unless overridden); throws SimFailure naming the seed */
export function runSchedule(seed: number, overrides?: SimOverrides): SimStats {
  return new Simulation({ ...defaultSimConfig, ...(overrides ?? profileFor(seed).config), seed }).run();
}

export interface SeedRange {
  readonly first: number;
  readonly last: number;
  readonly stride: number;
}

export interface SeedsResult {
  readonly schedules: number;
  readonly stats: Record<string, number>;
  readonly failures: ReadonlyArray<{ readonly seed: number; readonly profile: string; readonly message: string }>;
}

/** runs seeds first, first + stride, … ≤ last, each with its profile; stops after a few failures */
export function runSeeds(range: SeedRange, overrides?: SimOverrides): SeedsResult {
  const stats: Record<string, number> = {};
  const failures: Array<{ seed: number; profile: string; message: string }> = [];
  let schedules = 0;
  for (let seed = range.first; seed <= range.last; seed += range.stride) {
    schedules++;
    try {
      const st = runSchedule(seed, overrides);
      for (const k of Object.keys(st) as Array<keyof SimStats>) stats[k] = (stats[k] ?? 0) + st[k];
    } catch (err) {
      failures.push({ seed, profile: overrides === undefined ? profileFor(seed).name : 'custom', message: err instanceof Error ? err.message : String(err) });
      if (failures.length >= 3) break;
    }
  }
  return { schedules, stats, failures };
}
