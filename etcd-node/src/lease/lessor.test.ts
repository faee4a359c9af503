// The lessor on its own, with a hand-driven clock: minimum TTL, expiry only on the primary, renew,
// promote/demote, revoke handing back keys in order, and what survives a reopen of the backend.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../storage/backend/backend.js';
import { Errors } from '../server/errors.js';
import { Lessor, MAX_LEASE_TTL, minLeaseTtl } from './lessor.js';
import { IdGenerator } from '../util/id-generator.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-lessor-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const dbPath = (): string => path.join(tmpRoot, `db${++n}`, 'db');

function setup(file = dbPath()): { be: Backend; clock: { now: number }; lessor: Lessor; file: string } {
  const be = Backend.open(file);
  const clock = { now: 1_000_000 };
  const lessor = new Lessor(be, { minTtl: 2, now: () => clock.now });
  return { be, clock, lessor, file };
}

describe('Lessor', () => {
  it('raises short TTLs to the minimum and refuses duplicates and huge TTLs', async () => {
    const { be, lessor } = setup();
    be.batch(() => {
      assert.equal(lessor.grant(1n, 1).ttl, 2);
      assert.equal(lessor.grant(2n, -5).ttl, 2);
      assert.equal(lessor.grant(3n, 60).ttl, 60);
      assert.throws(() => lessor.grant(1n, 60), (e) => e === Errors.LeaseExist);
      assert.throws(() => lessor.grant(4n, MAX_LEASE_TTL + 1), (e) => e === Errors.LeaseTTLTooLarge);
    });
    assert.equal(minLeaseTtl(1000), 2, "etcd's default election timeout gives a 2 s minimum");
    assert.equal(minLeaseTtl(5000), 8);
    await be.close();
  });

  it('expires only on the primary, after the TTL plus the promotion extension; renew pushes it back', async () => {
    const { be, clock, lessor } = setup();
    be.batch(() => lessor.grant(7n, 10));
    clock.now += 60_000;
    assert.deepEqual(lessor.expired(10), [], 'a follower never expires leases');
    assert.equal(lessor.renew(7n), 10, 'renew answers the granted TTL');
    lessor.promote(1000);
    assert.equal(lessor.remaining(7n), 11, 'full TTL again plus the extension');
    clock.now += 10_999;
    assert.deepEqual(lessor.expired(10), []);
    assert.equal(lessor.renew(7n), 10);
    clock.now += 9_000;
    assert.equal(lessor.remaining(7n), 1);
    clock.now += 1_000;
    assert.deepEqual(lessor.expired(10), [7n]);
    assert.deepEqual(lessor.expired(10), [], 'reported once, not again until the retry interval');
    assert.equal(lessor.renew(7n), undefined, 'an expired lease cannot be renewed');
    clock.now += 3_000;
    assert.deepEqual(lessor.expired(10), [7n], 'reported again when its revoke did not apply');
    lessor.demote();
    assert.deepEqual(lessor.expired(10), []);
    assert.equal(lessor.remaining(999n), -1);
    await be.close();
  });

  it('tracks attached keys and hands them back sorted on revoke', async () => {
    const { be, lessor } = setup();
    be.batch(() => lessor.grant(5n, 30));
    for (const k of ['b', 'a', 'c']) lessor.attach(5n, Buffer.from(k));
    lessor.detach(5n, Buffer.from('c'));
    lessor.attach(99n, Buffer.from('x')); // unknown lease: ignored
    const keys = be.batch(() => lessor.revoke(5n));
    assert.deepEqual(keys.map(String), ['a', 'b']);
    assert.equal(lessor.exists(5n), false);
    assert.throws(() => be.batch(() => lessor.revoke(5n)), (e) => e === Errors.LeaseNotFound);
    await be.close();
  });

  it('keeps leases and their TTLs across a reopen (keys are re-attached by the server from the store)', async () => {
    const first = setup();
    first.be.batch(() => {
      first.lessor.grant(1n, 30);
      first.lessor.grant(2n, 5);
      first.lessor.revoke(2n);
      first.lessor.grant(3n, 1);
    });
    await first.be.sync();
    await first.be.close();
    const again = setup(first.file);
    assert.deepEqual(
      again.lessor.list().map((l) => [l.id, l.ttl]),
      [
        [1n, 30],
        [3n, 2],
      ],
    );
    await again.be.close();
  });

  it('makes positive, unique, growing ids carrying the member id', () => {
    const g = new IdGenerator(0x1234abcdn, 1_700_000_000_000);
    const ids = Array.from({ length: 1000 }, () => g.next());
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!);
    assert.ok(ids.every((id) => id > 0n && id < 1n << 63n));
    assert.equal(ids[0]! >> 48n, 0xabcdn & 0x7fffn, "the low 16 bits of the member id, less the sign bit");
  });
});
