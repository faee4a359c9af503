// etcd 3.6's command line on etcd-node: every flag `etcd --help` of etcd 3.6 lists (read from the built
// .tools/etcd-v3.6.x/etcd, the source of truth) is known to etcd-node; two servers started with every one
// of them (each with a valid value, some given twice: the last one wins, as in etcd), over client TLS,
// serve etcdctl put/get/txn, the metrics URL and the HTTP-only URL — and a real etcd 3.6 started with
// exactly the same command lines does too, which shows the values are valid for etcd. Refused flags exit
// 1 with "not supported yet". --force-new-cluster brings a stopped 3-member cluster's data dir up alone
// as a one-member cluster with the data. --auto-tls serves https with a certificate etcd-node made;
// --peer-auto-tls runs a 3-member cluster over https between members.
//
//   npm run build && node --import tsx --test test/compat/etcd-flags.test.ts
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FLAGS } from '../../etcd-node/src/cli/flag-table.js';
import { startCluster } from '../support/cluster.js';
import { etcdctl } from '../support/etcdctl.js';
import { etcdRelease, run } from '../support/etcd-tools.js';
import { makePki } from '../support/pki.js';
import { freePorts, repoRoot, skipUnless, startServer, tool, type RunningServer } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const etcd36 = etcdRelease('3.6').path('etcd');
const skip =
  skipUnless('etcdctl', 'openssl').skip ??
  (!existsSync(etcd36) && !inCI ? `skipped: ${etcd36} is missing (build it with \`bash scripts/build-tools.sh etcd\`)` : undefined);

/** The flags of `etcd --help` (etcd 3.6). */
async function helpFlags(): Promise<string[]> {
  if (!existsSync(etcd36)) throw new Error(`${etcd36} is missing (CI=true: build it with \`bash scripts/build-tools.sh etcd\`)`);
  const r = await run(etcd36, ['--help']);
  const text = r.stdout + r.stderr;
  const flags = [...text.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]!);
  assert.ok(flags.length > 100, `etcd --help listed only ${flags.length} flags:\n${text}`);
  return flags;
}

/** Flags the harness gives itself (startServer): not repeated here, or --initial-cluster would not match. */
const HARNESS = new Set(['name', 'data-dir', 'listen-client-urls', 'advertise-client-urls', 'listen-peer-urls', 'initial-advertise-peer-urls', 'initial-cluster']);
/** Given at all (even empty), etcd takes it for a second way to bootstrap besides the harness's
 *  --initial-cluster and refuses to start: checked in the refused-flags test instead. */
const NOT_WITH_INITIAL_CLUSTER = new Set(['discovery-endpoints']);

interface Ctx {
  pki: string;
  walDir: string;
  metricsPort: number;
  httpPort: number;
}

/**
 * One valid value per flag (a list: the flag is given that many times, the last value counting). Values of
 * flags etcd-node refuses are their defaults (accepted); every other value works on etcd 3.6 as well.
 */
