// kill -9 durability: many clients write to etcd-node, the server is SIGKILLed at a random moment,
// restarted on the same data dir, and everything is read back. Every acknowledged write must be there;
// the only other changes allowed are those of the (at most one per writer) request that was in flight
// when the server died, entirely or not at all; and the store's revision must account for exactly
// those writes. Five rounds on the same data dir.
//
//   node --import tsx --test test/durability/kill9.test.ts
//   COMPAT_SELF_CHECK=1 node --import tsx --test test/durability/kill9.test.ts   (the same against real etcd)
//   KILL9_SEED=1234 …   (the same kill delays and, as far as timing allows, the same requests)
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { seededRandom as prng } from '../../etcd-node/src/raft/sim-member.js';
import { sendOnceFaultHandling } from '../support/etcd3.js';
import { selfCheck, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const ROUNDS = 5;
const WRITERS = 32;
/** Writers share this many clients (and so this many HTTP/2 connections). */
const CLIENTS = 8;

const seed = Number(process.env['KILL9_SEED'] ?? Math.floor(Math.random() * 2 ** 31));

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

function client(server: RunningServer): Etcd3 {
  return new Etcd3({
    hosts: server.clientUrl,
    dialTimeout: 5_000,
    faultHandling: sendOnceFaultHandling,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 10_000 }),
    grpcOptions: { 'grpc.max_receive_message_length': 256 * 1024 * 1024 },
  });
}

/** What one request does to the key space: key → new value, or null for deleted. Applied atomically. */
type Effects = Map<string, string | null>;

interface Writer {
  readonly id: number;
  readonly prefix: string;
  /** Next sequence number (continues across rounds). */
  seq: number;
  /** The writer's keys as the server must hold them (every acknowledged request applied). */
  confirmed: Map<string, string>;
  /** The request in flight when the server died (or that failed): applied entirely or not at all. */
  pending: Effects | undefined;
  acked: number;
}

function newWriters(tag: string): Writer[] {
  return Array.from({ length: WRITERS }, (_, id) => ({
    id,
    prefix: `${tag}${id}/`,
    seq: 0,
    confirmed: new Map<string, string>(),
    pending: undefined,
    acked: 0,
  }));
}

/** A value derived from the key (and its generation), of varying length. */
function valueFor(key: string, gen: number): string {
  return `${key}#${gen}:${'x'.repeat((key.length * 7 + gen * 13) % 200)}`;
}

const keyFor = (w: Writer): string => `${w.prefix}${String(w.seq++).padStart(6, '0')}`;

function applyEffects(state: Map<string, string>, effects: Effects): Map<string, string> {
  const next = new Map(state);
  for (const [k, v] of effects) {
    if (v === null) next.delete(k);
    else next.set(k, v);
  }
  return next;
}

function describeDiff(actual: Map<string, string>, expected: Map<string, string>): string {
  const lines: string[] = [];
  for (const [k, v] of expected) {
    const got = actual.get(k);
    if (got === undefined) lines.push(`  missing: ${k}`);
    else if (got !== v) lines.push(`  wrong value: ${k}: got ${JSON.stringify(got.slice(0, 40))}, want ${JSON.stringify(v.slice(0, 40))}`);
  }
  for (const k of actual.keys()) if (!expected.has(k)) lines.push(`  unexpected key: ${k}`);
  return lines.slice(0, 20).join('\n') + (lines.length > 20 ? `\n  … ${lines.length - 20} more` : '');
}

const sameMap = (a: Map<string, string>, b: Map<string, string>): boolean =>
  a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/** One request chosen by the workload: its effects if acknowledged, and how to send it. */
interface Request {
  effects: Effects;
  send: (c: Etcd3) => Promise<number>; // resolves with the response header revision
}

type Workload = (w: Writer, rnd: () => number) => Request;

/** Only puts of new keys. */
const putsOnly: Workload = (w) => {
  const key = keyFor(w);
  const value = valueFor(key, 0);
  return {
    effects: new Map([[key, value]]),
    send: async (c) => Number((await c.put(key).value(value).exec()).header.revision),
  };
};

/** Puts of new keys, overwrites, deletes of acknowledged keys, and txns that do several at once. */
const mixed: Workload = (w, rnd) => {
  const existing = [...w.confirmed.keys()];
  const pick = (): string => existing[Math.floor(rnd() * existing.length)] ?? '';
  const r = rnd();
  if (r < 0.2 && existing.length > 0) {
    const key = pick();
    const value = valueFor(key, w.seq++);
    return {
      effects: new Map([[key, value]]),
      send: async (c) => Number((await c.put(key).value(value).exec()).header.revision),
    };
  }
  if (r < 0.4 && existing.length > 0) {
    const key = pick();
    return {
      effects: new Map([[key, null]]),
      send: async (c) => {
        const res = await c.delete().key(key).exec();
        assert.equal(res.deleted, '1', `delete of the acknowledged key ${key} deleted ${res.deleted}`);
        return Number(res.header.revision);
      },
    };
  }
  if (r < 0.6 && existing.length >= 2) {
    const guard = pick();
    let victim = pick();
    while (victim === guard) victim = pick();
    const guardValue = w.confirmed.get(guard) ?? '';
    const a = keyFor(w);
    const b = keyFor(w);
    const va = valueFor(a, 0);
    const vb = valueFor(b, 0);
    const never = `${w.prefix}FAILED-${w.seq++}`;
    return {
      effects: new Map<string, string | null>([
        [a, va],
        [b, vb],
        [victim, null],
      ]),
      send: async (c) => {
        const res = await c
          .if(guard, 'Value', '==', guardValue)
          .then(c.put(a).value(va), c.put(b).value(vb), c.delete().key(victim))
          .else(c.put(never).value('the compare failed'))
          .commit();
        assert.equal(res.succeeded, true, `txn comparing ${guard} with its acknowledged value did not succeed`);
        return Number(res.header.revision);
      },
    };
  }
  return putsOnly(w, rnd);
};

