// etcdctl compaction and maintenance commands (endpoint status/health/hashkv, defrag, alarm, snapshot
// save, member list) against etcd-node and a real etcd side by side: every command must print the same
// after hiding ids, ports, raft term/index, versions, db sizes and timings (test/support/etcdctl.ts).
// HashKV is compared as printed: etcd-node computes the same hash as etcd for the same history.
//
//   node --import tsx --test test/compat/etcdctl-maintenance.test.ts
//   COMPAT_SELF_CHECK=1 node --import tsx --test test/compat/etcdctl-maintenance.test.ts   (both sides real etcd)
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Compat, compatTest, etcdRevision } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

describe('etcdctl compaction and maintenance: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  test('maintenance commands on a fresh server', async (c) => {
    await c.same(['endpoint', 'health'], { expectCode: 0 });
    await c.same(['endpoint', 'status'], { expectCode: 0 });
    await c.same(['endpoint', 'status', '-w', 'json'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv', '-w', 'json'], { expectCode: 0 });
    await c.same(['alarm', 'list'], { expectCode: 0 });
    await c.same(['member', 'list'], { expectCode: 0 });
    await c.same(['get', '--from-key', '', '-w', 'json'], { expectCode: 0 }); // revision 1, no keys
  });

  test('history, then HashKV at every revision', async (c) => {
    for (let i = 0; i < 10; i++) {
      await c.same(['put', `m/${i % 4}`, `value-${i}`], { expectCode: 0 });
    }
    await c.same(['del', 'm/1'], { expectCode: 0 });
    await c.same(['put', 'm/1', 'back'], { expectCode: 0 });
    await c.same(['put', 'm/empty', ''], { expectCode: 0 });
    await c.same(['txn'], { stdin: '\nput m/t1 a\nput m/t2 b\ndel m/0\n\n\n', expectCode: 0 });
    const { etcd } = await c.same(['get', 'm/', '--prefix', '-w', 'json'], { expectCode: 0 });
    const now = etcdRevision(etcd);
    for (let rev = 1; rev <= now; rev++) {
      await c.same(['endpoint', 'hashkv', `--rev=${rev}`], { expectCode: 0 });
    }
    await c.same(['endpoint', 'hashkv', '-w', 'json'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv', '-w', 'table'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv', `--rev=${now + 5}`], { expectCode: 1 }); // a future revision: reported per endpoint
  });

  test('compaction, compaction --physical, reads below the compacted revision', async (c) => {
    const { etcd } = await c.same(['get', 'm/', '--prefix', '-w', 'json'], { expectCode: 0 });
    const now = etcdRevision(etcd);
    const first = now - 8;
    await c.same(['compaction', String(first)], { expectCode: 0 }); // compacted revision N
    await c.same(['get', 'm/', '--prefix', `--rev=${first - 1}`], { expectCode: 1 }); // required revision has been compacted
    await c.same(['get', 'm/', '--prefix', `--rev=${first}`, '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'm/', '--prefix', `--rev=${first + 1}`], { expectCode: 0 });
    await c.same(['get', 'm/', '--prefix', `--rev=${now + 1}`], { expectCode: 1 }); // future revision
    await c.same(['compaction', String(first)], { expectCode: 1 }); // already compacted
    await c.same(['compaction', String(first - 1)], { expectCode: 1 });
    await c.same(['compaction', String(now + 1)], { expectCode: 1 }); // future revision
    await c.same(['endpoint', 'hashkv'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv', '-w', 'json'], { expectCode: 0 }); // compact_revision
    await c.same(['endpoint', 'hashkv', `--rev=${first - 1}`], { expectCode: 1 }); // compacted: reported per endpoint
    // HashKV at exactly the compacted revision is refused too (rev <= compact revision)
    await c.same(['endpoint', 'hashkv', `--rev=${first}`], { expectCode: 1 });
    for (let rev = first + 1; rev <= now; rev++) {
      await c.same(['endpoint', 'hashkv', `--rev=${rev}`], { expectCode: 0 });
    }
    await c.same(['put', 'm/after', 'x'], { expectCode: 0 });
    await c.same(['compaction', '--physical', String(now - 2)], { expectCode: 0 });
    await c.same(['compaction', '--physical', String(now)], { expectCode: 0 });
    await c.same(['get', 'm/', '--prefix', `--rev=${now - 1}`], { expectCode: 1 });
    await c.same(['get', 'm/', '--prefix', `--rev=${now}`, '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'm/', '--prefix', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'm/none'], { expectCode: 0 });
    await c.same(['get', 'm/none', '-w', 'json'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv', '-w', 'json'], { expectCode: 0 });
    // compaction of the current revision: everything but the latest versions is gone
    const { etcd: e2 } = await c.same(['put', 'm/last', 'y', '-w', 'json'], { expectCode: 0 });
    const last = etcdRevision(e2);
    await c.same(['compaction', String(last)], { expectCode: 0 });
    await c.same(['get', 'm/last', `--rev=${last - 1}`], { expectCode: 1 });
    await c.same(['get', '--from-key', '', `--rev=${last}`], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv'], { expectCode: 0 });
  });

  test('endpoint status, health, hashkv in every output format', async (c) => {
    for (const w of ['simple', 'json', 'table', 'fields']) {
      await c.same(['endpoint', 'status', '-w', w], { expectCode: 0 });
      await c.same(['endpoint', 'hashkv', '-w', w], { expectCode: 0 });
      await c.same(['member', 'list', '-w', w], { expectCode: 0 });
    }
    for (const w of ['simple', 'json', 'table']) {
      await c.same(['endpoint', 'health', '-w', w], { expectCode: 0 });
    }
  });

  test('defrag, alarm list, alarm disarm', async (c) => {
    await c.same(['defrag'], { expectCode: 0 });
    await c.same(['endpoint', 'status', '-w', 'json'], { expectCode: 0 });
    await c.same(['alarm', 'list'], { expectCode: 0 });
    // -w json shows the response header, which etcd 3.6 sends and 3.4 did not: parity-36.test.ts
    await c.same(['alarm', 'disarm'], { expectCode: 0 });
    await c.same(['get', '--from-key', '', '-w', 'json'], { expectCode: 0 }); // data unchanged by defrag
    await c.same(['endpoint', 'hashkv'], { expectCode: 0 });
  });

  test('snapshot save', async (c) => {
    await c.same((side) => ['snapshot', 'save', join(side.workDir, 'snap.db')], { expectCode: 0 });
    // to a directory that does not exist
    await c.same((side) => ['snapshot', 'save', join(side.workDir, 'no', 'such', 'dir', 'snap.db')], { expectCode: 5, stderrUnordered: true });
    await c.same(['put', 'm/after-snapshot', 'z'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv'], { expectCode: 0 });
  });

  test('member list', async (c) => {
    await c.same(['member', 'list'], { expectCode: 0 });
    await c.same(['member', 'list', '-w', 'json'], { expectCode: 0 });
    await c.same(['member', 'list', '-w', 'table'], { expectCode: 0 });
    await c.same(['member', 'list', '-w', 'fields'], { expectCode: 0 });
  });
});