function values(c: Ctx): Record<string, string[]> {
  const p = (f: string): string => join(c.pki, f);
  return {
    'wal-dir': [c.walDir],
    'snapshot-count': ['5', '10000'],
    'heartbeat-interval': ['100'],
    'election-timeout': ['1000'],
    'initial-election-tick-advance': ['false', 'true'],
    'listen-client-http-urls': [`http://127.0.0.1:${c.httpPort}`],
    'max-snapshots': ['5'],
    'max-wals': ['4'],
    'memory-mlock': ['false'],
    'quota-backend-bytes': ['1', '4294967296'],
    'backend-bbolt-freelist-type': ['array', 'map'],
    'backend-batch-interval': ['100ms'],
    'backend-batch-limit': ['1000'],
    // first too small for the txn below: the second (last) one counts
    'max-txn-ops': ['1', '128'],
    'max-request-bytes': ['10', '1572864'],
    'max-concurrent-streams': ['1000'],
    'grpc-keepalive-min-time': ['5s'],
    'grpc-keepalive-interval': ['2h'],
    'grpc-keepalive-timeout': ['20s'],
    'socket-reuse-port': ['false'],
    'socket-reuse-address': ['true'],
    'enable-grpc-gateway': ['true'],
    'raft-read-timeout': ['5s'],
    'raft-write-timeout': ['5s'],
    'feature-gates': ['InitialCorruptCheck=true', 'CompactHashCheck=true,TxnModeWriteWithSharedBuffer=true'],
    'initial-cluster-state': ['existing', 'new'],
    'initial-cluster-token': ['first-token', 'flags-test'],
    discovery: [''],
    'discovery-token': [''],
    'discovery-endpoints': [''],
    'discovery-dial-timeout': ['3s'],
    'discovery-request-timeout': ['6s'],
    'discovery-keepalive-time': ['3s'],
    'discovery-keepalive-timeout': ['7s'],
    'discovery-insecure-transport': ['true'],
    'discovery-insecure-skip-tls-verify': ['false'],
    'discovery-cert': [''],
    'discovery-key': [''],
    'discovery-cacert': [''],
    'discovery-user': [''],
    'discovery-password': [''],
    'discovery-fallback': ['exit'],
    'discovery-proxy': [''],
    'discovery-srv': [''],
    'discovery-srv-name': ['x'],
    'strict-reconfig-check': ['false', 'true'],
    'pre-vote': ['true'],
    'auto-compaction-retention': ['1h'],
    'auto-compaction-mode': ['revision', 'periodic'],
    'v2-deprecation': ['write-only'],
    'cert-file': [p('server.crt')],
    'key-file': [p('server.key')],
    'client-cert-auth': ['true'],
    'client-cert-file': [p('server.crt')],
    'client-key-file': [p('server.key')],
    'client-crl-file': [p('ca.crl')],
    'client-cert-allowed-hostname': ['localhost'],
    'trusted-ca-file': [p('ca.crt')],
    'auto-tls': ['false'],
    'peer-cert-file': [p('server.crt')],
    'peer-key-file': [p('server.key')],
    'peer-client-cert-auth': ['true'],
    'peer-client-cert-file': [p('server.crt')],
    'peer-client-key-file': [p('server.key')],
    'peer-trusted-ca-file': [p('ca.crt')],
    'peer-cert-allowed-cn': ['server'],
    'peer-cert-allowed-hostname': ['localhost'],
    'peer-auto-tls': ['false'],
    'self-signed-cert-validity': ['2'],
    'peer-crl-file': [p('ca.crl')],
    'cipher-suites': ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
    cors: ['*', 'http://example.com:8080'],
    'host-whitelist': ['*'],
    'tls-min-version': ['TLS1.2'],
    'tls-max-version': ['TLS1.3'],
    'auth-token': ['simple'],
    'bcrypt-cost': ['11'],
    'auth-token-ttl': ['300'],
    'enable-pprof': ['false'],
    metrics: ['extensive', 'basic'],
    'listen-metrics-urls': [`http://127.0.0.1:${c.metricsPort}`],
    logger: ['zap'],
    'log-outputs': ['stdout', 'stderr'],
    'log-level': ['debug', 'info'],
    'log-format': ['json'],
    'enable-log-rotation': ['false'],
    'log-rotation-config-json': ['{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}'],
    'warning-unary-request-duration': ['300ms'],
    'enable-distributed-tracing': ['false'],
    'distributed-tracing-address': ['localhost:4317'],
    'distributed-tracing-service-name': ['etcd'],
    'distributed-tracing-instance-id': ['i1'],
    'distributed-tracing-sampling-rate': ['0'],
    'corrupt-check-time': ['0s'],
    'compact-hash-check-time': ['1m'],
    'compaction-batch-limit': ['500'],
    'peer-skip-client-san-verification': ['true'],
    'watch-progress-notify-interval': ['5m'],
    'warning-apply-duration': ['100ms'],
    'bootstrap-defrag-threshold-megabytes': ['0'],
    'max-learners': ['1'],
    'compaction-sleep-interval': ['10ms'],
    'downgrade-check-time': ['5s'],
    'snapshot-catchup-entries': ['5000'],
    'force-new-cluster': ['false'],
    'unsafe-no-fsync': ['true'],
    // the deprecated names (a second server: etcd refuses a name and its deprecated name together)
    'experimental-initial-corrupt-check': ['true'],
    'experimental-compact-hash-check-enabled': ['true'],
    'experimental-enable-lease-checkpoint': ['false'],
    'experimental-enable-lease-checkpoint-persist': ['false'],
    'experimental-txn-mode-write-with-shared-buffer': ['true'],
    'experimental-stop-grpc-service-on-defrag': ['false'],
    'experimental-enable-distributed-tracing': ['false'],
    'experimental-distributed-tracing-address': ['localhost:4317'],
    'experimental-distributed-tracing-service-name': ['etcd'],
    'experimental-distributed-tracing-instance-id': ['i1'],
    'experimental-distributed-tracing-sampling-rate': ['0'],
    'experimental-corrupt-check-time': ['0s'],
    'experimental-compact-hash-check-time': ['1m'],
    'experimental-compaction-batch-limit': ['500'],
    'experimental-peer-skip-client-san-verification': ['true'],
    'experimental-watch-progress-notify-interval': ['5m'],
    'experimental-warning-apply-duration': ['100ms'],
    'experimental-bootstrap-defrag-threshold-megabytes': ['0'],
    'experimental-warning-unary-request-duration': ['300ms'],
    'experimental-compaction-sleep-interval': ['10ms'],
    'experimental-downgrade-check-time': ['5s'],
    'experimental-memory-mlock': ['false'],
    'experimental-snapshot-catchup-entries': ['5000'],
  };
}

