// NOSPACE: past --quota-backend-bytes writes fail with etcd's error and the alarm is raised; reads and
// deletes still work; after compaction, defragmentation and disarming, writes work again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdctl } from '../support/etcdctl.js';
import { skipUnless, startServer, type RunningServer } from '../support/servers.js';

const QUOTA = 8 * 1024 * 1024;
let s: RunningServer | undefined;

before(async () => {
  if (skipUnless('etcdctl').skip) return;
  s = await startServer({ kind: 'node', extraArgs: [`--quota-backend-bytes=${QUOTA}`] });
});
after(async () => {
  await s?.stop();
});

test('NOSPACE alarm: writes refused, reads and deletes served, disarm after compact+defrag restores writes', skipUnless('etcdctl'), async () => {
  const ep = s!.endpoint;
  const value = 'x'.repeat(100 * 1024);
  let refused: string | undefined;
  let lastRev = 0;
  for (let i = 0; i < 400 && refused === undefined; i++) {
    const r = await etcdctl(ep, ['put', `big/${i % 4}`, value, '-w', 'json']);
    if (r.code !== 0) refused = r.stderr;
    else lastRev = Number((JSON.parse(r.stdout) as { header: { revision: number } }).header.revision);
  }
  assert.ok(refused, 'the quota was never reached');
  assert.match(refused, /etcdserver: mvcc: database space exceeded/);

  const alarms = await etcdctl(ep, ['alarm', 'list']);
  assert.match(alarms.stdout, /alarm:NOSPACE/);
  // Reads and deletes still work; another write does not.
  assert.equal((await etcdctl(ep, ['get', 'big/0', '--print-value-only'])).stdout.trim(), value);
  assert.equal((await etcdctl(ep, ['put', 'small', 'v'])).code, 1);
  assert.equal((await etcdctl(ep, ['del', 'big/3'])).stdout.trim(), '1');

  // Free the space: compact away the history, defragment, disarm.
  assert.equal((await etcdctl(ep, ['compaction', '--physical', String(lastRev)])).code, 0);
  assert.equal((await etcdctl(ep, ['defrag'])).code, 0);
  const disarm = await etcdctl(ep, ['alarm', 'disarm']);
  assert.match(disarm.stdout, /alarm:NOSPACE/);
  assert.equal((await etcdctl(ep, ['alarm', 'list'])).stdout.trim(), '');
  assert.equal((await etcdctl(ep, ['put', 'small', 'v'])).stdout.trim(), 'OK');
  assert.equal((await etcdctl(ep, ['get', 'small', '--print-value-only'])).stdout.trim(), 'v');
});
