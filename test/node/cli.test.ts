// The etcd-node command as a user meets it: bad flags exit non-zero naming the flag; a damaged WAL stops
// the start naming the file and offset; RPCs this build does not serve answer Unimplemented.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { openSync, readdirSync, readSync, rmSync, statSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { MaintenanceClient } from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import { etcdctl } from '../support/etcdctl.js';
import { repoRoot, skipUnless, startServer } from '../support/servers.js';

const bin = join(repoRoot, 'bin', 'etcd-node.js');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runNode(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
}

test('a bad flag or value exits non-zero with a message naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--no-such-flag'], /--no-such-flag/],
    [['--snapshot-count=many'], /--snapshot-count/],
    [['--listen-client-urls=127.0.0.1:2379'], /--listen-client-urls/],
    [['--election-timeout=100'], /--election-timeout/],
    [['--initial-cluster-state=sometimes'], /--initial-cluster-state/],
  ];
  for (const [args, re] of cases) {
    const r = runNode(args);
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, re);
  }
  const env = spawnSync(process.execPath, [bin], { encoding: 'utf8', env: { ...process.env, ETCD_HEARTBEAT_INTERVAL: 'fast' } });
  assert.notEqual(env.status, 0);
  assert.match(env.stderr, /--heartbeat-interval/);
});

test('--version and --help answer without starting a member', () => {
  const v = runNode(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /API Version: 3\.6/);
  const h = runNode(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--quota-backend-bytes/);
});

test('a corrupted WAL record before the tail stops the start, naming file and offset', skipUnless('etcdctl'), async () => {
  const s = await startServer({ kind: 'node' });
  dirs.push(s.dataDir);
  for (let i = 0; i < 50; i++) assert.equal((await etcdctl(s.endpoint, ['put', `k${i}`, `value-${i}`])).code, 0);
  await s.kill('SIGKILL');
  const walDir = join(s.dataDir, 'member', 'wal');
  const seg = readdirSync(walDir).filter((f) => f.endsWith('.wal')).sort()[0]!;
  const file = join(walDir, seg);
  // Flip a byte inside the payload of a record in the middle of the log: the entry holding value-25.
  const fd = openSync(file, 'r+');
  const buf = Buffer.alloc(Math.min(statSync(file).size, 1 << 20));
  readSync(fd, buf, 0, buf.length, 0);
  const at = buf.indexOf('value-25');
  assert.ok(at > 0, 'the entry for k25 is in the first segment');
  writeSync(fd, Buffer.from([buf[at]! ^ 0xff]), 0, 1, at);
  closeSync(fd);

  const r = runNode(['--name', 'n1', '--data-dir', s.dataDir, `--listen-client-urls=${s.clientUrl}`, `--advertise-client-urls=${s.clientUrl}`,
    `--listen-peer-urls=${s.peerUrl}`, `--initial-advertise-peer-urls=${s.peerUrl}`, `--initial-cluster=n1=${s.peerUrl}`]);
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.includes(file), `stderr should name ${file}:\n${r.stderr}`);
  assert.match(r.stderr, /offset \d+/);
});

test('an RPC this build does not serve answers Unimplemented, and the server stays up', skipUnless('etcdctl'), async () => {
  const s = await startServer({ kind: 'node' });
  try {
    const client = new MaintenanceClient(s.endpoint, credentials.createInsecure());
    const err = await new Promise<ServiceError | null>((res) => client.downgrade({ action: 0, version: '3.5' }, (e) => res(e)));
    client.close();
    assert.equal(err?.code, status.UNIMPLEMENTED, `Downgrade answers Unimplemented: ${String(err?.details)}`);
    assert.equal((await etcdctl(s.endpoint, ['put', 'still', 'up'])).stdout.trim(), 'OK');
  } finally {
    await s.stop();
  }
});
