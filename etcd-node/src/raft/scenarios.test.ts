// Scenario tests for elections and replication, written as scripts over the Cluster DSL (scenario.ts).
// Every delivery and every Ready is followed by the cluster-wide invariant checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageType, StateRole, type Message } from './messages.js';
import { ProgressState } from './progress.js';
import { Cluster } from './scenario.js';
import { InvariantViolation } from './sim-checker.js';

const isApp = (m: Message): boolean => m.type === MessageType.MsgApp;

describe('leader election', () => {
  test('a leader is elected by timeouts; everyone follows it', () => {
    const c = new Cluster({ voters: 3, electionTick: 10 });
    for (let i = 0; i < 40 && c.leader() === undefined; i++) c.tick('all');
    const l = c.leader();
    assert.ok(l !== undefined, 'a leader within 4 election timeouts');
    for (const id of [1, 2, 3]) {
      assert.equal(c.node(id).leader, l);
      const r = c.node(id).raft;
      assert.ok(r.randomizedElectionTimeout >= 10 && r.randomizedElectionTimeout < 20);
    }
    // The new leader's empty entry of its term is committed everywhere.
    const term = c.node(l).term;
    for (const id of [1, 2, 3]) assert.equal(c.logTerms(id).at(-1), term);
    assert.equal(c.status(1).commit, c.status(l).commit);
  });

  test('a single voter elects itself and commits on its own', () => {
    const c = new Cluster({ voters: 1 });
    c.campaign(1);
    assert.equal(c.role(1), StateRole.Leader);
    assert.ok(c.propose(1, 'solo'));
    assert.deepEqual(c.applied(1), ['solo']);
  });

  test('an old leader cut off by a partition is replaced; on rejoin it follows and loses its uncommitted entries', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.propose(1, 'committed');
    c.isolate(1);
    // The old leader still takes a proposal, but it can never commit.
    assert.ok(c.propose(1, 'lost'));
    assert.deepEqual(c.applied(1), ['committed']);
    c.tick([2, 3], 10);
    c.campaign(2);
    assert.equal(c.leader(), 2n);
    assert.ok(c.node(2).term > c.node(1).term);
    c.propose(2, 'new');
    c.heal();
    c.tick('all', 2);
    assert.equal(c.role(1), StateRole.Follower);
    assert.equal(c.node(1).leader, 2n);
    for (const id of [1, 2, 3]) assert.deepEqual(c.applied(id), ['committed', 'new']);
  });

  test('PreVote: a partitioned member does not raise its term and does not disrupt the leader when it returns', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    const term = c.node(1).term;
    c.isolate(3);
    c.tick(3, 50);
    assert.equal(c.node(3).term, term, 'pre-elections never reach a quorum, so the term stays');
    c.heal();
    c.tick('all', 3);
    assert.equal(c.leader(), 1n);
    assert.equal(c.node(1).term, term);
    assert.equal(c.node(3).leader, 1n);
  });

  test('without PreVote the same member comes back with a higher term and deposes the leader', () => {
    const c = new Cluster({ voters: 3, preVote: false });
    c.campaign(1);
    const term = c.node(1).term;
    c.isolate(3);
    c.tick(3, 50);
    assert.ok(c.node(3).term > term);
    c.heal();
    c.tick('all', 3);
    assert.ok(c.node(1).term > term, 'the leader learned the higher term');
  });

  test('CheckQuorum: a leader that hears from no quorum for a whole election timeout steps down', () => {
    const c = new Cluster({ voters: 3, electionTick: 10 });
    c.campaign(1);
    c.isolate(1);
    // The first check, an election timeout after the election, counts the answers from before the cut.
    c.tick(1, 19);
    assert.equal(c.role(1), StateRole.Leader);
    c.tick(1, 1);
    assert.equal(c.role(1), StateRole.Follower);
    assert.equal(c.node(1).leader, 0n);
  });

  test('leader lease: followers that heard from the leader recently ignore a vote request', () => {
    const c = new Cluster({ voters: 3, preVote: false });
    c.campaign(1);
    const term = c.node(1).term;
    c.node(3).campaign(); // 3 asks for votes of term+1 while 2 is in the lease
    c.stabilize();
    assert.equal(c.node(2).term, term, '2 ignored the request and kept its term');
    assert.notEqual(c.role(3), StateRole.Leader);
  });
});