/** Go's `--flag=value`, `--flag value` and `-flag=value` forms, in turn (bools only take `=`). */
function argsFor(flags: readonly string[], vals: Record<string, string[]>): string[] {
  const out: string[] = [];
  let n = 0;
  for (const f of flags) {
    const list = vals[f];
    assert.ok(list !== undefined, `no test value for --${f}`);
    for (const v of list) {
      const form = n++ % 3;
      if (form === 1 && FLAGS[f]?.kind !== 'bool' && v !== '') out.push(`--${f}`, v);
      else out.push(`${form === 2 ? '-' : '--'}${f}=${v}`);
    }
  }
  return out;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('etcd 3.6 flags on etcd-node', { skip }, () => {
  let flags: string[] = [];
  let pki = '';
  const dirs: string[] = [];
  const servers: RunningServer[] = [];

  before(async () => {
    flags = await helpFlags();
    pki = mkdtempSync(join(tmpdir(), 'etcd-ts-flags-pki-'));
    dirs.push(pki);
    makePki(pki, []);
    // an (empty) certificate revocation list from the CA
    writeFileSync(join(pki, 'index.txt'), '');
    writeFileSync(join(pki, 'crlnumber'), '01\n');
    writeFileSync(
      join(pki, 'ca.cnf'),
      `[ca]\ndefault_ca = d\n[d]\ndatabase = ${join(pki, 'index.txt')}\ncrlnumber = ${join(pki, 'crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 2\n`,
    );
    execFileSync(tool('openssl'), ['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-out', 'ca.crl.pem'], { cwd: pki, stdio: 'ignore' });
    // etcd 3.6 reads CRL files as DER
    execFileSync(tool('openssl'), ['crl', '-in', 'ca.crl.pem', '-outform', 'DER', '-out', 'ca.crl'], { cwd: pki, stdio: 'ignore' });
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('every flag of etcd 3.6 --help is one etcd-node knows (its table and its own --help)', async () => {
    const unknown = flags.filter((f) => FLAGS[f] === undefined);
    assert.deepEqual(unknown, [], `etcd-node does not know: ${unknown.join(', ')}`);
    const help = await run(process.execPath, [join(repoRoot, 'bin', 'etcd-node.js'), '--help']);
    const listed = new Set([...help.stdout.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]!));
    const missing = flags.filter((f) => !listed.has(f));
    assert.deepEqual(missing, [], `etcd-node --help does not list: ${missing.join(', ')}`);
  });

  /** Starts etcd-node and etcd 3.6 with the same flags (over client TLS) and checks that both serve. */
  async function serveWith(which: readonly string[]): Promise<void> {
    const tlsArgs = [`--cacert=${join(pki, 'ca.crt')}`, `--cert=${join(pki, 'server.crt')}`, `--key=${join(pki, 'server.key')}`];
    for (const kind of ['node', 'etcd'] as const) {
      const [metricsPort, httpPort] = await freePorts(2);
      const walDir = mkdtempSync(join(tmpdir(), `etcd-ts-flags-wal-${kind}-`));
      dirs.push(walDir);
      const args = argsFor(which, values({ pki, walDir, metricsPort: metricsPort!, httpPort: httpPort! }));
      const s = await startServer({
        kind,
        ...(kind === 'etcd' ? { etcdBinary: etcd36 } : {}),
        tls: { serverArgs: [], etcdctlArgs: tlsArgs },
        extraArgs: args,
        readyTimeoutMs: 30_000,
      });
      servers.push(s);
      const what = `${s.binary} with ${args.join(' ')}\n${s.logs().slice(-4000)}`;
      const put = await etcdctl(s.endpoint, [...tlsArgs, 'put', 'k', 'v']);
      assert.equal(put.code, 0, `put: ${put.stderr}; ${what}`);
      const got = await etcdctl(s.endpoint, [...tlsArgs, 'get', 'k', '--print-value-only']);
      assert.equal(got.stdout.trim(), 'v', `get: ${got.stderr}; ${what}`);
      // two operations: --max-txn-ops=1 came first, --max-txn-ops=128 last
      const txn = await etcdctl(s.endpoint, [...tlsArgs, 'txn'], { stdin: '\nput a 1\nput b 2\n\n\n' });
      assert.equal(txn.code, 0, `txn of 2 ops (last --max-txn-ops wins): ${txn.stderr}; ${what}`);
      const metrics = await httpGet(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(metrics.status, 200, what);
      assert.match(metrics.body, /etcd_server_has_leader 1/);
      const health = await httpGet(`http://127.0.0.1:${httpPort}/health`);
      assert.equal(health.status, 200, `--listen-client-http-urls /health: ${health.body}; ${what}`);
      // --wal-dir: the WAL is there, not in the data dir
      if (which.includes('wal-dir')) {
        assert.ok(readdirSync(walDir).some((f) => f.endsWith('.wal')), `${s.binary}: no WAL in --wal-dir ${walDir}`);
        assert.ok(!existsSync(join(s.dataDir, 'member', 'wal')), `${s.binary}: a WAL in the data dir despite --wal-dir`);
      }
      await s.stop();
    }
  }

  test('etcd-node serves with every 3.6 flag (the experimental names aside), like etcd 3.6 with the same command line', async () => {
    const names = flags.filter((f) => !HARNESS.has(f) && !NOT_WITH_INITIAL_CLUSTER.has(f) && FLAGS[f]?.replacedBy === undefined && FLAGS[f]?.gate === undefined);
    // --peer-cert-allowed-cn and --peer-cert-allowed-hostname exclude each other: the hostname one below
    await serveWith(names.filter((f) => f !== 'peer-cert-allowed-hostname'));
  });

  test("etcd-node serves with every deprecated experimental name of etcd 3.6's flags, like etcd 3.6", async () => {
    const names = flags.filter((f) => FLAGS[f]?.replacedBy !== undefined || FLAGS[f]?.gate !== undefined);
    const tls = ['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth', 'peer-cert-file', 'peer-key-file', 'peer-trusted-ca-file'];
    await serveWith([...names, ...tls, 'peer-cert-allowed-hostname', 'listen-metrics-urls', 'listen-client-http-urls']);
  });

  test('refused flags stop the start with "not supported yet" and exit code 1', async () => {
    const cases: string[][] = [
      ['--discovery-endpoints=http://127.0.0.1:1', '--discovery-token=t'],
      ['--discovery-srv=example.com'],
      ['--experimental-enable-lease-checkpoint'],
      ['--config-file=/nonexistent/etcd.yaml'],
    ];
    for (const args of cases) {
      const r = await run(process.execPath, [join(repoRoot, 'bin', 'etcd-node.js'), ...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /not supported yet/, args.join(' '));
      assert.match(r.stderr, new RegExp(args[0]!.replace(/=.*/, '')));
    }
  });
});

describe('--force-new-cluster on etcd-node', { skip: skipUnless('etcdctl').skip }, () => {
  test("a stopped 3-member cluster's data dir comes up alone as a one-member cluster with the data", async () => {
    const cluster = await startCluster(3);
    let alone: RunningServer | undefined;
    try {
      const ep = cluster.endpoints;
      for (let i = 0; i < 20; i++) assert.equal((await etcdctl(ep, ['put', `k${i}`, `v${i}`])).code, 0);
      const before = await etcdctl(cluster.members[0]!.endpoint, ['endpoint', 'status', '-w', 'json']);
      const clusterId = /"cluster_id":(\d+)/.exec(before.stdout)?.[1];
      for (const m of cluster.members) await m.kill('SIGTERM');

      const dataDir = cluster.members[0]!.dataDir;
      alone = await startServer({ kind: 'node', name: 'm1', dataDir, extraArgs: ['--force-new-cluster'] });
      const list = await etcdctl(alone.endpoint, ['member', 'list', '-w', 'json']);
      assert.equal(list.code, 0, list.stderr);
      const members = (JSON.parse(list.stdout) as { members: unknown[] }).members;
      assert.equal(members.length, 1, list.stdout);
      const got = await etcdctl(alone.endpoint, ['get', 'k', '--prefix', '--print-value-only']);
      assert.equal(got.stdout.trim().split('\n').length, 20, got.stdout);
      assert.equal((await etcdctl(alone.endpoint, ['put', 'after', 'x'])).code, 0);
      const status = await etcdctl(alone.endpoint, ['endpoint', 'status', '-w', 'json']);
      assert.equal(/"cluster_id":(\d+)/.exec(status.stdout)?.[1], clusterId, 'the cluster id stays');

      // a restart without the flag stays a one-member cluster with the data
      await alone.kill('SIGTERM');
      await alone.stop();
      alone = await startServer({ kind: 'node', name: 'm1', dataDir });
      const again = await etcdctl(alone.endpoint, ['get', 'after', '--print-value-only']);
      assert.equal(again.stdout.trim(), 'x');
      const list2 = await etcdctl(alone.endpoint, ['member', 'list', '-w', 'json']);
      assert.equal((JSON.parse(list2.stdout) as { members: unknown[] }).members.length, 1);
    } finally {
      await alone?.stop();
      await cluster.stop();
    }
  });
});

describe('--auto-tls and --peer-auto-tls on etcd-node', { skip: skipUnless('etcdctl').skip }, () => {
  test('--auto-tls: an https client URL with a certificate etcd-node made itself, reused on restart', async () => {
    const insecure = ['--insecure-transport=false', '--insecure-skip-tls-verify'];
    const s = await startServer({ kind: 'node', tls: { serverArgs: ['--auto-tls', '--self-signed-cert-validity=2'], etcdctlArgs: insecure } });
    try {
      assert.equal((await etcdctl(s.endpoint, [...insecure, 'put', 'k', 'v'])).code, 0);
      assert.equal((await etcdctl(s.endpoint, [...insecure, 'get', 'k', '--print-value-only'])).stdout.trim(), 'v');
      const certFile = join(s.dataDir, 'fixtures', 'client', 'cert.pem');
      const cert = new X509Certificate(readFileSync(certFile));
      assert.equal(cert.subject, 'O=etcd');
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      // a client that verifies against the certificate itself gets through too
      assert.equal((await etcdctl(s.endpoint, [`--cacert=${certFile}`, 'get', 'k', '--print-value-only'])).stdout.trim(), 'v');
      // plain HTTP is not served there
      assert.notEqual((await etcdctl(s.endpoint, ['get', 'k', '--dial-timeout=1s', '--command-timeout=2s'])).code, 0);
      const before = readFileSync(certFile, 'utf8');
      await s.kill('SIGTERM');
      await s.restart();
      assert.equal(readFileSync(certFile, 'utf8'), before, 'the certificate is reused');
      assert.equal((await etcdctl(s.endpoint, [...insecure, 'get', 'k', '--print-value-only'])).stdout.trim(), 'v');
    } finally {
      await s.stop();
    }
  });

  test('--peer-auto-tls: a 3-member cluster over https between members, each with its own certificate', async () => {
    const cluster = await startCluster(3, [], { peerAutoTls: true });
    try {
      assert.equal((await etcdctl(cluster.endpoints, ['put', 'k', 'v'])).code, 0);
      for (const m of cluster.members) {
        assert.equal((await etcdctl(m.endpoint, ['get', 'k', '--print-value-only'])).stdout.trim(), 'v');
        assert.ok(existsSync(join(m.dataDir, 'fixtures', 'peer', 'cert.pem')));
      }
      const list = await etcdctl(cluster.members[0]!.endpoint, ['member', 'list']);
      assert.equal(list.stdout.trim().split('\n').filter((l) => l.includes('https://')).length, 3, list.stdout);
    } finally {
      await cluster.stop();
    }
  });
});

describe('HTTP flags: etcd-node answers as etcd 3.6 does', { skip }, () => {
  /** status, CORS headers and (for 421) the body, for a request with these headers */
  async function ask(base: string, method: string, path: string, headers: Record<string, string>): Promise<string> {
    const u = new URL(path, base);
    return new Promise((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method, headers }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => {
          const cors = Object.entries(res.headers)
            .filter(([k]) => k.startsWith('access-control-'))
            .map(([k, v]) => `${k}: ${String(v)}`)
            .sort();
          resolve([String(res.statusCode), ...cors, ...(res.statusCode === 421 || res.statusCode === 404 ? [body] : [])].join('\n'));
        });
      });
      req.on('error', reject);
      req.end(method === 'POST' ? '{"key":"YQ=="}' : undefined);
    });
  }

  test('--host-whitelist, --cors and --enable-grpc-gateway=false', async () => {
    const args = ['--host-whitelist=localhost,127.0.0.1', '--cors=http://a.example:80', '--enable-grpc-gateway=false'];
    const answers: string[][] = [];
    for (const kind of ['node', 'etcd'] as const) {
      const s = await startServer({ kind, ...(kind === 'etcd' ? { etcdBinary: etcd36 } : {}), extraArgs: args });
      try {
        answers.push([
          await ask(s.clientUrl, 'GET', '/health', { Host: 'evil.example' }),
          await ask(s.clientUrl, 'GET', '/health', { Origin: 'http://a.example:80' }),
          await ask(s.clientUrl, 'GET', '/health', { Origin: 'http://b.example:80' }),
          await ask(s.clientUrl, 'POST', '/v3/kv/range', {}),
          await ask(s.clientUrl, 'GET', '/version', { Host: `localhost:${s.clientPort}` }),
        ]);
      } finally {
        await s.stop();
      }
    }
    assert.deepEqual(answers[0], answers[1]);
    assert.match(answers[0]![0]!, /^421\n/);
    assert.match(answers[0]![1]!, /access-control-allow-origin: http:\/\/a\.example:80/);
  });
});

