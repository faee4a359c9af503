// The invariant checks are not vacuous: with a Raft rule broken on purpose (a test-only knob), the
// simulator finds a schedule that violates an invariant within a few hundred seeds, and names it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestingKnobs } from './raft.js';
import { churnProfile, profileFor, runSchedule, SimFailure, staleLeaderProfile, type SimOverrides } from './simulator.js';

/** the first seed (and its failure) within `limit` seeds, or undefined when every schedule passes */
function firstFailure(knobs: TestingKnobs, limit: number, profile?: SimOverrides): { seed: number; message: string } | undefined {
  for (let seed = 1; seed <= limit; seed++) {
    try {
      runSchedule(seed, { ...(profile ?? profileFor(seed).config), knobs, liveness: false });
    } catch (err) {
      if (err instanceof SimFailure) return { seed, message: err.message.split('\n')[0]! };
      throw err;
    }
  }
  return undefined;
}

describe('a broken rule is caught by the simulator', () => {
  test('granting a second vote in a term → two leaders of one term (election safety)', (t) => {
    const f = firstFailure({ grantEveryVote: true }, 500);
    assert.ok(f !== undefined, 'no schedule of 500 caught the double vote');
    t.diagnostic(`seed ${f.seed}: ${f.message}`);
    assert.match(f.message, /election safety|leader completeness|commit safety|state machine safety|log matching/);
  });

  test('committing an earlier term’s entry by counting replicas (Figure 8) → a committed entry is lost', (t) => {
    const f = firstFailure({ commitOldTermEntries: true }, 600, churnProfile);
    assert.ok(f !== undefined, 'no schedule of 600 caught the Figure 8 commit');
    t.diagnostic(`seed ${f.seed}: ${f.message}`);
    assert.match(f.message, /leader completeness|commit safety|state machine safety|conflicts with a committed entry/);
  });

  test('acknowledging before persisting → an acknowledged entry is lost in a crash', (t) => {
    const f = firstFailure({ sendBeforePersist: true }, 500);
    assert.ok(f !== undefined, 'no schedule of 500 caught the early acknowledgement');
    t.diagnostic(`seed ${f.seed}: ${f.message}`);
  });

  test('answering ReadIndex without confirming leadership → a stale read', (t) => {
    const f = firstFailure({ readWithoutQuorum: true }, 1000, staleLeaderProfile);
    assert.ok(f !== undefined, 'no schedule of 1000 caught the unconfirmed read');
    t.diagnostic(`seed ${f.seed}: ${f.message}`);
    assert.match(f.message, /linearizable read/);
  });

  test('the same profiles pass with the rules intact', () => {
    for (let seed = 1; seed <= 30; seed++) {
      runSchedule(seed, { ...churnProfile, steps: 1000 });
      runSchedule(seed, staleLeaderProfile);
    }
  });
});
