// etcdctl watch against etcd-node and a real etcd side by side: historical and live events, prefixes,
// ranges, --prev-kv, JSON output, a compacted start revision. etcdctl watch runs until it is killed,
// so each command runs for a fixed time on both sides and what it printed by then is compared.
//
//   node --import tsx --test test/compat/etcdctl-watch.test.ts
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Compat, compatTest, etcdRevision, type Pair } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

/** How long a watch runs before it is killed; the events it should print arrive well before. */
const WATCH_MS = 2500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('etcdctl watch: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  /** The current revision (same on both sides: both got the same writes). */
  const rev = async (c: Compat): Promise<number> => etcdRevision((await c.same(['get', 'no-such-key', '-w', 'json'], { expectCode: 0 })).etcd);

  /** A watch that starts now and sees the writes `during` makes (started after the watch is set up). */
  const live = async (c: Compat, args: string[], during: () => Promise<void>): Promise<Pair> => {
    const watching = c.same(['watch', ...args], { timeoutMs: WATCH_MS });
    await sleep(700);
    await during();
    return watching;
  };

  test('historical: --rev from the start, a key, a prefix, a range, --prev-kv, json', async (c) => {
    await c.same(['put', 'w/a', '1'], { expectCode: 0 });
    await c.same(['put', 'w/b', '2'], { expectCode: 0 });
    await c.same(['put', 'w/a', '3'], { expectCode: 0 });
    await c.same(['del', 'w/b'], { expectCode: 0 });
    await c.same(['put', 'w/c', '4'], { expectCode: 0 });
    const first = (await rev(c)) - 4;
    const r = await c.same(['watch', `--rev=${first}`, 'w/a'], { timeoutMs: WATCH_MS });
    assert.match(r.etcd.stdout, /PUT\nw\/a\n1\nPUT\nw\/a\n3\n/, 'the reference prints the history of w/a');
    // read-only from here: the watches may run together
    await Promise.all([
      c.same(['watch', `--rev=${first}`, '--prefix', 'w/'], { timeoutMs: WATCH_MS }),
      c.same(['watch', `--rev=${first}`, '--prev-kv', '--prefix', 'w/'], { timeoutMs: WATCH_MS }),
      c.same(['watch', `--rev=${first}`, 'w/a', 'w/c'], { timeoutMs: WATCH_MS }),
      c.same(['watch', `--rev=${first + 2}`, '--prev-kv', '--prefix', 'w/', '-w', 'json'], { timeoutMs: WATCH_MS }),
      c.same(['watch', `--rev=${first}`, '--prefix', 'w/', '-w', 'fields'], { timeoutMs: WATCH_MS }),
    ]);
  });

  test('live: puts and deletes made while watching, with --prev-kv', async (c) => {
    const r = await live(c, ['--prefix', '--prev-kv', 'live/'], async () => {
      await c.same(['put', 'live/x', 'one'], { expectCode: 0 });
      await c.same(['put', 'live/x', 'two'], { expectCode: 0 });
      await c.same(['put', 'other', 'not watched'], { expectCode: 0 });
      await c.same(['del', '--prefix', 'live/'], { expectCode: 0 });
    });
    assert.match(r.etcd.stdout, /PUT\nlive\/x\none\n/, 'the reference saw the live put');
    await live(c, ['live/y', '-w', 'json'], async () => {
      await c.same(['put', 'live/y', 'json'], { expectCode: 0 });
    });
  });

  test('a start revision that has been compacted', async (c) => {
    await c.same(['put', 'cmp', 'a'], { expectCode: 0 });
    await c.same(['put', 'cmp', 'b'], { expectCode: 0 });
    const now = await rev(c);
    await c.same(['compact', String(now)], { expectCode: 0 });
    const r = await c.same(['watch', '--rev=2', 'cmp'], { timeoutMs: WATCH_MS });
    assert.match(r.etcd.stdout + r.etcd.stderr, /compacted/, 'the reference reports the compaction');
    // at the compact revision itself the history is still there
    await c.same(['watch', `--rev=${now}`, 'cmp'], { timeoutMs: WATCH_MS });
  });

  test('watch with an exec command runs it per event', async (c) => {
    await live(c, ['exec-key', '--', 'sh', '-c', 'echo "event $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE rev $ETCD_WATCH_REVISION"'], async () => {
      await c.same(['put', 'exec-key', 'v1'], { expectCode: 0 });
    });
  });
});
