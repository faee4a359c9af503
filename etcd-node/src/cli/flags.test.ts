import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envName, FlagError, FLAGS, parseCommand } from './flags.js';

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

test('flags in both forms, and ETCD_* variables for the flags not given', () => {
  const { config, warnings } = run(['--name', 'n1', '--data-dir=/tmp/x', '--snapshot-count=5'], {
    ETCD_QUOTA_BACKEND_BYTES: '1048576',
    ETCD_TS_SOMETHING: 'x',
  });
  assert.equal(config.name, 'n1');
  assert.equal(config.dataDir, '/tmp/x');
  assert.equal(config.snapshotCount, 5);
  assert.equal(config.quotaBackendBytes, 1048576);
  assert.ok(warnings.some((w) => w.includes('unrecognized environment variable ETCD_TS_SOMETHING')));
});

test('an ETCD_* variable shadowed by its flag is an error, as in etcd 3.6 (exit code 1)', () => {
  const e = flagError(['--name=n1'], { ETCD_NAME: 'other' });
  assert.equal(e.flag, 'name');
  assert.equal(e.exitCode, 1);
  assert.match(e.message, /conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag/);
});

test('a repeated flag takes its last value, in every form (Go flag package semantics)', () => {
  const c = run([
    '--initial-cluster-token=a', '--initial-cluster-token', 'b', '-initial-cluster-token=c',
    '--snapshot-count=5', '-snapshot-count', '7',
    '--quota-backend-bytes=1', '--quota-backend-bytes=4096',
    '--client-cert-auth', '--client-cert-auth=false',
    '--max-txn-ops=1', '--max-txn-ops=256',
    '--listen-client-urls=http://127.0.0.1:1', '--listen-client-urls=http://127.0.0.1:2', '--advertise-client-urls=http://127.0.0.1:2',
    '--auto-compaction-mode=revision', '--auto-compaction-mode=periodic',
    '--watch-progress-notify-interval=1m', '--watch-progress-notify-interval=2s',
  ]).config;
  assert.equal(c.initialClusterToken, 'c');
  assert.equal(c.snapshotCount, 7);
  assert.equal(c.quotaBackendBytes, 4096);
  assert.equal(c.tls.clientCertAuth, false);
  assert.equal(c.maxTxnOps, 256);
  assert.deepEqual(c.listenClientUrls.map((u) => u.port), ['2']);
  assert.equal(c.autoCompactionMode, 'periodic');
  assert.equal(c.watchProgressNotifyInterval, 2000);
  // a bad value is refused even when a later one would be good (Go checks each as it is set)
  assert.equal(flagError(['--snapshot-count=x', '--snapshot-count=5']).exitCode, 2);
});

test("--feature-gates accumulates over repeats; unknown gates and bad values are Go's parse errors", () => {
  const { warnings } = run(['--feature-gates=InitialCorruptCheck=true', '--feature-gates=CompactHashCheck=true']);
  assert.ok(warnings.some((w) => w.includes('InitialCorruptCheck')));
  assert.ok(warnings.some((w) => w.includes('CompactHashCheck')));
  const unknown = flagError(['--feature-gates=Foo=true']);
  assert.equal(unknown.exitCode, 2);
  assert.match(unknown.message, /unrecognized feature gate: Foo/);
  assert.match(flagError(['--feature-gates=InitialCorruptCheck=maybe']).message, /strconv.ParseBool: parsing "maybe": invalid syntax/);
  const refused = flagError(['--feature-gates=LeaseCheckpoint=true']);
  assert.equal(refused.exitCode, 1);
  assert.match(refused.message, /not supported yet/);
});

test("etcd 3.6's experimental names stand for the new ones, with etcd's deprecation warning and conflict error", () => {
  const a = run(['--experimental-watch-progress-notify-interval=5m', '--experimental-snapshot-catchup-entries=7']);
  assert.equal(a.config.watchProgressNotifyInterval, 300_000);
  assert.equal(a.config.snapshotCatchUpEntries, 7);
  assert.ok(a.warnings.some((w) => w.includes("--experimental-watch-progress-notify-interval is deprecated in v3.6 and will be decommissioned in v3.7. Use '--watch-progress-notify-interval' instead.")));
  assert.equal(run(['--snapshot-catchup-entries=9']).config.snapshotCatchUpEntries, 9);
  const both = flagError(['--experimental-watch-progress-notify-interval=5m', '--watch-progress-notify-interval=6m']);
  assert.equal(both.exitCode, 1);
  assert.match(both.message, /cannot set --experimental-watch-progress-notify-interval and --watch-progress-notify-interval at the same time/);
  const gate = flagError(['--experimental-initial-corrupt-check', '--feature-gates=InitialCorruptCheck=false']);
  assert.match(gate.message, /cannot specify both flags: --experimental-initial-corrupt-check=true and --feature-gates=InitialCorruptCheck=false/);
  const lease = flagError(['--experimental-enable-lease-checkpoint']);
  assert.equal(lease.flag, 'experimental-enable-lease-checkpoint');
  assert.match(lease.message, /not supported yet/);
});

