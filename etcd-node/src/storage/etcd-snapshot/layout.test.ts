// The export (etcd-node → etcd) and import (etcd → etcd-node) mappings: against real etcd snapshots
// (etcd → etcd-node → etcd gives back etcd's bytes, bucket for bucket), and as inverses of each other
// on random etcd-node backends (property).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { Role, User } from '../../gen/authpb/auth.js';
import { AlarmType } from '../../gen/etcdserverpb/rpc.js';
import { LeaseRecord, MemberRecord } from '../../gen/etcdtspb/internal.js';
import type { BucketName } from '../backend/backend.js';
import { BboltReader } from '../bbolt/reader.js';
import { fixtureFile, tempDir, type Fixture } from '../bbolt/test-helpers.js';
import { writeBboltFile, type Entry } from '../bbolt/writer.js';
import { exportEtcdBuckets, type NodeBucketSource } from './export.js';
import { importEtcdBuckets, type EtcdBucketSource } from './import.js';
import { ETCD_BUCKETS, decodeConfState, decodeEtcdMember, encodeConfState, encodeEtcdMember, goJsonString, memberIdKey, parseMemberIdKey } from './layout.js';

const dir = tempDir('etcd-layout-test-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type Buckets = Map<string, Array<[Buffer, Buffer]>>;

function nodeSource(b: Buckets): NodeBucketSource {
  return {
    *entries(bucket, range) {
      for (const [k, v] of b.get(bucket) ?? []) {
        if (range?.start && Buffer.compare(k, range.start) < 0) continue;
        if (range?.end && Buffer.compare(k, range.end) >= 0) return;
        yield [k, v];
      }
    },
  };
}

function readerSource(r: BboltReader): EtcdBucketSource {
  return { bucketNames: () => r.bucketNames().map((n) => n.toString()), entries: (name) => r.bucket(name)?.entries() };
}

function collect(buckets: ReadonlyArray<{ name: string | Uint8Array; entries: Iterable<Entry> }>): Buckets {
  const out: Buckets = new Map();
  for (const b of buckets) out.set(b.name.toString(), [...b.entries].map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
  return out;
}

function readAll(file: string): Buckets {
  const r = BboltReader.open(file);
  try {
    return collect(r.bucketNames().map((n) => ({ name: n.toString(), entries: r.bucket(n)!.entries() })));
  } finally {
    r.close();
  }
}

describe('layout codecs', () => {
  test('member ids: hex without padding, u64 beyond 2^53 exactly', () => {
    assert.equal(memberIdKey(0xa25712cd76bff331n).toString(), 'a25712cd76bff331');
    assert.equal(memberIdKey(0x1fn).toString(), '1f');
    assert.equal(parseMemberIdKey(Buffer.from('a25712cd76bff331')), 0xa25712cd76bff331n);
    assert.equal(parseMemberIdKey(Buffer.from('r1')), undefined);
    const json = encodeEtcdMember({ id: 11697839230788039473n, peerURLs: ['http://127.0.0.4:24801'], isLearner: true, name: '', clientURLs: [] });
    assert.equal(json.toString(), '{"id":11697839230788039473,"peerURLs":["http://127.0.0.4:24801"],"isLearner":true}');
    assert.deepEqual(decodeEtcdMember(11697839230788039473n, json), { id: 11697839230788039473n, peerURLs: ['http://127.0.0.4:24801'], isLearner: true, name: '', clientURLs: [] });
    assert.equal(decodeEtcdMember(1n, Buffer.from('nope')), undefined);
    assert.equal(goJsonString('a<b>&c\u2028'), '"a\\u003cb\\u003e\\u0026c\\u2028"');
  });

  test('confState: etcd 3.5/3.6 JSON, empty lists left out', () => {
    assert.equal(encodeConfState([17628310501313495538n, 6854195915278672561n], [11697839230788039473n]).toString(), '{"voters":[6854195915278672561,17628310501313495538],"learners":[11697839230788039473],"auto_leave":false}');
    assert.equal(encodeConfState([1n], []).toString(), '{"voters":[1],"auto_leave":false}');
    assert.deepEqual(decodeConfState(Buffer.from('{"voters":[6854195915278672561,17628310501313495538],"learners":[11697839230788039473],"auto_leave":false}')), {
      voters: [6854195915278672561n, 17628310501313495538n],
      learners: [11697839230788039473n],
    });
    assert.deepEqual(decodeConfState(Buffer.from('{"voters":[5],"auto_leave":false}')), { voters: [5n], learners: [] });
  });
});

describe('real etcd snapshots: etcd → etcd-node → etcd gives back the same buckets', () => {
  const cases: Array<[Fixture, string, string | undefined]> = [
    ['etcd-3.6-cluster', '3.6.0', '3.6.0'],
    ['etcd-3.6-nospace', '3.6.0', '3.6.0'],
    ['etcd-3.5', '3.5.0', undefined],
    ['etcd-3.4', '3.4.0', undefined],
  ];
  for (const [fixture, clusterVersion, storageVersion] of cases) {
    test(fixture, () => {
      const file = fixtureFile(dir, fixture);
      const original = readAll(file);
      const r = BboltReader.open(file);
      const plan = importEtcdBuckets(readerSource(r));
      const node = collect(plan.buckets);
      r.close();
      assert.deepEqual(plan.report.ignored, []);
      assert.equal(plan.report.clusterVersion, clusterVersion);
      assert.equal(plan.report.storageVersion, storageVersion);
      // every etcd user with a password has a bcrypt hash etcd-node cannot check
      const users = [...(original.get('authUsers') ?? [])].filter(([, v]) => User.decode(v).password.length > 0).map(([k]) => k.toString());
      assert.deepEqual(plan.report.foreignPasswordUsers, users);
      assert.ok(fixture === 'etcd-3.6-nospace' || users.length >= 2);

      const back = exportEtcdBuckets(nodeSource(node), { clusterVersion, ...(storageVersion !== undefined ? { storageVersion } : {}) });
      assert.deepEqual(back.notes, []);
      const again = collect(back.buckets);
      assert.deepEqual([...again.keys()], ETCD_BUCKETS);
      if (fixture === 'etcd-3.4') {
        // 3.4 keeps no confState (and no term); the export always writes confState
        const meta = again.get('meta')!;
        const i = meta.findIndex(([k]) => k.toString() === 'confState');
        assert.ok(i >= 0);
        meta.splice(i, 1);
      }
      for (const name of ETCD_BUCKETS) assert.deepEqual(again.get(name), original.get(name), `bucket ${name}`);
    });
  }

  test('etcd-3.6-cluster: members, removed member and alarms land in etcd-node form', () => {
    const r = BboltReader.open(fixtureFile(dir, 'etcd-3.6-cluster'));
    const plan = importEtcdBuckets(readerSource(r));
    const node = collect(plan.buckets);
    r.close();
    const members = node.get('members')!;
    const records = members.filter(([k]) => k.length === 8).map(([, v]) => MemberRecord.decode(v));
    assert.deepEqual(
      records.map((m) => [m.id.toString(16), m.name, m.isLearner]),
      [['5f1efedeaf1e62b1', 'm2', false], ['a25712cd76bff331', '', true], ['f4a457008d1441f2', 'm1', false]],
    );
    assert.deepEqual(members.filter(([k]) => k.length === 9).map(([k]) => k.toString('hex')), ['724017c45cf97ba5ed']);
    assert.deepEqual(plan.report.confState, { voters: [6854195915278672561n, 17628310501313495538n], learners: [11697839230788039473n] });
    assert.deepEqual(node.get('auth')!.slice(0, 2).map(([k, v]) => [k.toString(), v.toString('hex')]), [['enabled', '01'], ['revision', '0000000000000009']]);
  });
});

// ---- random etcd-node backends: export then import is the identity ----

const bytes = (min: number, max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const u64Arb = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });
const nameArb = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => Buffer.byteLength(s) > 0);