async function readState(c: Etcd3, writers: Writer[]): Promise<{ states: Map<string, string>[]; total: number; revision: number }> {
  const states: Map<string, string>[] = [];
  for (const w of writers) {
    const kvs = await c.getAll().prefix(w.prefix).strings();
    states.push(new Map(Object.entries(kvs)));
  }
  const all = await c.getAll().all().count();
  const revision = Number((await c.get('/').exec()).header.revision);
  return { states, total: all, revision };
}

async function runRounds(
  server: RunningServer,
  writers: Writer[],
  workload: Workload,
  rnd: () => number,
  log: (line: string) => void,
): Promise<void> {
  let revision = 1; // a fresh store
  for (let round = 1; round <= ROUNDS; round++) {
    const clients = Array.from({ length: CLIENTS }, () => client(server));
    let roundAcked = 0;
    let stop = false;
    const runWriter = async (w: Writer): Promise<void> => {
      const c = clients[w.id % CLIENTS];
      if (c === undefined) return;
      while (!stop) {
        const req = workload(w, rnd);
        w.pending = req.effects;
        let rev: number;
        try {
          rev = await req.send(c);
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          return; // the server is gone: this request stays in doubt
        }
        w.confirmed = applyEffects(w.confirmed, req.effects);
        w.pending = undefined;
        w.acked++;
        roundAcked++;
        assert.ok(rev > revision, `acknowledged revision ${rev} not above the previous round's ${revision}`);
      }
    };
    const running = writers.map(runWriter);
    const delay = 300 + Math.floor(rnd() * 1200);
    await sleep(delay);
    await server.kill('SIGKILL');
    stop = true;
    const killedAt = Date.now();
    const outcomes = await Promise.allSettled(running);
    for (const c of clients) c.close();
    for (const o of outcomes) if (o.status === 'rejected') throw o.reason;
    assert.ok(roundAcked > 0, `round ${round}: no write was acknowledged in ${delay} ms; server output:\n${server.logs().slice(-4000)}`);

    const inDoubt = writers.filter((w) => w.pending !== undefined).length;
    const restartStart = Date.now();
    await server.restart();
    const restartMs = Date.now() - restartStart;
    const reader = client(server);
    try {
      const seen = await readState(reader, writers);
      let applied = 0;
      let expectedTotal = 0;
      writers.forEach((w, i) => {
        const actual = seen.states[i] ?? new Map<string, string>();
        if (sameMap(actual, w.confirmed)) {
          // the in-flight request, if any, was lost: allowed, it was never acknowledged
        } else if (w.pending !== undefined && sameMap(actual, applyEffects(w.confirmed, w.pending))) {
          applied++; // the in-flight request was applied, entirely
        } else {
          assert.fail(
            `round ${round} (seed ${seed}), writer ${w.prefix}: after kill -9 and restart the keys differ from ` +
              `the acknowledged writes${w.pending !== undefined ? ' (with or without the one request in flight)' : ''}:\n` +
              describeDiff(actual, w.confirmed),
          );
        }
        w.confirmed = actual;
        w.pending = undefined;
        expectedTotal += actual.size;
      });
      assert.equal(seen.total, expectedTotal, `round ${round}: keys outside the writers' prefixes appeared`);
      // every write request takes exactly one revision: no acknowledged one lost, nothing else written
      assert.equal(
        seen.revision,
        revision + roundAcked + applied,
        `round ${round} (seed ${seed}): revision after restart is ${seen.revision}; before the round ${revision}, ` +
          `${roundAcked} acknowledged and ${applied} in-flight requests applied`,
      );
      revision = seen.revision;
      log(
        `round ${round}: killed after ${delay} ms, ${roundAcked} requests acknowledged, ${inDoubt} in flight of ` +
          `which ${applied} applied; writers stopped ${restartStart - killedAt} ms after the kill, restart took ` +
          `${restartMs} ms; ${expectedTotal} keys, revision ${revision}`,
      );
    } finally {
      reader.close();
    }
  }
}

describe('kill -9 while 32 clients write: acknowledged writes survive, nothing else changes', skipUnless(...(selfCheck ? ['etcd', 'etcdctl'] : ['etcdctl'])), () => {
  const servers: RunningServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it(`puts of new keys, ${ROUNDS} rounds (seed ${seed})`, { timeout: 30_000 }, async (t) => {
    const server = await startServer({ kind: 'node' });
    servers.push(server);
    await runRounds(server, newWriters('w'), putsOnly, prng(seed), (l) => t.diagnostic(l));
  });

  it(`puts, overwrites, deletes and txns, ${ROUNDS} rounds (seed ${seed + 1})`, { timeout: 30_000 }, async (t) => {
    const server = await startServer({ kind: 'node' });
    servers.push(server);
    await runRounds(server, newWriters('m'), mixed, prng(seed + 1), (l) => t.diagnostic(l));
  });
});
