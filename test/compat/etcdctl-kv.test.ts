// etcdctl put / get / del against etcd-node and a real etcd side by side: every command must print
// the same (after hiding only ids, ports, terms, versions, sizes and timings: test/support/etcdctl.ts).
// Both servers get the same command sequence, so revisions match exactly.
//
//   node --import tsx --test test/compat/etcdctl-kv.test.ts
//   COMPAT_SELF_CHECK=1 node --import tsx --test test/compat/etcdctl-kv.test.ts   (both sides real etcd)
import { after, before, describe } from 'node:test';
import { Compat, compatTest, etcdRevision } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

describe('etcdctl put/get/del: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  test('put, put --prev-kv, put --ignore-value', async (c) => {
    await c.same(['put', 'foo', 'bar'], { expectCode: 0 });
    await c.same(['put', '--prev-kv', 'foo', 'bar2'], { expectCode: 0 });
    await c.same(['put', '--prev-kv', 'fresh', 'v'], { expectCode: 0 });
    await c.same(['put', '--prev-kv', 'foo', 'bar3', '-w', 'json'], { expectCode: 0 });
    await c.same(['put', '--prev-kv', 'foo', 'bar4', '-w', 'fields'], { expectCode: 0 });
    await c.same(['put', '-w', 'json', 'foo2', 'x'], { expectCode: 0 });
    await c.same(['put', '--ignore-value', 'foo'], { expectCode: 0 });
    await c.same(['get', 'foo', '-w', 'json'], { expectCode: 0 });
    // --ignore-value on a key that does not exist: etcdserver: key not found
    await c.same(['put', '--ignore-value', 'no-such-key'], { expectCode: 1 });
    await c.same(['get', 'foo'], { expectCode: 0 });
    await c.same(['get', 'foo', '-w', 'fields'], { expectCode: 0 });
    await c.same(['get', 'foo', '--hex'], { expectCode: 0 });
  });

  test('values with spaces, arbitrary bytes, unicode, empty value', async (c) => {
    await c.same(['put', 'key with spaces', '  a value  with spaces  '], { expectCode: 0 });
    await c.same(['get', 'key with spaces'], { expectCode: 0 });
    await c.same(['get', 'key with spaces', '-w', 'json'], { expectCode: 0 });
    // `put <key>` without a value reads it from stdin: bytes that cannot be given as arguments
    const bytes = Buffer.from([0x61, 0x00, 0x62, 0xff, 0x01, 0x20, 0x0a, 0x09, 0x80, 0xc3, 0x28, 0x7f]);
    await c.same(['put', 'bin'], { stdin: bytes, expectCode: 0 });
    await c.same(['get', 'bin'], { expectCode: 0 });
    await c.same(['get', 'bin', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'bin', '--hex'], { expectCode: 0 });
    await c.same(['get', 'bin', '--print-value-only'], { expectCode: 0 });
    await c.same(['put', 'ключ/ü', 'значение ✓'], { expectCode: 0 });
    await c.same(['get', 'ключ/ü', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', '--prefix', 'ключ'], { expectCode: 0 });
    await c.same(['put', 'empty', ''], { expectCode: 0 });
    await c.same(['get', 'empty'], { expectCode: 0 });
    await c.same(['get', 'empty', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'empty', '-w', 'fields'], { expectCode: 0 });
    // a value that starts with a dash, after `--`
    await c.same(['put', '--', 'dash', '-v-'], { expectCode: 0 });
    await c.same(['get', 'dash'], { expectCode: 0 });
  });

  test('get: prefix, from-key, ranges, limit, missing keys', async (c) => {
    for (const [k, v] of [
      ['r/a', '1'],
      ['r/b', '2'],
      ['r/c', '3'],
      ['r/d', '4'],
      ['r/e', '5'],
      ['r/b', '22'],
      ['r/c', '33'],
      ['r/c', '0'],
      ['r/a/x', 'ax'],
      ['r/a/y', 'ay'],
      ['r/ab', 'ab'],
      ['s/1', 'one'],
    ] as const) {
      await c.same(['put', k, v], { expectCode: 0 });
    }
    await c.same(['get', '--prefix', 'r/'], { expectCode: 0 });
    await c.same(['get', '--prefix', 'r/a'], { expectCode: 0 });
    await c.same(['get', '--prefix', 'r/a', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', '--from-key', 'r/c'], { expectCode: 0 });
    await c.same(['get', '--from-key', 'r/c', '--keys-only'], { expectCode: 0 });
    await c.same(['get', '--from-key', '', '--keys-only'], { expectCode: 0 });
    await c.same(['get', 'r/a', 'r/c'], { expectCode: 0 }); // [r/a, r/c)
    await c.same(['get', 'r/a', 'r/c', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'r/c', 'r/a'], { expectCode: 0 }); // empty range: end before start
    await c.same(['get', 'r/', '--prefix', '--limit', '2'], { expectCode: 0 });
    await c.same(['get', 'r/', '--prefix', '--limit', '2', '-w', 'json'], { expectCode: 0 }); // more: true, count
    await c.same(['get', 'r/', '--prefix', '--limit', '100', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'r/', '--prefix', '--limit', '2', '-w', 'fields'], { expectCode: 0 });
    await c.same(['get', 'r/', '--prefix', '--keys-only'], { expectCode: 0 });
    await c.same(['get', 'r/', '--prefix', '--keys-only', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'r/', '--prefix', '--print-value-only'], { expectCode: 0 });
    await c.same(['get', 'r/', '--prefix', '--consistency=s'], { expectCode: 0 });
    await c.same(['get', 'nothing-here'], { expectCode: 0 });
    await c.same(['get', 'nothing-here', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', 'nothing-here', '-w', 'fields'], { expectCode: 0 });
    await c.same(['get', '--prefix', 'nothing-here/', '-w', 'json'], { expectCode: 0 });
    // the empty key is not a valid key for a plain get
    await c.same(['get', ''], { expectCode: 1 });
  });

  test('get: sort by KEY, CREATE, MODIFY, VALUE, VERSION in both orders', async (c) => {
    for (const target of ['KEY', 'CREATE', 'MODIFY', 'VALUE', 'VERSION']) {
      for (const order of ['ASCEND', 'DESCEND']) {
        await c.same(['get', '--prefix', 'r/', `--sort-by=${target}`, `--order=${order}`], { expectCode: 0 });
        await c.same(['get', '--prefix', 'r/', `--sort-by=${target}`, `--order=${order}`, '--limit', '3', '-w', 'json'], {
          expectCode: 0,
        });
      }
      await c.same(['get', '--prefix', 'r/', `--sort-by=${target}`, '--keys-only'], { expectCode: 0 });
    }
    await c.same(['get', '--prefix', 'r/', '--order=DESCEND'], { expectCode: 0 }); // order without sort-by: by key
    await c.same(['get', '--prefix', 'r/', '--order=DESCEND', '--limit', '2', '-w', 'json'], { expectCode: 0 });
    await c.same(['get', '--from-key', 'r/b', '--sort-by=VALUE', '--order=DESCEND', '--keys-only'], { expectCode: 0 });
  });

  test('get --rev: past revisions of a key and of a range', async (c) => {
    const { etcd } = await c.same(['get', 'r/c', '-w', 'json'], { expectCode: 0 });
    const now = etcdRevision(etcd);
    for (let rev = 1; rev <= now; rev++) {
      await c.same(['get', 'r/c', `--rev=${rev}`], { expectCode: 0 });
      await c.same(['get', '--prefix', 'r/', `--rev=${rev}`, '-w', 'json'], { expectCode: 0 });
    }
    await c.same(['get', '--prefix', 'r/', `--rev=${now - 3}`, '--sort-by=MODIFY', '--order=DESCEND', '--limit', '2'], {
      expectCode: 0,
    });
    // a future revision: etcdserver: mvcc: required revision is a future revision
    await c.same(['get', 'r/c', `--rev=${now + 1}`], { expectCode: 1 });
    await c.same(['get', 'r/c', '--rev=1000000'], { expectCode: 1 });
  });

  test('del, del --prev-kv, del --prefix, del --from-key, del of a range', async (c) => {
    await c.same(['del', 'nothing-here'], { expectCode: 0 }); // prints 0
    await c.same(['del', 'nothing-here', '-w', 'json'], { expectCode: 0 });
    await c.same(['del', 'r/e'], { expectCode: 0 });
    await c.same(['del', '--prev-kv', 'r/d'], { expectCode: 0 });
    await c.same(['put', 'r/d', 'again'], { expectCode: 0 });
    await c.same(['del', '--prev-kv', 'r/d', '-w', 'json'], { expectCode: 0 });
    await c.same(['del', '--prefix', 'r/a/'], { expectCode: 0 });
    await c.same(['get', '--prefix', 'r/'], { expectCode: 0 });
    await c.same(['del', '--prev-kv', '--prefix', 'r/', '-w', 'fields'], { expectCode: 0 });
    for (const k of ['t/1', 't/2', 't/3', 'u/1', 'v/1']) await c.same(['put', k, `val-${k}`], { expectCode: 0 });
    await c.same(['del', 't/2', 'u/1'], { expectCode: 0 }); // [t/2, u/1)
    await c.same(['get', '--from-key', 't/', '--keys-only'], { expectCode: 0 });
    await c.same(['del', '--from-key', 'u/', '--prev-kv'], { expectCode: 0 });
    await c.same(['get', '--from-key', '', '-w', 'json'], { expectCode: 0 });
    await c.same(['del', ''], { expectCode: 1 }); // key is not provided
  });

  test('after all of it: the same revision and the same HashKV', async (c) => {
    await c.same(['get', 'foo', '-w', 'json'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv'], { expectCode: 0 });
    await c.same(['endpoint', 'hashkv', '-w', 'json'], { expectCode: 0 });
  });
});
