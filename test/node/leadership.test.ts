// EtcdServer's leadership hooks (isLeader / onLeaderChange), which the lessor relies on: lease expiry
// runs only on the leader. A one-member cluster elects itself at start and gives leadership up on stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommand } from '../../etcd-node/src/cli/flags.js';
import { EtcdServer } from '../../etcd-node/src/server/etcd-server.js';
import { createLogger } from '../../etcd-node/src/util/logger.js';

test('a one-member server is leader after start, reports it to listeners, and stops leading on stop', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-lead-'));
  try {
    const cmd = parseCommand(['--name', 'n1', '--data-dir', path.join(dir, 'n1.etcd')], {});
    assert.equal(cmd.kind, 'run');
    if (cmd.kind !== 'run') return;
    const server = await EtcdServer.start(cmd.args.config, createLogger('error'));
    const seen: Array<[boolean, bigint]> = [];
    const unsubscribe = server.onLeaderChange((mine, leader) => seen.push([mine, leader]));
    // the first write goes through the log, so leadership is settled once it is answered
    await server.put({ key: Buffer.from('k'), value: Buffer.from('v'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
    assert.equal(server.isLeader(), true);
    await server.stop();
    assert.equal(server.isLeader(), false);
    assert.deepEqual(seen.at(-1), [false, 0n]);
    unsubscribe();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
