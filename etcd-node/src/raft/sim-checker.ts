// Cluster-wide Raft invariants, checked by the simulator and the scenario tests after every step. Each
// check is incremental, so it stays cheap across thousands of schedules:
//   election safety      at most one leader per term
//   log matching         every (index, term) names one entry with one predecessor term, in every log
//                        (by induction: two logs agreeing on (index, term) agree on everything before)
//   leader completeness  an entry known committed is in the log of every leader of its term or later
//   commit safety        no two members consider different entries committed at the same index
//   state machine safety no two members apply different entries at the same index; snapshots match
//   leader append-only   while a member leads a term, its log only grows at the end
//   monotonic commit     a member's commit index never decreases while it runs; applied ≤ committed
// plus each member's own RawNode.checkInvariants().
import { StateRole } from './messages.js';
import type { RawNode } from './raw-node.js';
import type { Entry, HardState } from './types.js';

export class InvariantViolation extends Error {
  readonly code = 'RAFT_INVARIANT';
}

/** identifies an entry's content: type and data (simulated proposals are unique strings) */
const fingerprints = new WeakMap<Entry, string>();

export function fingerprint(e: Entry): string {
  let s = fingerprints.get(e);
  if (s !== undefined) return s;
  s = computeFingerprint(e);
  fingerprints.set(e, s);
  return s;
}

function computeFingerprint(e: Entry): string {
  let s = `${e.type}:`;
  const d = e.data;
  for (let i = 0; i < d.length; i += 4096) s += String.fromCharCode(...d.subarray(i, i + 4096));
  return s;
}

/** the state-machine hash after applying `fp` to a state with hash `h` */
export function mixHash(h: number, fp: string): number {
  let x = h ^ 0x9e3779b9;
  for (let i = 0; i < fp.length; i++) x = Math.imul(x ^ fp.charCodeAt(i), 0x01000193);
  return x >>> 0;
}

interface LeaderView {
  term: number;
  lastIndex: number;
  lastTerm: number;
}

interface CommittedEntry {
  term: number;
  fp: string;
  /** the smallest term of a member that saw it committed */
  seenInTerm: number;
}

export class ClusterChecker {
  private readonly leaderOfTerm = new Map<number, bigint>();
  /** `${index}/${term}` → `${fingerprint}|${previous term}` */
  private readonly entries = new Map<string, string>();
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly applied = new Map<number, string>();
  private readonly chain = new Map<number, number>();
  private readonly commitSeen = new Map<bigint, number>();
  private readonly leaderViews = new Map<bigint, LeaderView>();
  /** the highest index any member has seen committed: a read issued now must be served at least here */
  maxCommitted = 0;

  private fail(msg: string): never {
    throw new InvariantViolation(msg);
  }

  private readonly persistedVotes = new Map<string, bigint>();
  private readonly persistedTerms = new Map<bigint, number>();

  /** a member made its hard state durable: a vote, once on disk, is never replaced within its term, and
   *  the durable term never goes back */
  persisted(id: bigint, hs: HardState): void {
    const before = this.persistedTerms.get(id) ?? 0;
    if (hs.term < before) this.fail(`member ${id} persisted term ${hs.term} after term ${before}`);
    this.persistedTerms.set(id, hs.term);
    if (hs.vote === 0n) return;
    const key = `${id}/${hs.term}`;
    const earlier = this.persistedVotes.get(key);
    if (earlier !== undefined && earlier !== hs.vote) this.fail(`election safety: member ${id} voted for ${earlier} and then ${hs.vote} in term ${hs.term}`);
    this.persistedVotes.set(key, hs.vote);
  }

  /** a member restarted: its volatile marks start again from its persisted state */
  restarted(id: bigint): void {
    this.commitSeen.delete(id);
    this.leaderViews.delete(id);
  }

  /** checks one running member; call for every running member after every step */
  observe(node: RawNode): void {
    node.checkInvariants();
    const r = node.raft;
    const id = r.id;
    const log = r.log;
    // Log matching: every entry not yet durable (new entries always pass through here first).
    const un = log.unstable;
    let prevTerm = log.term(un.offset - 1);
    for (const e of un.entries) {
      this.recordEntry(id, e, prevTerm);
      prevTerm = e.term;
    }
    // Commit: monotonic, and the newly committed entries registered.
    const seen = this.commitSeen.get(id);
    if (seen !== undefined && log.committed < seen) this.fail(`member ${id}: commit went back from ${seen} to ${log.committed}`);
    if (log.applied > log.committed) this.fail(`member ${id}: applied ${log.applied} > committed ${log.committed}`);
    const from = Math.max(seen ?? 0, log.firstIndex() - 1) + 1;
    for (let i = from; i <= log.committed; i++) {
      const e = log.slice(i, i + 1, Infinity)[0]!;
      this.recordCommitted(id, e, r.term);
    }
    this.commitSeen.set(id, log.committed);
    // Election safety and leader append-only.
    if (r.role === StateRole.Leader) {
      const other = this.leaderOfTerm.get(r.term);
      if (other !== undefined && other !== id) this.fail(`election safety: ${other} and ${id} are both leaders of term ${r.term}`);
      const view = this.leaderViews.get(id);
      const last = log.lastIndex();
      if (view !== undefined && view.term === r.term) {
        if (last < view.lastIndex || log.term(view.lastIndex) !== view.lastTerm) {
          this.fail(`leader append-only: leader ${id} of term ${r.term} lost entry ${view.lastIndex}/${view.lastTerm}`);
        }
      }
      if (other === undefined || view === undefined || view.term !== r.term) {
        this.leaderOfTerm.set(r.term, id);
        // A new leader: it must hold every entry already known committed.
        for (const [index, c] of this.committed) this.checkLeaderHas(node, index, c);
      }
      this.leaderViews.set(id, { term: r.term, lastIndex: last, lastTerm: log.termOrZero(last) });
    } else {
      this.leaderViews.delete(id);
    }
  }