test('etcd 3.6 flags once refused are accepted (defaults and warnings)', () => {
  const r = run([
    '--strict-reconfig-check=false', '--pre-vote=false', '--max-concurrent-streams=100', '--wal-dir=/tmp/w',
    '--listen-client-urls=http://127.0.0.1:1', '--advertise-client-urls=http://127.0.0.1:1',
    '--listen-client-http-urls=http://127.0.0.1:3', '--listen-metrics-urls=http://127.0.0.1:4',
    '--force-new-cluster', '--client-crl-file=/tmp/crl', '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    '--discovery-dial-timeout=3s', '--discovery-insecure-transport=false', '--discovery-cacert=/x',
    '--experimental-initial-corrupt-check', '--max-wals=3', '--enable-pprof', '--log-format=console',
  ]);
  assert.equal(r.config.strictReconfigCheck, false);
  assert.equal(r.config.preVote, false);
  assert.equal(r.config.maxConcurrentStreams, 100);
  assert.equal(r.config.walDir, '/tmp/w');
  assert.equal(r.config.forceNewCluster, true);
  assert.equal(r.config.tls.crlFile, '/tmp/crl');
  assert.equal(r.config.tls.ciphers?.includes('ECDHE-RSA-AES128-GCM-SHA256'), true);
  assert.deepEqual(r.config.listenClientHttpUrls?.map((u) => u.port), ['3']);
  assert.deepEqual(r.config.listenMetricsUrls?.map((u) => u.port), ['4']);
  for (const f of ['--max-wals=3', '--enable-pprof=true', '--log-format=console', 'InitialCorruptCheck=true']) {
    assert.ok(r.warnings.some((w) => w.includes(f) && w.includes('no effect')), `a warning naming ${f}: ${r.warnings.join('\n')}`);
  }
  // --auto-tls / --peer-auto-tls make https listeners possible without certificate files
  const auto = run(['--auto-tls', '--peer-auto-tls', '--self-signed-cert-validity=3',
    '--listen-client-urls=https://127.0.0.1:1', '--advertise-client-urls=https://127.0.0.1:1', '--listen-peer-urls=https://127.0.0.1:2',
    '--initial-advertise-peer-urls=https://127.0.0.1:2']).config.tls;
  assert.deepEqual([auto.autoTls, auto.peerAutoTls, auto.selfSignedCertValidity], [true, true, 3]);
  // default values of warned-about flags say nothing
  assert.deepEqual(run(['--max-wals=5', '--enable-pprof=false']).warnings, []);
});

test('flags etcd-node cannot honour yet are refused with "not supported yet", exit code 1', () => {
  for (const args of [
    ['--discovery=https://discovery.etcd.io/abc'],
    ['--discovery-endpoints=http://127.0.0.1:1', '--discovery-token=t'],
    ['--discovery-srv=example.com'],
    ['--config-file=/etc/etcd.yaml'],
    ['--auth-token=jwt,pub-key=a'],
  ]) {
    const e = flagError(args);
    assert.equal(e.exitCode, 1, args.join(' '));
    assert.match(e.message, /not supported yet/, args.join(' '));
    assert.equal(e.flag, args[0]!.replace(/^--/, '').replace(/=.*/, ''));
  }
  // off (the default) is fine
  run(['--auto-tls=false', '--peer-auto-tls=false', '--discovery=', '--discovery-srv=']);
});

