// The wire codecs: every message and conf change survives a round trip; malformed input is refused with
// MalformedError, never misread.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ConfChangeType, changeConfig, decodeConfChange, encodeConfChange, type ConfChange } from './confchange.js';
import { decodeMessage, encodeMessage, MalformedError } from './codec.js';
import { isLocalMessage, MessageType, newMessage, type Message } from './messages.js';
import { EntryType, type Entry } from './types.js';

const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
const index = fc.oneof(fc.nat(1000), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER));
const bytes = fc.uint8Array({ maxLength: 40 });
const entry: fc.Arbitrary<Entry> = fc.record({ term: index, index, type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange), data: bytes }, { noNullPrototype: true });
const wireTypes = Object.values(MessageType).filter((t): t is MessageType => typeof t === 'number' && !isLocalMessage(t));

const message: fc.Arbitrary<Message> = fc.record({
  type: fc.constantFrom(...wireTypes),
  from: u64,
  to: u64,
  term: index,
  logTerm: index,
  index,
  entries: fc.array(entry, { maxLength: 5 }),
  commit: index,
  reject: fc.boolean(),
  rejectHint: index,
  snapshot: fc.option(
    fc.record({
      meta: fc.record(
        { index, term: index, confState: fc.record({ voters: fc.array(u64, { maxLength: 5 }), learners: fc.array(u64, { maxLength: 3 }) }, { noNullPrototype: true }) },
        { noNullPrototype: true },
      ),
      data: bytes,
    }, { noNullPrototype: true }),
    { nil: undefined },
  ),
  context: bytes,
}, { noNullPrototype: true });

describe('message codec', () => {
  test('round trip', () => {
    fc.assert(
      fc.property(message, (m) => {
        assert.deepEqual(decodeMessage(encodeMessage(m)), m);
      }),
      { numRuns: 500 },
    );
  });

  test('every truncation and every trailing byte is refused', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const b = encodeMessage(m);
        assert.throws(() => decodeMessage(b.subarray(0, cut % b.length)), MalformedError);
        const longer = new Uint8Array(b.length + 1);
        longer.set(b);
        assert.throws(() => decodeMessage(longer), MalformedError);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes decode or are refused with MalformedError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          decodeMessage(b);
        } catch (err) {
          assert.ok(err instanceof MalformedError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('local messages never go on the wire', () => {
    assert.throws(() => encodeMessage(newMessage({ type: MessageType.MsgHup })));
    const b = encodeMessage(newMessage({ type: MessageType.MsgApp }));
    b[1] = MessageType.MsgBeat;
    assert.throws(() => decodeMessage(b), MalformedError);
  });

  test('an unknown format version is refused', () => {
    const b = encodeMessage(newMessage({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n }));
    b[0] = 9;
    assert.throws(() => decodeMessage(b), /unknown format 9/);
  });
});

describe('conf change codec and semantics', () => {
  test('round trip', () => {
    const change: fc.Arbitrary<ConfChange> = fc.record({
      type: fc.constantFrom(ConfChangeType.AddNode, ConfChangeType.RemoveNode, ConfChangeType.AddLearnerNode, ConfChangeType.PromoteLearner),
      nodeId: u64,
      context: bytes,
    }, { noNullPrototype: true });
    fc.assert(fc.property(change, (cc) => assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc)));
  });

  test('malformed conf changes are refused', () => {
    const b = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 5n, context: new Uint8Array([1, 2]) });
    assert.throws(() => decodeConfChange(b.subarray(0, 5)), MalformedError);
    const bad = b.slice();
    bad[1] = 17;
    assert.throws(() => decodeConfChange(bad), /unknown type 17/);
  });

  test('changes: add, promote, remove; no-ops for what cannot apply', () => {
    const cs = { voters: [1n, 2n, 3n], learners: [] };
    const c = (type: ConfChangeType, id: bigint): ConfChange => ({ type, nodeId: id, context: new Uint8Array(0) });
    const withLearner = changeConfig(cs, c(ConfChangeType.AddLearnerNode, 4n));
    assert.deepEqual(withLearner, { voters: [1n, 2n, 3n], learners: [4n] });
    assert.deepEqual(changeConfig(withLearner, c(ConfChangeType.PromoteLearner, 4n)), { voters: [1n, 2n, 3n, 4n], learners: [] });
    assert.deepEqual(changeConfig(withLearner, c(ConfChangeType.AddNode, 4n)), { voters: [1n, 2n, 3n, 4n], learners: [] });
    assert.deepEqual(changeConfig(withLearner, c(ConfChangeType.RemoveNode, 4n)), cs);
    assert.deepEqual(changeConfig(cs, c(ConfChangeType.RemoveNode, 2n)), { voters: [1n, 3n], learners: [] });
    // No-ops: promote a non-learner, demote a voter, remove a stranger, remove the last voter.
    assert.equal(changeConfig(cs, c(ConfChangeType.PromoteLearner, 9n)), cs);
    assert.equal(changeConfig(cs, c(ConfChangeType.AddLearnerNode, 1n)), cs);
    assert.equal(changeConfig(cs, c(ConfChangeType.RemoveNode, 9n)), cs);
    const one = { voters: [1n], learners: [] };
    assert.equal(changeConfig(one, c(ConfChangeType.RemoveNode, 1n)), one);
  });
});