  private recordEntry(id: bigint, e: Entry, prevTerm: number | undefined): void {
    const key = `${e.index}/${e.term}`;
    const val = `${fingerprint(e)}|${prevTerm ?? '?'}`;
    const known = this.entries.get(key);
    if (known === undefined) {
      this.entries.set(key, val);
    } else if (known !== val) {
      // The predecessor may be unknown (compacted) on one side; compare what both know.
      const [kfp, kprev] = splitLast(known);
      const [vfp, vprev] = splitLast(val);
      if (kfp !== vfp || (kprev !== '?' && vprev !== '?' && kprev !== vprev)) {
        this.fail(`log matching: member ${id} holds entry ${key} as ${val}, another member as ${known}`);
      }
      if (kprev === '?') this.entries.set(key, val);
    }
  }

  private recordCommitted(id: bigint, e: Entry, term: number): void {
    const fp = fingerprint(e);
    const c = this.committed.get(e.index);
    if (c !== undefined) {
      if (c.fp !== fp || c.term !== e.term) this.fail(`commit safety: member ${id} commits ${e.index}/${e.term} but ${e.index}/${c.term} was committed`);
      if (term < c.seenInTerm) c.seenInTerm = term;
      return;
    }
    const entry = { term: e.term, fp, seenInTerm: term };
    this.committed.set(e.index, entry);
    if (e.index > this.maxCommitted) this.maxCommitted = e.index;
    for (const lid of this.leaderViews.keys()) this.pendingLeaderChecks.push([lid, e.index]);
  }

  /** leaders to check against newly committed entries, run by checkLeaders() once all members are observed */
  private pendingLeaderChecks: Array<[bigint, number]> = [];

  checkLeaders(nodes: ReadonlyMap<bigint, RawNode>): void {
    const pending = this.pendingLeaderChecks;
    this.pendingLeaderChecks = [];
    for (const [lid, index] of pending) {
      const n = nodes.get(lid);
      const c = this.committed.get(index);
      if (n === undefined || c === undefined || n.raft.role !== StateRole.Leader) continue;
      this.checkLeaderHas(n, index, c);
    }
  }

  private checkLeaderHas(node: RawNode, index: number, c: CommittedEntry): void {
    const r = node.raft;
    if (r.term < c.seenInTerm) return; // a stale leader of an older term need not have it
    if (index < r.log.firstIndex()) return; // compacted into its snapshot (checked by state machine safety)
    const t = r.log.term(index);
    if (t !== c.term) this.fail(`leader completeness: leader ${r.id} of term ${r.term} has ${index}/${t ?? 'none'} but ${index}/${c.term} was committed in term ${c.seenInTerm}`);
  }

  /** a member applied entry `e` on top of state hash `before`; returns the new hash */
  apply(id: bigint, e: Entry, before: number): number {
    const fp = fingerprint(e);
    const known = this.applied.get(e.index);
    if (known === undefined) this.applied.set(e.index, fp);
    else if (known !== fp) this.fail(`state machine safety: member ${id} applies ${JSON.stringify(fp)} at ${e.index}, another applied ${JSON.stringify(known)}`);
    const c = this.committed.get(e.index);
    if (c !== undefined && c.fp !== fp) this.fail(`state machine safety: member ${id} applies an entry at ${e.index} that differs from the committed one`);
    const after = mixHash(before, fp);
    this.checkChain(id, e.index, after);
    return after;
  }

  /** a member's state machine is (index, hash): after a snapshot restore, or after applying */
  checkChain(id: bigint, index: number, hash: number): void {
    const known = this.chain.get(index);
    if (known === undefined) this.chain.set(index, hash);
    else if (known !== hash) this.fail(`state machine safety: member ${id} has state ${hash} at ${index}, another had ${known}`);
  }
}

function splitLast(s: string): [string, string] {
  const i = s.lastIndexOf('|');
  return [s.slice(0, i), s.slice(i + 1)];
}