test("bad values: Go's parse errors (exit code 2) and etcd's checks (exit code 1), naming the flag", () => {
  const cases: Array<[string[], string, 1 | 2, RegExp]> = [
    [['--snapshot-count=abc'], 'snapshot-count', 2, /^invalid value "abc" for flag --snapshot-count: parse error$/],
    [['--snapshot-count=-1'], 'snapshot-count', 2, /parse error/],
    [['--quota-backend-bytes=99999999999999999999'], 'quota-backend-bytes', 2, /value out of range/],
    [['--client-cert-auth=maybe'], 'client-cert-auth', 2, /^invalid boolean value "maybe" for --client-cert-auth: parse error$/],
    [['--grpc-keepalive-min-time=xx'], 'grpc-keepalive-min-time', 2, /parse error/],
    [['--max-concurrent-streams=-1'], 'max-concurrent-streams', 2, /strconv.ParseUint: parsing "-1": invalid syntax/],
    [['--v2-deprecation=bad'], 'v2-deprecation', 2, /invalid value "bad" for flag --v2-deprecation: invalid value/],
    [['--discovery-fallback=foo'], 'discovery-fallback', 2, /invalid value/],
    [['--initial-cluster-state=maybe'], 'initial-cluster-state', 2, /invalid value/],
    [['--listen-metrics-urls=ftp://x:1'], 'listen-metrics-urls', 2, /URL scheme must be http, https, unix, or unixs/],
    [['--cors=http://example.com'], 'cors', 2, /host:port/],
    [['--bogus'], 'bogus', 2, /flag provided but not defined: --bogus/],
    [['---name=x'], '---name=x', 2, /bad flag syntax/],
    [['--snapshot-count'], 'snapshot-count', 2, /flag needs an argument/],
    [['--client-cert-auth', 'false'], 'false', 1, /"false" is not a valid flag/],
    [['--tls-min-version=TLS1.0'], 'tls-min-version', 1, /unexpected TLS version "TLS1.0" \(must be one of: TLS1.2, TLS1.3\)/],
    [['--tls-min-version=TLS1.3', '--tls-max-version=TLS1.2'], 'tls-min-version', 1, /min version \(TLS1.3\) is greater than max version \(TLS1.2\)/],
    [['--tls-min-version=TLS1.3', '--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], 'cipher-suites', 1, /cannot be configured when only TLS1.3/],
    [['--cipher-suites=BAD'], 'cipher-suites', 1, /unexpected TLS cipher suite "BAD"/],
    [['--log-format=xml'], 'log-format', 1, /unknown log format: xml, supported values json, console/],
    [['--logger=capnslog'], 'logger', 1, /removed in v3.5/],
    [['--discovery-fallback=proxy'], 'discovery-fallback', 1, /can't be configured as "proxy"/],
    [['--discovery-token=abc'], 'discovery-token', 1, /both --discovery-token and --discovery-endpoints must be set/],
    [['--enable-log-rotation'], 'enable-log-rotation', 1, /requires a single file path/],
    [['--heartbeat-interval=0'], 'heartbeat-interval', 1, /must be >0/],
    [['--listen-client-urls=http://127.0.0.1:1'], 'advertise-client-urls', 1, /--advertise-client-urls is required when --listen-client-urls is set explicitly/],
    [['--auto-tls', '--self-signed-cert-validity=0'], 'self-signed-cert-validity', 1, /greater than 0/],
  ];
  for (const [argv, flag, code, re] of cases) {
    const e = flagError(argv);
    assert.equal(e.flag, flag, argv.join(' '));
    assert.equal(e.exitCode, code, `${argv.join(' ')}: ${e.message}`);
    assert.match(e.message, re, argv.join(' '));
  }
  // from the environment, etcd reports a bad value when it verifies the flags (exit code 1)
  const env = flagError([], { ETCD_SNAPSHOT_COUNT: 'abc' });
  assert.equal(env.exitCode, 1);
  assert.match(env.message, /invalid value "abc" for ETCD_SNAPSHOT_COUNT/);
});

test('Go number and duration syntax: base prefixes, fractions, units', () => {
  assert.equal(run(['--snapshot-count=0x10']).config.snapshotCount, 16);
  assert.equal(run(['--snapshot-count=0o17']).config.snapshotCount, 15);
  assert.equal(flagError(['--snapshot-count=1_000']).exitCode, 2); // _ needs a base prefix in Go
  assert.equal(run(['--snapshot-count=0x1_0']).config.snapshotCount, 16);
  assert.equal(run(['--watch-progress-notify-interval=1.5s']).config.watchProgressNotifyInterval, 1500);
  assert.equal(run(['--watch-progress-notify-interval=1h2m3s4ms']).config.watchProgressNotifyInterval, 3_723_004);
  assert.equal(flagError(['--grpc-keepalive-interval=10']).exitCode, 2); // a unit is required (except 0)
  assert.equal(run(['--grpc-keepalive-interval=0']).config.grpcKeepalive?.intervalMs, 0);
});

test('a negative --quota-backend-bytes disables the quota, as in etcd', () => {
  const r = run(['--quota-backend-bytes=-1']);
  assert.equal(r.config.quotaBackendBytes, Number.MAX_SAFE_INTEGER);
  assert.ok(r.warnings.some((w) => w.includes('disabled backend quota')));
});

test("every flag of etcd 3.6's --help is in the table, with an ETCD_* variable", () => {
  for (const f of ETCD_36_FLAGS) {
    assert.ok(FLAGS[f] !== undefined, `--${f}`);
    assert.equal(envName(f), `ETCD_${f.toUpperCase().replace(/-/g, '_')}`);
  }
  for (const [f, spec] of Object.entries(FLAGS)) {
    if (spec.state !== 'honoured') assert.ok((spec.note ?? '') !== '', `--${f} (${spec.state}) says why`);
  }
  // each flag is read from its variable
  assert.equal(run([], { ETCD_MAX_LEARNERS: '3' }).config.maxLearners, 3);
  assert.equal(run([], { ETCD_STRICT_RECONFIG_CHECK: 'false' }).config.strictReconfigCheck, false);
  assert.equal(run([], { ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES: '11' }).config.snapshotCatchUpEntries, 11);
  assert.match(flagError([], { ETCD_DISCOVERY_SRV: 'example.com' }).message, /not supported yet/);
  assert.equal(run([], { ETCD_AUTO_TLS: 'true' }).config.tls.autoTls, true);
});

/** `etcd --help` of etcd 3.6.16 (test/compat/etcd-flags.test.ts reads it from the binary). */
const ETCD_36_FLAGS = (
  'name data-dir wal-dir snapshot-count heartbeat-interval election-timeout initial-election-tick-advance listen-peer-urls ' +
  'listen-client-urls listen-client-http-urls max-snapshots max-wals memory-mlock quota-backend-bytes backend-bbolt-freelist-type ' +
  'backend-batch-interval backend-batch-limit max-txn-ops max-request-bytes max-concurrent-streams grpc-keepalive-min-time ' +
  'grpc-keepalive-interval grpc-keepalive-timeout socket-reuse-port socket-reuse-address enable-grpc-gateway raft-read-timeout ' +
  'raft-write-timeout feature-gates initial-advertise-peer-urls initial-cluster initial-cluster-state initial-cluster-token ' +
  'advertise-client-urls discovery discovery-token discovery-endpoints discovery-dial-timeout discovery-request-timeout ' +
  'discovery-keepalive-time discovery-keepalive-timeout discovery-insecure-transport discovery-insecure-skip-tls-verify ' +
  'discovery-cert discovery-key discovery-cacert discovery-user discovery-password discovery-fallback discovery-proxy discovery-srv ' +
  'discovery-srv-name strict-reconfig-check pre-vote auto-compaction-retention auto-compaction-mode v2-deprecation cert-file ' +
  'key-file client-cert-auth client-cert-file client-key-file client-crl-file client-cert-allowed-hostname trusted-ca-file ' +
  'auto-tls peer-cert-file peer-key-file peer-client-cert-auth peer-client-cert-file peer-client-key-file peer-trusted-ca-file ' +
  'peer-cert-allowed-cn peer-cert-allowed-hostname peer-auto-tls self-signed-cert-validity peer-crl-file cipher-suites cors ' +
  'host-whitelist tls-min-version tls-max-version auth-token bcrypt-cost auth-token-ttl enable-pprof metrics listen-metrics-urls ' +
  'logger log-outputs log-level log-format enable-log-rotation log-rotation-config-json warning-unary-request-duration ' +
  'experimental-enable-distributed-tracing enable-distributed-tracing experimental-distributed-tracing-address ' +
  'distributed-tracing-address experimental-distributed-tracing-service-name distributed-tracing-service-name ' +
  'experimental-distributed-tracing-instance-id distributed-tracing-instance-id experimental-distributed-tracing-sampling-rate ' +
  'distributed-tracing-sampling-rate experimental-initial-corrupt-check experimental-corrupt-check-time corrupt-check-time ' +
  'experimental-compact-hash-check-enabled experimental-compact-hash-check-time compact-hash-check-time ' +
  'experimental-enable-lease-checkpoint experimental-compaction-batch-limit compaction-batch-limit ' +
  'experimental-peer-skip-client-san-verification peer-skip-client-san-verification experimental-watch-progress-notify-interval ' +
  'watch-progress-notify-interval experimental-warning-apply-duration warning-apply-duration ' +
  'experimental-txn-mode-write-with-shared-buffer experimental-bootstrap-defrag-threshold-megabytes ' +
  'bootstrap-defrag-threshold-megabytes experimental-warning-unary-request-duration max-learners ' +
  'experimental-compaction-sleep-interval compaction-sleep-interval experimental-downgrade-check-time downgrade-check-time ' +
  'experimental-enable-lease-checkpoint-persist experimental-memory-mlock experimental-snapshot-catchup-entries ' +
  'snapshot-catchup-entries experimental-stop-grpc-service-on-defrag force-new-cluster unsafe-no-fsync'
).split(' ');

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
  assert.match(jwt.message, /jwt tokens are not supported yet/);
  const other = flagError(['--auth-token=magic']);
  assert.equal(other.flag, 'auth-token');
  assert.match(other.message, /unknown token type/);
  assert.equal(flagError(['--auth-token-ttl=0']).flag, 'auth-token-ttl');
});
