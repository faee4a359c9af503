// etcdctl txn (interactive form, fed on stdin) and request errors, against etcd-node and a real etcd
// side by side: every command must print the same, error messages and gRPC codes included.
//
//   node --import tsx --test test/compat/etcdctl-txn.test.ts
//   COMPAT_SELF_CHECK=1 node --import tsx --test test/compat/etcdctl-txn.test.ts   (both sides real etcd)
import { after, before, describe } from 'node:test';
import { Compat, compatTest, etcdRevision } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

/** The stdin of `etcdctl txn`: compares, a blank line, success ops, a blank line, failure ops, a blank line. */
function txn(compares: string[], success: string[], failure: string[]): string {
  return [...compares, '', ...success, '', ...failure, '', ''].join('\n');
}

describe('etcdctl txn and request errors: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  test('txn compares on value, version, create and mod revision with =, !=, >, <', async (c) => {
    await c.same(['put', 't/k1', 'v1'], { expectCode: 0 });
    await c.same(['put', 't/k2', 'v2'], { expectCode: 0 });
    await c.same(['put', 't/k2', 'v22'], { expectCode: 0 });
    const { etcd } = await c.same(['get', 't/k2', '-w', 'json'], { expectCode: 0 });
    const rev = etcdRevision(etcd);
    const cases: string[][] = [
      ['value("t/k1") = "v1"'],
      ['value("t/k1") != "v1"'],
      ['value("t/k1") > "v0"'],
      ['value("t/k1") < "v0"'],
      ['value("t/k1") > "v1"'],
      ['version("t/k2") = "2"'],
      ['version("t/k2") != "2"'],
      ['version("t/k2") > "1"'],
      ['version("t/k2") < "2"'],
      [`create("t/k2") = "${rev - 1}"`],
      [`create("t/k2") < "${rev - 1}"`],
      [`create("t/k1") < "${rev}"`],
      [`mod("t/k2") = "${rev}"`],
      [`mod("t/k2") > "${rev}"`],
      [`mod("t/k1") != "${rev}"`],
      // a key that does not exist: its version, create and mod revision are 0, it has no value
      ['version("t/none") = "0"'],
      ['create("t/none") = "0"'],
      ['mod("t/none") > "0"'],
      ['value("t/none") = ""'],
      // all compares must hold
      ['value("t/k1") = "v1"', 'version("t/k2") = "2"', `mod("t/k1") < "${rev}"`],
      ['value("t/k1") = "v1"', 'version("t/k2") = "3"'],
    ];
    let n = 0;
    for (const compares of cases) {
      n++;
      // success and failure write different keys and read a key back, so both branches are visible
      const stdin = txn(
        compares,
        [`put t/ok/${n} yes-${n}`, 'get t/k1', `get t/ok/${n}`],
        [`put t/ko/${n} no-${n}`, 'get t/k2', `get t/ko/${n}`],
      );
      await c.same(['txn'], { stdin, expectCode: 0 });
    }
    await c.same(['get', '--prefix', 't/', '-w', 'json'], { expectCode: 0 });
  });

  test('txn with put/get/del ops and flags, json and fields output', async (c) => {
    await c.same(['txn'], {
      stdin: txn(['value("t/k1") = "v1"'], ['put t/a 1', 'put "t/b c" "x y"', 'get t/ --prefix', 'del t/ok/1'], ['put t/never 1']),
      expectCode: 0,
    });
    await c.same(['txn', '-w', 'json'], {
      stdin: txn(['version("t/a") = "1"'], ['put t/a 2', 'get t/a', 'del t/ok/ --prefix', 'get t/ --prefix --keys-only'], ['get t/a']),
      expectCode: 0,
    });
    await c.same(['txn', '-w', 'json'], {
      stdin: txn(['version("t/a") = "1"'], ['put t/a 3'], ['put t/a 4', 'get t/a', 'del t/ko/ --prefix', 'del t/nothing']),
      expectCode: 0,
    });
    await c.same(['txn', '-w', 'fields'], {
      stdin: txn(['value("t/a") = "4"'], ['get t/ --prefix --limit 2', 'del t/a --prev-kv'], []),
      expectCode: 0,
    });
    await c.same(['txn', '-w', 'json'], {
      stdin: txn([], ['get t/ --from-key --keys-only', 'get t/k1 --rev 2'], []),
      expectCode: 0,
    });
    // no compares and no ops
    await c.same(['txn'], { stdin: txn([], [], []), expectCode: 0 });
    await c.same(['txn', '-w', 'json'], { stdin: txn([], [], []), expectCode: 0 });
    // the interactive prompts go to stdout
    await c.same(['txn', '--interactive'], {
      stdin: txn(['create("t/k1") > "0"'], ['get t/k1'], ['get t/k2']),
      expectCode: 0,
    });
    // an op reading a compacted or future revision inside a txn fails the whole txn
    await c.same(['txn'], { stdin: txn([], ['get t/k1 --rev 100000'], []), expectCode: 1 });
    await c.same(['get', '--from-key', '', '-w', 'json'], { expectCode: 0 });
  });

  test('txn errors: duplicate keys, more than 128 ops', async (c) => {
    // two puts of one key in one branch: etcdserver: duplicate key given in txn request
    await c.same(['txn'], { stdin: txn([], ['put t/dup 1', 'put t/dup 2'], []), expectCode: 1 });
    // a put and a delete of one key in one branch: also duplicate
    await c.same(['txn'], { stdin: txn([], ['put t/dup 1', 'del t/dup'], []), expectCode: 1 });
    // a put under a deleted range in one branch
    await c.same(['txn'], { stdin: txn([], ['del t/ --prefix', 'put t/x 1'], []), expectCode: 1 });
    // the same key in the success and the failure branch is fine
    await c.same(['txn'], { stdin: txn(['version("t/k1") > "0"'], ['put t/dup 1'], ['put t/dup 2']), expectCode: 0 });
    // two gets of one key are fine
    await c.same(['txn'], { stdin: txn([], ['get t/dup', 'get t/dup'], []), expectCode: 0 });
    // 128 ops are allowed, 129 are not: etcdserver: too many operations in txn request
    const puts = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `put t/many/${tag}/${i} v${i}`);
    await c.same(['txn'], { stdin: txn([], puts(128, 'a'), []), expectCode: 0 });
    await c.same(['txn'], { stdin: txn([], puts(129, 'b'), []), expectCode: 1 });
    await c.same(['txn'], { stdin: txn([], [], puts(129, 'c')), expectCode: 1 });
    // compares count too (etcd checks compares, success and failure separately against the limit)
    const cmps = Array.from({ length: 129 }, (_, i) => `version("t/many/a/${i}") = "1"`);
    await c.same(['txn'], { stdin: txn(cmps, ['put t/cmp ok'], []), expectCode: 1 });
    // (etcdctl 3.4 has no --count-only; count_only is compared in range-options.test.ts)
    await c.same(['get', '--prefix', 't/many/', '--limit', '1', '-w', 'json'], { expectCode: 0 }); // count 128
  });

  test('request errors: empty key, request too large, bad revisions', async (c) => {
    await c.same(['put', '', 'v'], { expectCode: 1 }); // etcdserver: key is not provided
    // a 1.6 MiB value through stdin: etcdserver: request is too large (limit 1.5 MiB)
    const big = Buffer.alloc(Math.round(1.6 * 1024 * 1024), 0x78);
    await c.same(['put', 't/big'], { stdin: big, expectCode: 1 });
    // just below the limit is accepted
    const fits = Buffer.alloc(1024 * 1024, 0x79);
    await c.same(['put', 't/fits'], { stdin: fits, expectCode: 0 });
    await c.same(['get', 't/fits', '--keys-only', '-w', 'json'], { expectCode: 0 });
    // a txn whose ops together exceed the limit
    const half = 'z'.repeat(800 * 1024);
    await c.same(['txn'], { stdin: txn([], [`put t/h1 ${half}`, `put t/h2 ${half}`], []), expectCode: 1 });
    await c.same(['get', 't/', '--prefix', '--keys-only'], { expectCode: 0 });
  });
});
