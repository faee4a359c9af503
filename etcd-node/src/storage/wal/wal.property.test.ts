// Property: under random sequences of save / sync / crash-in-the-middle-of-a-write / reopen / snapshot +
// release, opening the WAL never fails, never loses an entry (or HardState) whose sync resolved, and
// returns exactly the synced state plus some prefix of the records of the write that was torn.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import fc from 'fast-check';

import { EntryType, emptyHardState, type Entry, type HardState, type SnapshotMeta } from '../../raft/types.js';
import { Wal } from './wal.js';
import { plain, readSegments, removeDir, tearLastWrite, tempDir } from './test-helpers.js';

type Op =
  | { kind: 'save'; n: number; back: number; newTerm: boolean; withHs: boolean; size: number; seed: number }
  | { kind: 'sync' }
  | { kind: 'crash'; keep: number; truncate: boolean }
  | { kind: 'reopen' }
  | { kind: 'snapshot'; at: number; release: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('save' as const),
      n: fc.integer({ min: 0, max: 5 }),
      back: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }),
      newTerm: fc.boolean(),
      withHs: fc.boolean(),
      size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 700 })),
      seed: fc.integer({ min: 0, max: 255 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'sync' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      keep: fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000),
      truncate: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('snapshot' as const),
      at: fc.integer({ min: 0, max: 100 }).map((k) => k / 100),
      release: fc.boolean(),
    }),
  },
);

type Rec = { t: 'entry'; e: Entry } | { t: 'hs'; h: HardState };

/** What replay must return: mirrors the WAL's replay rules, independently written. */
interface Model {
  ents: Entry[];
  hs: HardState;
  snap: SnapshotMeta | undefined;
}

function base(m: Model): number {
  return m.snap?.index ?? 0;
}

function applyRec(m: Model, r: Rec): Model {
  if (r.t === 'hs') return { ...m, hs: r.h };
  const e = r.e;
  if (e.index <= base(m)) return m;
  const keep = m.ents.filter((x) => x.index < e.index);
  return { ...m, ents: [...keep, e] };
}

function applySnap(m: Model, s: SnapshotMeta): Model {
  return { ...m, snap: s, ents: m.ents.filter((e) => e.index > s.index) };
}

function lastIndexOf(m: Model): number {
  return m.ents[m.ents.length - 1]?.index ?? base(m);
}

function same(got: { entries: Entry[]; hardState: HardState; snapshot: SnapshotMeta | undefined }, m: Model): boolean {
  try {
    assert.deepEqual(plain(got.entries), plain(m.ents));
    assert.deepEqual(got.hardState, m.hs);
    assert.deepEqual(got.snapshot, m.snap);
    return true;
  } catch {
    return false;
  }
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeDir(d);
});

const identity = { memberId: 42n, clusterId: 7n };
const conf = { voters: [42n], learners: [] };

test('random save/sync/crash/reopen never loses a synced entry nor reports a torn tail as corrupt', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 300, max: 4096 }),
      fc.array(opArb, { minLength: 5, maxLength: 40, size: 'max' }),
      async (segmentSizeBytes, ops) => {
        const root = await tempDir();
        dirs.push(root);
        const dir = path.join(root, 'wal');
        const opts = { segmentSizeBytes };
        let wal = await Wal.create(dir, identity, opts);
        let durable: Model = { ents: [], hs: emptyHardState, snap: undefined };
        let pending: Rec[] = [];
        let saved = durable; // durable + pending
        let term = 1;
        try {
          for (const op of ops) {
            switch (op.kind) {
              case 'save': {
                if (op.newTerm) term++;
                const last = lastIndexOf(saved);
                const start = Math.max(base(saved) + 1, last + 1 - op.back);
                const ents: Entry[] = [];
                for (let i = 0; i < op.n; i++) {
                  const data = Buffer.alloc(op.size, (op.seed + i) & 0xff);
                  if (op.size > 0) data[op.size - 1] = (start + i) & 0xff; // sometimes zero, sometimes not
                  ents.push({ index: start + i, term, type: i === 2 ? EntryType.ConfChange : EntryType.Normal, data });
                }
                const hs = op.withHs ? { term, vote: BigInt(op.seed % 3), commit: Math.max(0, last - 1) } : undefined;
                wal.save(hs, ents);
                const recs: Rec[] = ents.map((e) => ({ t: 'entry', e }));
                if (hs) recs.push({ t: 'hs', h: hs });
                for (const r of recs) saved = applyRec(saved, r);
                pending.push(...recs);
                assert.equal(wal.lastIndex, lastIndexOf(saved));
                break;
              }
              case 'sync':
                await wal.sync();
                durable = saved;
                pending = [];
                break;
              case 'reopen': {
                await wal.close();
                durable = saved;
                pending = [];
                const r = await Wal.open(dir, opts);
                wal = r.wal;
                assert.ok(same(r, durable), 'reopen after a clean close returns everything saved');
                break;
              }
              case 'snapshot': {
                durable = saved;
                pending = [];
                const ents = durable.ents;
                const pick = ents[Math.min(ents.length - 1, Math.floor(op.at * ents.length))];
                if (pick === undefined) {
                  await wal.sync();
                  break;
                }
                const snap: SnapshotMeta = { index: pick.index, term: pick.term, confState: conf };
                await wal.saveSnapshot(snap);
                durable = applySnap(durable, snap);
                saved = durable;
                if (op.release) await wal.releaseTo(snap.index + 1);
                break;
              }
              case 'crash': {
                // crash while the saves since the last sync are being written: some prefix of that write
                // reaches the disk, the rest does not
                const before = await readSegments(dir);
                await wal.close();
                const afterWrite = await readSegments(dir);
                await tearLastWrite(dir, before, afterWrite, op.keep, op.truncate);
                const r = await Wal.open(dir, opts);
                wal = r.wal;
                const candidates: Model[] = [durable];
                let m = durable;
                for (const rec of pending) candidates.push((m = applyRec(m, rec)));
                const match = candidates.find((c) => same(r, c));
                assert.ok(
                  match !== undefined,
                  `recovered state is not the synced state plus a prefix of the torn write: got ` +
                    `${JSON.stringify(plain(r.entries).map((e) => [e.index, e.term]))}`,
                );
                assert.equal(r.wal.lastIndex, lastIndexOf(match));
                durable = match;
                saved = match;
                pending = [];
                break;
              }
            }
          }
          await wal.close();
          const r = await Wal.open(dir, opts);
          await r.wal.close();
          assert.ok(same(r, saved), 'final reopen returns everything saved');
        } finally {
          await wal.close();
          await removeDir(root);
        }
      },
    ),
    { numRuns: 150 },
  );
});