describe('commitment (the Raft paper, Figures 7 and 8)', () => {
  test('Figure 7: a new leader brings every follower log, however it differs, to its own', () => {
    // The leader (1) and followers a–f (2–7) of Figure 7, all at term 7 before the election.
    const logs = {
      1: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6],
      2: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      3: [1, 1, 1, 4],
      4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      6: [1, 1, 1, 4, 4, 4, 4],
      7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const c = new Cluster({
      voters: 7,
      logs: Object.fromEntries(Object.entries(logs).map(([id, terms]) => [id, { terms, term: 7 }])),
    });
    c.campaign(1);
    assert.equal(c.leader(), 1n, 'a, b, e and f vote for 1; c and d have longer logs and refuse');
    assert.equal(c.node(1).term, 8);
    const expected = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8];
    for (let id = 1; id <= 7; id++) assert.deepEqual(c.logTerms(id), expected, `member ${id}`);
    assert.equal(c.status(1).commit, 11);
    // Followers with conflicting entries were probed back (rejections with a hint), then replicated to.
    const rejections = c.sent.filter((m) => m.type === MessageType.MsgAppResp && m.reject);
    assert.ok(rejections.some((m) => m.from === 7n && m.logTerm === 3), 'f rejects, hinting at its term-3 entries');
    for (const pr of c.status(1).progress.values()) assert.equal(pr.state, ProgressState.Replicate);
  });

  /** Figure 8 (c): S1 leads term 4 and has replicated its term-2 entry at index 2 to a majority. */
  function figure8(knobs = {}): Cluster {
    const c = new Cluster({
      voters: 5,
      maxSizePerMsg: 1,
      knobs,
      logs: {
        1: { terms: [1, 2], term: 3, commit: 1 },
        2: { terms: [1], term: 3, commit: 1 },
        3: { terms: [1], term: 3, commit: 1 },
        4: { terms: [1], term: 3, commit: 1 },
        5: { terms: [1, 3], term: 3, commit: 1 },
      },
    });
    // S2 and S3 get the term-2 entry but never the leader's term-4 entry; S4 and S5 hear nothing.
    const seen = new Set<bigint>();
    c.drop((m) => {
      if (!isApp(m) || !m.entries.some((e) => e.term === 4)) return false;
      if (m.to === 4n || m.to === 5n) return true;
      // The first term-4 append only probes (it is rejected: index 2 is missing); later ones are lost.
      if (seen.has(m.to)) return true;
      seen.add(m.to);
      return false;
    });
    c.campaign(1);
    assert.equal(c.leader(), 1n);
    assert.equal(c.node(1).term, 4);
    for (const id of [1, 2, 3]) assert.deepEqual(c.logTerms(id).slice(0, 2), [1, 2]);
    return c;
  }

  test('Figure 8: a leader does not commit an entry of an earlier term by counting replicas', () => {
    const c = figure8();
    assert.equal(c.status(1).progress.get(2n)?.match, 2);
    assert.equal(c.status(1).progress.get(3n)?.match, 2);
    assert.equal(c.status(1).commit, 1, 'index 2 is on 3 of 5 members but is of term 2');
    // S1 crashes; S5 (last entry of term 3) wins with S2, S3, S4 and overwrites index 2: legitimately,
    // since it was never committed.
    c.crash(1);
    c.heal();
    c.tick([2, 3, 4, 5], 10);
    c.campaign(5);
    assert.equal(c.leader(), 5n);
    for (const id of [2, 3, 4, 5]) assert.deepEqual(c.logTerms(id).slice(0, 2), [1, 3]);
  });

  test('Figure 8: once the leader’s own entry reaches a majority, everything before it commits', () => {
    const c = figure8();
    c.heal();
    c.tick('all', 1);
    assert.equal(c.status(1).commit, 3);
    for (const id of [1, 2, 3, 4, 5]) assert.deepEqual(c.logTerms(id), [1, 2, 4]);
  });

  test('Figure 8 with the rule broken (test knob): the checks catch the lost committed entry', () => {
    const c = figure8({ commitOldTermEntries: true });
    assert.equal(c.status(1).commit, 2, 'the broken rule commits the term-2 entry');
    c.crash(1);
    c.heal();
    c.tick([2, 3, 4], 10);
    assert.throws(
      () => c.campaign(5),
      (err: unknown) => err instanceof InvariantViolation && /leader completeness|commit safety/.test(err.message),
    );
  });
});

