// etcdctl's lease, lock and elect commands against etcd-node and a real etcd side by side. Lease ids are
// chosen by each server; the test reads each side's id from its `lease grant` output and hides it as
// <LEASE…> on that side only (everything else about the output is compared).
//
//   node --import tsx --test test/compat/etcdctl-lease.test.ts
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Compat, compatTest, type Side } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** etcd lists a lease's keys in Go map order (random): compare them sorted. */
const keysSorted = (text: string): string =>
  text
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, ks: string) => `attached keys([${ks.split(' ').sort().join(' ')}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_m, ks: string) => `"keys":[${ks.split(',').sort().join(',')}]`);

describe('etcdctl lease, lock, elect: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  const grant = (c: Compat, ttl: number): Promise<Map<Side, string>> => c.grantLease(ttl);

  test('grant (minimum TTL, too large TTL), attach keys, timetolive --keys, keep-alive, list, revoke', async (c) => {
    await grant(c, 1); // raised to the minimum: TTL(2s)
    await c.same(['lease', 'grant', '100000000000'], { expectCode: 1 });
    const id = await grant(c, 600);
    await c.same((s) => ['put', '--lease', id.get(s)!, 'lk/a', '1'], { expectCode: 0 });
    await c.same((s) => ['put', '--lease', id.get(s)!, 'lk/b', '2'], { expectCode: 0 });
    await c.same((s) => ['lease', 'timetolive', id.get(s)!, '--keys'], { expectCode: 0, canonical: keysSorted });
    await c.same((s) => ['lease', 'timetolive', id.get(s)!, '--keys', '-w', 'json'], { expectCode: 0, canonical: keysSorted });
    await c.same((s) => ['lease', 'keep-alive', '--once', id.get(s)!], { expectCode: 0 });
    await c.same(['get', '--prefix', 'lk/', '-w', 'json'], { expectCode: 0 });
    await c.same(['lease', 'list'], { expectCode: 0 });
    await c.same(['lease', 'list', '-w', 'json'], { expectCode: 0 });
    // a key moved to no lease is detached; revoking deletes the rest in one revision
    await c.same(['put', 'lk/b', 'free'], { expectCode: 0 });
    await c.same((s) => ['lease', 'timetolive', id.get(s)!, '--keys'], { expectCode: 0 });
    await c.same((s) => ['lease', 'revoke', id.get(s)!], { expectCode: 0 });
    await c.same(['get', '--prefix', 'lk/', '-w', 'json'], { expectCode: 0 });
    await c.same((s) => ['lease', 'timetolive', id.get(s)!], { expectCode: 0 });
  });

  test('bad input: unknown leases in revoke, keep-alive, timetolive and put', async (c) => {
    await c.same(['lease', 'revoke', '1234'], { expectCode: 1, stderrUnordered: true });
    await c.same(['lease', 'keep-alive', '--once', '1234'], { expectCode: 2 });
    await c.same(['lease', 'timetolive', '1234'], { expectCode: 0 });
    await c.same(['lease', 'timetolive', '1234', '-w', 'json'], { expectCode: 0 });
    await c.same(['put', '--lease', '1234', 'nolease', 'x'], { expectCode: 1, stderrUnordered: true });
    await c.same(['lease', 'grant', 'ten'], { expectCode: 128 });
    await c.same(['get', 'nolease'], { expectCode: 0 });
  });

  test('expiry: the keys of a lease nobody keeps alive are deleted', async (c) => {
    const id = await grant(c, 2);
    await c.same((s) => ['put', '--lease', id.get(s)!, 'exp/a', '1'], { expectCode: 0 });
    await c.same(['get', 'exp/a', '--print-value-only'], { expectCode: 0 });
    await sleep(4000);
    const r = await c.same(['get', '--prefix', 'exp/', '-w', 'json'], { expectCode: 0 });
    assert.doesNotMatch(r.etcd.stdout, /"kvs"/, 'the reference deleted the key');
    await c.same((s) => ['lease', 'timetolive', id.get(s)!], { expectCode: 0 });
  });

  test('lock: a second holder waits until the first one releases (command form and expiry)', async (c) => {
    const ids = /\/([0-9a-f]{1,16})$/gm;
    const first = c.same(['lock', 'lk1', '--', 'sh', '-c', 'echo first holds; sleep 1.5; echo first done'], { timeoutMs: 10_000, hideIds: ids });
    await sleep(500);
    const second = c.same(['lock', 'lk1', '--', 'sh', '-c', 'echo second holds'], { timeoutMs: 10_000, hideIds: ids });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.etcd.stdout, 'first holds\nfirst done\n');
    assert.equal(b.etcd.stdout, 'second holds\n');
    // a holder killed outright: its session lease (--ttl) expires and the next one gets the lock
    const killed = c.same(['lock', '--ttl=2', 'lk2'], { timeoutMs: 1000, hideIds: ids });
    await sleep(500);
    const next = c.same(['lock', 'lk2', '--', 'echo', 'next holds'], { timeoutMs: 15_000, hideIds: ids });
    const [k, n] = await Promise.all([killed, next]);
    assert.match(k.etcd.stdout, /^lk2\/[0-9a-f]{1,16}\n/);
    assert.equal(n.etcd.stdout, 'next holds\n');
  });

  test('elect: campaign, observe with -l, a second candidate takes over when the first resigns', async (c) => {
    const ids = /\/([0-9a-f]{1,16})$/gm;
    const observer = c.same(['elect', '-l', 'el'], { timeoutMs: 4500, killSignal: 'SIGINT', hideIds: ids });
    await sleep(300);
    const alice = c.same(['elect', 'el', 'alice'], { timeoutMs: 2000, killSignal: 'SIGINT', hideIds: ids });
    await sleep(700);
    const bob = c.same(['elect', 'el', 'bob'], { timeoutMs: 3000, killSignal: 'SIGINT', hideIds: ids });
    const [o, a, b] = await Promise.all([observer, alice, bob]);
    assert.match(o.etcd.stdout, /^el\/[0-9a-f]{1,16}\nalice\nel\/[0-9a-f]{1,16}\nbob\n$/, 'the reference saw both leaders');
    assert.match(a.etcd.stdout, /alice/);
    assert.match(b.etcd.stdout, /bob/);
  });
});
