// Scenario tests for membership: learners, promotion, removal (the leader too), one change at a time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfChangeType, type ConfChange } from './confchange.js';
import { MessageType, newMessage, StateRole } from './messages.js';
import { ProposalDroppedError } from './node.js';
import { Cluster } from './scenario.js';
import { EntryType } from './types.js';

const cc = (type: ConfChangeType, id: number): ConfChange => ({ type, nodeId: BigInt(id), context: new Uint8Array(0) });

describe('learners', () => {
  test('a learner receives the log, never campaigns, and never counts toward a quorum', () => {
    const c = new Cluster({ voters: 3, learners: [4] });
    c.campaign(1);
    c.propose(1, 'x');
    assert.deepEqual(c.applied(4), ['x'], 'the learner applies the log');
    // Left alone for many election timeouts, it never campaigns.
    c.isolate(4);
    c.tick(4, 100);
    assert.equal(c.role(4), StateRole.Follower);
    assert.equal(c.node(4).term, c.node(1).term);
    c.heal();
    // With both other voters cut off, the leader and the learner are two members but not a quorum.
    c.partition([1, 4], [2, 3]);
    c.propose(1, 'y');
    assert.equal(c.status(1).progress.get(4n)?.match, c.node(1).raft.log.lastIndex(), 'the learner acknowledged');
    assert.deepEqual(c.applied(1), ['x'], 'but it does not count: y is not committed');
    c.heal();
    c.tick('all', 1);
    assert.deepEqual(c.applied(1), ['x', 'y']);
  });

  test('a vote from a learner is not counted', () => {
    const c = new Cluster({ voters: 3, learners: [4], preVote: false });
    c.isolate(1);
    c.node(1).campaign();
    c.processReadies();
    assert.equal(c.role(1), StateRole.Candidate);
    const term = c.node(1).term;
    c.node(1).step(newMessage({ type: MessageType.MsgVoteResp, from: 4n, to: 1n, term }));
    assert.equal(c.role(1), StateRole.Candidate, 'one vote of its own and one of a learner is no majority of 3');
    c.node(1).step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term }));
    assert.equal(c.role(1), StateRole.Leader);
  });

  test('a candidate asks only voters', () => {
    const c = new Cluster({ voters: 3, learners: [4] });
    c.campaign(1);
    const asked = c.sent.filter((m) => m.type === MessageType.MsgPreVote || m.type === MessageType.MsgVote).map((m) => m.to);
    assert.ok(!asked.includes(4n));
  });

  test('add a learner to a running cluster, let it catch up, promote it; it can then lead', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.propose(1, 'before');
    c.addEmptyMember(4);
    assert.ok(c.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4)));
    c.tick('all', 2);
    assert.deepEqual(c.status(1).config, { voters: [1n, 2n, 3n], learners: [4n] });
    assert.deepEqual(c.applied(4), ['before'], 'the new learner got the whole log');
    // MemberPromote's check: caught up = match equals the leader's last index.
    const pr = c.status(1).progress.get(4n)!;
    assert.ok(pr.isLearner);
    assert.equal(pr.match, c.node(1).raft.log.lastIndex());
    assert.ok(c.proposeConfChange(1, cc(ConfChangeType.PromoteLearner, 4)));
    for (const id of [1, 2, 3, 4]) assert.deepEqual(c.status(id).config, { voters: [1n, 2n, 3n, 4n], learners: [] });
    assert.equal(c.status(1).progress.get(4n)?.isLearner, false);
    c.node(1).transferLeader(4n);
    c.stabilize();
    assert.equal(c.leader(), 4n);
  });
});

describe('removing members', () => {
  test('remove a voter: the rest commit without it, and the quorum shrinks', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    assert.ok(c.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 3)));
    assert.deepEqual(c.status(1).config.voters, [1n, 2n]);
    assert.ok(!c.status(1).progress.has(3n));
    c.crash(3);
    assert.ok(c.propose(1, 'two of two'));
    assert.deepEqual(c.applied(2), ['two of two']);
  });

  test('the leader removes itself: it steps down, hands over at once, and never campaigns again', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    const term = c.node(1).term;
    assert.ok(c.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 1)));
    assert.equal(c.role(1), StateRole.Follower);
    const l = c.leader();
    assert.ok(l === 2n || l === 3n, 'a caught-up voter took over without waiting for a timeout');
    assert.equal(c.node(l).term, term + 1);
    assert.ok(c.sent.some((m) => m.type === MessageType.MsgTimeoutNow && m.from === 1n));
    assert.deepEqual(c.status(l).config.voters, [2n, 3n]);
    c.tick(1, 100);
    assert.notEqual(c.role(1), StateRole.Leader);
    assert.equal(c.node(1).term, term, 'the removed member is no longer asked, and never campaigns');
    assert.ok(c.propose(Number(l), 'after'));
  });

  test('one configuration change at a time', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.addEmptyMember(4);
    c.node(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4));
    // Not applied yet: a second change is refused.
    assert.throws(() => c.node(1).proposeConfChange(cc(ConfChangeType.RemoveNode, 3)), ProposalDroppedError);
    c.stabilize();
    // Applied: the next one is accepted.
    assert.ok(c.proposeConfChange(1, cc(ConfChangeType.PromoteLearner, 4)));
    assert.deepEqual(c.status(1).config.voters, [1n, 2n, 3n, 4n]);
  });

  test('a new leader accepts no change before an entry of its own term is applied', () => {
    const c = new Cluster({ voters: 3 });
    c.drop((m) => m.type === MessageType.MsgAppResp);
    c.campaign(1);
    assert.equal(c.role(1), StateRole.Leader);
    assert.throws(() => c.node(1).proposeConfChange(cc(ConfChangeType.RemoveNode, 3)), ProposalDroppedError);
    c.heal();
    c.tick('all', 1);
    assert.ok(c.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 3)));
  });

  test('a change forwarded by a follower while another is pending becomes an empty entry', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.addEmptyMember(4);
    c.node(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4));
    c.node(2).proposeConfChange(cc(ConfChangeType.RemoveNode, 3)); // forwarded to 1
    c.stabilize();
    assert.deepEqual(c.status(1).config, { voters: [1n, 2n, 3n], learners: [4n] });
    const log = c.node(1).raft.log.allEntries();
    assert.equal(log.filter((e) => e.type === EntryType.ConfChange).length, 4, '3 bootstrap entries and the learner');
    assert.equal(log.at(-1)?.data.length, 0, 'the refused change left an empty entry');
  });
});