function revKey(main: number, sub: number, tomb: boolean): Buffer {
  const b = Buffer.alloc(tomb ? 18 : 17);
  b.writeBigUInt64BE(BigInt(main));
  b[8] = 0x5f;
  b.writeBigUInt64BE(BigInt(sub), 9);
  if (tomb) b[17] = 0x74;
  return b;
}

const nodeBackendArb: fc.Arbitrary<Buckets> = fc
  .record({
    keys: fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), bytes(0, 100)), { selector: ([m, s]) => `${m}_${s}`, maxLength: 60 }),
    leases: fc.uniqueArray(fc.tuple(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), fc.integer({ min: 1, max: 100_000 })), { selector: ([id]) => id.toString(), maxLength: 10 }),
    members: fc.uniqueArray(fc.record({ id: u64Arb, name: fc.string({ maxLength: 8 }), peer: fc.webUrl(), client: fc.option(fc.webUrl(), { nil: undefined }), learner: fc.boolean() }), { selector: (m) => m.id.toString(), minLength: 1, maxLength: 5 }),
    removed: fc.uniqueArray(u64Arb, { maxLength: 3, selector: (x) => x.toString() }),
    alarms: fc.uniqueArray(fc.tuple(u64Arb, fc.constantFrom(AlarmType.NOSPACE, AlarmType.CORRUPT)), { maxLength: 3, selector: ([m, t]) => `${m}/${t}` }),
    users: fc.uniqueArray(fc.record({ name: nameArb, password: fc.constantFrom('', 'scrypt$16384$8$1$c2FsdA==$aGFzaA=='), roles: fc.array(nameArb, { maxLength: 3 }), noPassword: fc.boolean() }), { selector: (u) => u.name, maxLength: 4 }),
    roles: fc.uniqueArray(fc.record({ name: nameArb, perms: fc.array(fc.tuple(fc.constantFrom(0, 1, 2), bytes(1, 8), bytes(0, 8)), { maxLength: 3 }) }), { selector: (r) => r.name, maxLength: 4 }),
    enabled: fc.option(fc.boolean(), { nil: undefined }),
    authRev: fc.integer({ min: 1, max: 1000 }),
    ci: fc.integer({ min: 1, max: 1_000_000 }),
    term: fc.integer({ min: 1, max: 100 }),
    compact: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined }),
  })
  .map((g) => {
    const b: Buckets = new Map();
    const put = (bucket: BucketName, k: Buffer, v: Buffer): void => {
      const list = b.get(bucket) ?? [];
      list.push([k, v]);
      b.set(bucket, list);
    };
    for (const [main, sub, tomb, v] of g.keys) put('key', revKey(main, sub, tomb), v);
    for (const [id, ttl] of g.leases) {
      const k = Buffer.alloc(8);
      k.writeBigUInt64BE(id);
      put('lease', k, Buffer.from(LeaseRecord.encode({ id, ttl: BigInt(ttl), remainingTtl: 0n }).finish()));
    }
    for (const m of g.members) {
      const k = Buffer.alloc(8);
      k.writeBigUInt64BE(m.id);
      put('members', k, Buffer.from(MemberRecord.encode({ id: m.id, name: m.name, peerUrls: [m.peer], clientUrls: m.client ? [m.client] : [], isLearner: m.learner }).finish()));
    }
    for (const id of g.removed) {
      const k = Buffer.alloc(9);
      k[0] = 0x72;
      k.writeBigUInt64BE(id, 1);
      put('members', k, Buffer.alloc(0));
    }
    for (const [id, type] of g.alarms) {
      const k = Buffer.alloc(15);
      k.write('alarm/');
      k.writeBigUInt64BE(id, 6);
      k[14] = type;
      put('meta', k, Buffer.from([1]));
    }
    const u64 = (n: number): Buffer => {
      const x = Buffer.alloc(8);
      x.writeBigUInt64BE(BigInt(n));
      return x;
    };
    put('meta', Buffer.from('consistent_index'), u64(g.ci));
    put('meta', Buffer.from('term'), u64(g.term));
    if (g.compact !== undefined) {
      put('meta', Buffer.from('finishedCompactRev'), revKey(g.compact, 0, false));
      put('meta', Buffer.from('scheduledCompactRev'), revKey(g.compact, 0, false));
    }
    if (g.enabled !== undefined) put('auth', Buffer.from('enabled'), Buffer.from([g.enabled ? 1 : 0]));
    put('auth', Buffer.from('revision'), u64(g.authRev));
    for (const r of g.roles) {
      const role = Role.encode({ name: Buffer.from(r.name), keyPermission: r.perms.map(([t, key, end]) => ({ permType: t, key, rangeEnd: end })) }).finish();
      put('auth', Buffer.from(`role/${r.name}`), Buffer.from(role));
    }
    for (const u of g.users) {
      const user = User.encode({ name: Buffer.from(u.name), password: Buffer.from(u.password), roles: [...new Set(u.roles)].sort(), options: u.noPassword ? { noPassword: true } : undefined }).finish();
      put('auth', Buffer.from(`user/${u.name}`), Buffer.from(user));
    }
    for (const list of b.values()) list.sort((x, y) => Buffer.compare(x[0], y[0]));
    return b;
  });

describe('export ∘ import = identity on etcd-node backends', () => {
  test('through a bbolt file (property)', () => {
    let n = 0;
    fc.assert(
      fc.property(nodeBackendArb, (node) => {
        const plan = exportEtcdBuckets(nodeSource(node), { clusterVersion: '3.6.0', storageVersion: '3.6.0' });
        assert.deepEqual(plan.notes, []);
        const file = path.join(dir, `rt-${n++}.db`);
        writeBboltFile(file, plan.buckets, { sync: false });
        assert.equal(plan.scryptUsers(), [...(node.get('auth') ?? [])].filter(([k, v]) => k.toString().startsWith('user/') && User.decode(v).password.length > 0).length);
        const r = BboltReader.open(file);
        const back = importEtcdBuckets(readerSource(r));
        const got = collect(back.buckets);
        r.close();
        fs.rmSync(file);
        assert.deepEqual(back.report.foreignPasswordUsers, []);
        assert.deepEqual(back.report.ignored, []);
        for (const name of ['auth', 'key', 'lease', 'members', 'meta'] as const) assert.deepEqual(got.get(name) ?? [], node.get(name) ?? [], name);
      }),
      { numRuns: 100 },
    );
  });
});