describe('replication', () => {
  test('log conflict repair: probe back a term at a time, then replicate', () => {
    const c = new Cluster({
      voters: 3,
      logs: {
        1: { terms: [1, 1, 2, 2], term: 2 },
        2: { terms: [1, 1, 2, 2], term: 2 },
        3: { terms: [1, 1, 1, 1, 1], term: 2 },
      },
    });
    c.node(1).campaign();
    c.processReadies();
    c.deliverQueued(); // pre-votes
    c.processReadies();
    c.deliverQueued(); // pre-vote answers
    c.processReadies();
    c.deliverQueued(); // votes
    c.processReadies();
    c.deliverQueued(); // vote answers: 1 wins
    assert.equal(c.role(1), StateRole.Leader);
    assert.equal(c.status(1).progress.get(3n)?.state, ProgressState.Probe);
    c.stabilize();
    const fromThree = c.sent.filter((m) => m.from === 3n && m.type === MessageType.MsgAppResp);
    const rejection = fromThree.find((m) => m.reject);
    assert.ok(rejection !== undefined);
    assert.equal(rejection.rejectHint, 4, '3 matches at most up to index 4');
    assert.equal(rejection.logTerm, 1, '…where it holds term 1');
    // The leader skips its whole term-2 run in one step and probes from index 2.
    assert.ok(c.sent.some((m) => isApp(m) && m.to === 3n && m.index === 2 && m.logTerm === 1));
    assert.deepEqual(c.logTerms(3), [1, 1, 2, 2, 3]);
    assert.equal(c.status(1).progress.get(3n)?.state, ProgressState.Replicate);
  });

  test('flow control: at most maxInflightMsgs unacknowledged appends per follower', () => {
    const c = new Cluster({ voters: 3, maxInflightMsgs: 2, maxSizePerMsg: 1 });
    c.campaign(1);
    c.drop((m) => m.type === MessageType.MsgAppResp);
    for (let i = 0; i < 6; i++) c.node(1).propose(new TextEncoder().encode(`e${i}`));
    c.stabilize();
    const pr = c.status(1).progress.get(2n)!;
    assert.equal(pr.state, ProgressState.Replicate);
    assert.equal(pr.inflight, 2);
    assert.ok(pr.paused);
    c.heal();
    c.tick('all', 2);
    assert.equal(c.applied(2).length, 6);
  });

  test('a follower far behind gets a snapshot, then the entries after it', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `v${i}`);
    assert.ok(c.member(1).snapshot(0));
    const snapIndex = c.member(1).storage.snapshot().meta.index;
    assert.equal(c.member(1).storage.firstIndex(), snapIndex + 1, 'the leader compacted its log');
    c.heal();
    c.tick('all', 2);
    assert.ok(c.sent.some((m) => m.type === MessageType.MsgSnap && m.to === 3n));
    assert.equal(c.member(3).storage.snapshot().meta.index, snapIndex, '3 persisted the snapshot');
    c.propose(1, 'after');
    assert.deepEqual(c.applied(3), ['after'], 'entries after the snapshot are applied on top of it');
    assert.equal(c.member(3).appliedIndex, c.member(1).appliedIndex);
    assert.equal(c.status(1).progress.get(3n)?.state, ProgressState.Replicate);
  });

  test('a member restarts from what it persisted only, and catches up', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.propose(1, 'a');
    c.propose(1, 'b');
    c.crash(2);
    c.propose(1, 'c');
    c.restart(2);
    assert.deepEqual(c.applied(2), ['a', 'b'], 'the log on disk is applied again after a restart');
    c.tick('all', 1);
    assert.deepEqual(c.applied(2), ['a', 'b', 'c']);
    // All three down and back: nothing committed is lost.
    for (const id of [1, 2, 3]) c.crash(id);
    for (const id of [1, 2, 3]) c.restart(id);
    for (let i = 0; i < 40 && c.leader() === undefined; i++) c.tick('all');
    assert.ok(c.propose(Number(c.leader()), 'd'));
    for (const id of [1, 2, 3]) assert.deepEqual(c.applied(id), ['a', 'b', 'c', 'd']);
  });
});
