// Scenario tests for ReadIndex and leadership transfer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageType, StateRole, type Message } from './messages.js';
import { ProposalDroppedError } from './node.js';
import { Cluster } from './scenario.js';

const roundHeartbeat = (m: Message): boolean => m.type === MessageType.MsgHeartbeat && m.context.length > 0;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('ReadIndex', () => {
  test('on the leader: answered with the commit index once a quorum confirms leadership', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.propose(1, 'x');
    const commit = c.status(1).commit;
    c.partition([1], [2, 3]);
    c.readIndex(1, 'r1');
    assert.equal(c.reads(1).size, 0, 'no answer without a quorum');
    c.heal();
    c.tick(1, 1); // the next heartbeat carries the read round too
    assert.equal(c.reads(1).get('r1'), commit);
  });

  test('requests arriving together share one heartbeat round', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    const before = c.sent.filter(roundHeartbeat).length;
    for (const ctx of ['a', 'b', 'c']) c.node(1).readIndex(enc(ctx));
    c.stabilize();
    assert.equal(c.sent.filter(roundHeartbeat).length - before, 2, 'one heartbeat to each follower');
    assert.deepEqual([...c.reads(1).keys()].sort(), ['a', 'b', 'c']);
  });

  test('forwarded from a follower, answered by the leader', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.propose(1, 'x');
    c.readIndex(2, 'from-2');
    assert.equal(c.reads(2).get('from-2'), c.status(1).commit);
    assert.ok(c.sent.some((m) => m.type === MessageType.MsgReadIndex && m.from === 2n && m.to === 1n));
    assert.ok(c.sent.some((m) => m.type === MessageType.MsgReadIndexResp && m.to === 2n));
  });

  test('refused where no leader is known', () => {
    const c = new Cluster({ voters: 3 });
    assert.throws(() => c.node(2).readIndex(enc('r')), ProposalDroppedError);
  });

  test('right after an election: held until the leader commits an entry of its term, then answered past it', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.propose(1, 'old');
    // 2 takes over; its empty entry of the new term is not committed while acknowledgements are lost.
    c.drop((m) => m.type === MessageType.MsgAppResp && m.to === 2n);
    c.tick([2, 3], 10);
    c.campaign(2);
    assert.equal(c.role(2), StateRole.Leader);
    const emptyEntry = c.node(2).raft.log.lastIndex();
    assert.ok(c.status(2).commit < emptyEntry);
    c.readIndex(2, 'early');
    assert.equal(c.reads(2).size, 0, 'the commit index of a new leader may be stale: no answer yet');
    c.heal();
    c.tick('all', 1);
    const idx = c.reads(2).get('early');
    assert.ok(idx !== undefined && idx >= emptyEntry, `answered at ${idx}, at or past the new term's first entry ${emptyEntry}`);
  });

  test('a leader cut off from the quorum never answers, even if it still believes it leads', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.isolate(1);
    c.tick([2, 3], 10);
    c.campaign(2);
    c.propose(2, 'newer');
    assert.equal(c.role(1), StateRole.Leader);
    c.readIndex(1, 'stale');
    assert.equal(c.reads(1).size, 0);
  });
});

describe('leader transfer', () => {
  test('to a caught-up follower: MsgTimeoutNow, and it wins the next term at once', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    const term = c.node(1).term;
    c.node(1).transferLeader(3n);
    c.stabilize();
    assert.equal(c.leader(), 3n);
    assert.equal(c.node(3).term, term + 1);
    assert.ok(c.sent.some((m) => m.type === MessageType.MsgTimeoutNow && m.to === 3n));
    assert.ok(c.propose(3, 'after'));
  });

  test('to a lagging follower: the leader catches it up first; proposals are refused meanwhile', () => {
    const c = new Cluster({ voters: 3 });
    c.campaign(1);
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, `e${i}`);
    c.node(1).transferLeader(3n);
    c.stabilize();
    assert.equal(c.status(1).leadTransferee, 3n);
    assert.throws(() => c.node(1).propose(enc('during')), ProposalDroppedError);
    c.heal();
    c.tick(1, 1);
    assert.equal(c.leader(), 3n);
    assert.deepEqual(c.applied(3).slice(0, 5), ['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  test('a transfer that cannot finish within an election timeout is abandoned', () => {
    const c = new Cluster({ voters: 3, electionTick: 10 });
    c.campaign(1);
    c.isolate(3);
    c.propose(1, 'x');
    c.node(1).transferLeader(3n);
    c.stabilize();
    assert.throws(() => c.node(1).propose(enc('during')), ProposalDroppedError);
    c.tick([1, 2], 10);
    assert.equal(c.status(1).leadTransferee, 0n);
    assert.equal(c.leader(), 1n);
    assert.ok(c.propose(1, 'afterwards'));
  });

  test('asked through a follower; a learner is never a transferee', () => {
    const c = new Cluster({ voters: 3, learners: [4] });
    c.campaign(1);
    c.node(2).transferLeader(4n);
    c.stabilize();
    assert.equal(c.leader(), 1n, 'a learner cannot lead');
    c.node(2).transferLeader(2n);
    c.stabilize();
    assert.equal(c.leader(), 2n);
  });
});
