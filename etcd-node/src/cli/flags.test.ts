import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseCommand } from './flags.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const cmd = parseCommand(argv, env);
  assert.equal(cmd.kind, 'run');
  return cmd.kind === 'run' ? cmd.args : assert.fail();
}

function flagError(argv: string[], env: NodeJS.ProcessEnv = {}): FlagError {
  try {
    parseCommand(argv, env);
  } catch (err) {
    assert.ok(err instanceof FlagError, `expected FlagError, got ${String(err)}`);
    return err;
  }
  return assert.fail(`no error for ${argv.join(' ')}`);
}

test('no flags: one member named default on localhost:2379 with data in ./default.etcd', () => {
  const { config } = run([]);
  assert.equal(config.name, 'default');
  assert.equal(config.dataDir, 'default.etcd');
  assert.deepEqual(config.listenClientUrls.map((u) => u.host), ['localhost:2379']);
  assert.deepEqual([...config.initialCluster.keys()], ['default']);
  assert.equal(config.quotaBackendBytes, 2 * 1024 * 1024 * 1024);
  assert.equal(config.maxRequestBytes, 1.5 * 1024 * 1024);
  assert.equal(config.maxTxnOps, 128);
});

test('flags in both forms, and ETCD_* variables, with flags winning', () => {
  const { config, warnings } = run(['--name', 'n1', '--data-dir=/tmp/x', '--snapshot-count=5'], {
    ETCD_NAME: 'ignored',
    ETCD_QUOTA_BACKEND_BYTES: '1048576',
  });
  assert.equal(config.name, 'n1');
  assert.equal(config.dataDir, '/tmp/x');
  assert.equal(config.snapshotCount, 5);
  assert.equal(config.quotaBackendBytes, 1048576);
  assert.ok(warnings.some((w) => w.includes('ETCD_NAME')));
});

test('--name alone derives the initial cluster from the advertised peer URLs', () => {
  const { config } = run(['--name=a', '--initial-advertise-peer-urls=http://127.0.0.1:9380']);
  assert.deepEqual(config.initialCluster.get('a')?.map((u) => u.host), ['127.0.0.1:9380']);
});

test('bad flags and values are errors that name the flag', () => {
  assert.equal(flagError(['--bogus=1']).flag, 'bogus');
  assert.match(flagError(['--bogus=1']).message, /--bogus/);
  assert.equal(flagError(['--snapshot-count=abc']).flag, 'snapshot-count');
  assert.equal(flagError(['--listen-client-urls=ftp://x:1']).flag, 'listen-client-urls');
  assert.equal(flagError(['--listen-client-urls=http://127.0.0.1']).flag, 'listen-client-urls');
  assert.equal(flagError(['--initial-cluster-state=maybe']).flag, 'initial-cluster-state');
  assert.equal(flagError(['--heartbeat-interval=300']).flag, 'election-timeout');
  assert.match(flagError(['--heartbeat-interval=300']).message, /at least as 5 times/);
  assert.equal(flagError(['--log-level=loud']).flag, 'log-level');
  assert.equal(flagError(['--name=x', '--initial-cluster=y=http://127.0.0.1:2380']).flag, 'initial-cluster');
  assert.equal(flagError(['--cert-file=/a']).flag, 'key-file');
  assert.equal(flagError(['--auto-compaction-retention=soon']).flag, 'auto-compaction-retention');
  assert.equal(flagError(['--quota-backend-bytes=-1']).flag, 'quota-backend-bytes');
  assert.equal(flagError(['--name']).flag, 'name');
  assert.equal(flagError([], { ETCD_SNAPSHOT_COUNT: 'lots' }).flag, 'snapshot-count');
});

test('auto compaction retention: hours by default, durations, revisions', () => {
  assert.equal(run(['--auto-compaction-retention=1']).config.autoCompactionRetention, 3_600_000);
  assert.equal(run(['--auto-compaction-retention=1h30m']).config.autoCompactionRetention, 5_400_000);
  assert.equal(
    run(['--auto-compaction-mode=revision', '--auto-compaction-retention=1000']).config.autoCompactionRetention,
    1000,
  );
});

test('help and version are commands', () => {
  assert.equal(parseCommand(['--help'], {}).kind, 'help');
  assert.equal(parseCommand(['--version'], {}).kind, 'version');
});

test('--auth-token: simple (the default) is accepted, jwt and unknown types are refused by name', () => {
  assert.equal(run([]).config.authTokenTtl, 300);
  assert.equal(run(['--auth-token=simple', '--auth-token-ttl=5']).config.authTokenTtl, 5);
  const jwt = flagError(['--auth-token=jwt,pub-key=a.pub,priv-key=a,sign-method=RS256']);
  assert.equal(jwt.flag, 'auth-token');
  assert.match(jwt.message, /jwt tokens are not supported/);
  const other = flagError(['--auth-token=magic']);
  assert.equal(other.flag, 'auth-token');
  assert.match(other.message, /unknown token type/);
  assert.equal(flagError(['--auth-token-ttl=0']).flag, 'auth-token-ttl');
});