describe('TLS flags: etcd-node lets in and turns away the clients etcd 3.6 does', { skip }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-ts-flags-tls-'));
    makePki(dir, ['alice', 'bob']);
    const openssl = tool('openssl');
    const sh = (args: string[]): void => void execFileSync(openssl, args, { cwd: dir, stdio: 'ignore' });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'crlnumber'), '01\n');
    writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${join(dir, 'index.txt')}\ncrlnumber = ${join(dir, 'crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 2\n`);
    sh(['ca', '-config', 'ca.cnf', '-revoke', 'alice.crt', '-keyfile', 'ca.key', '-cert', 'ca.crt']);
    sh(['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-out', 'revoked.pem']);
    sh(['crl', '-in', 'revoked.pem', '-outform', 'DER', '-out', 'revoked.crl']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Which of the clients (server.crt has SAN localhost/127.0.0.1; alice is revoked; bob has no SAN) get a put in. */
  async function admitted(kind: 'node' | 'etcd', extra: string[]): Promise<string[]> {
    const f = (n: string): string => join(dir, n);
    const base = [`--cacert=${f('ca.crt')}`];
    const s = await startServer({
      kind,
      ...(kind === 'etcd' ? { etcdBinary: etcd36 } : {}),
      tls: {
        serverArgs: [`--cert-file=${f('server.crt')}`, `--key-file=${f('server.key')}`, `--trusted-ca-file=${f('ca.crt')}`, '--client-cert-auth', ...extra],
        etcdctlArgs: [...base, `--cert=${f('server.crt')}`, `--key=${f('server.key')}`],
      },
    });
    try {
      const out: string[] = [];
      for (const who of ['server', 'alice', 'bob']) {
        const r = await etcdctl(s.endpoint, [...base, `--cert=${f(`${who}.crt`)}`, `--key=${f(`${who}.key`)}`, '--dial-timeout=2s', '--command-timeout=3s', 'put', `k-${who}`, 'v']);
        if (r.code === 0) out.push(who);
      }
      return out;
    } finally {
      await s.stop();
    }
  }

  for (const [what, extra, expected] of [
    ['--client-crl-file (alice revoked)', ['--client-crl-file=REVOKED'], ['server', 'bob']],
    ['--client-cert-allowed-hostname=localhost', ['--client-cert-allowed-hostname=localhost'], ['server']],
    ['--cipher-suites, --tls-min-version, --tls-max-version', ['--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', '--tls-min-version=TLS1.2', '--tls-max-version=TLS1.2'], ['server', 'alice', 'bob']],
  ] as const) {
    test(what, async () => {
      const args = extra.map((a) => a.replace('REVOKED', join(dir, 'revoked.crl')));
      const node = await admitted('node', args);
      const etcd = await admitted('etcd', args);
      assert.deepEqual(node, etcd, `etcd-node let in ${node.join(',')}, etcd ${etcd.join(',')}`);
      assert.deepEqual(node, [...expected]);
    });
  }
});

describe('peer TLS flags on etcd-node', { skip: skipUnless('etcdctl', 'openssl').skip }, () => {
  test('--peer-cert-allowed-cn, --peer-crl-file, --peer-client-cert-file/-key-file, --cipher-suites: a 3-member cluster forms over them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-flags-peer-'));
    try {
      makePki(dir, []);
      writeFileSync(join(dir, 'index.txt'), '');
      writeFileSync(join(dir, 'crlnumber'), '01\n');
      writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${join(dir, 'index.txt')}\ncrlnumber = ${join(dir, 'crlnumber')}\ndefault_md = sha256\ndefault_crl_days = 2\n`);
      execFileSync(tool('openssl'), ['ca', '-config', 'ca.cnf', '-gencrl', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-out', 'empty.pem'], { cwd: dir, stdio: 'ignore' });
      const extra = [
        '--peer-cert-allowed-cn=server',
        `--peer-crl-file=${join(dir, 'empty.pem')}`,
        `--peer-client-cert-file=${join(dir, 'server.crt')}`,
        `--peer-client-key-file=${join(dir, 'server.key')}`,
        '--cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        '--tls-max-version=TLS1.2',
      ];
      const cluster = await startCluster(3, extra, { peerTlsDir: dir });
      try {
        assert.equal((await etcdctl(cluster.endpoints, ['put', 'k', 'v'])).code, 0);
        for (const m of cluster.members) assert.equal((await etcdctl(m.endpoint, ['get', 'k', '--print-value-only'])).stdout.trim(), 'v');
      } finally {
        await cluster.stop();
      }
      // a CN that the members' certificate does not have: the members turn each other away, no leader
      await assert.rejects(startCluster(3, ['--peer-cert-allowed-cn=someone-else'], { peerTlsDir: dir }), /not healthy/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
