// Start and stop single-member servers for the suites under test/: etcd-node (this project, built to
// dist/ by `npm run build`) and Debian's real etcd 3.4 (`/usr/bin/etcd`), both with exactly the same
// flags. Each server gets its own free ports on 127.0.0.1 and (unless given one) its own data dir under
// os.tmpdir(). A server is ready when `etcdctl endpoint health` succeeds against it.
//
// COMPAT_SELF_CHECK=1 makes every "etcd-node" started through `startServer({ kind: 'node' })` a second
// real etcd instead: the suites must then pass, which proves that the harness and its normalization do
// not hide real differences.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is test/support/servers.ts). */
export const repoRoot: string = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/** The compiled entry point that bin/etcd-node.js imports. */
export const etcdNodeMain: string = join(repoRoot, 'dist', 'etcd-node', 'src', 'cli', 'main.js');

/** The message a suite is skipped with when Debian's etcd is not installed (outside CI). */
export const MISSING_ETCD_MESSAGE =
  "skipped: Debian's etcd-server/etcd-client not installed (apt-get install etcd-server etcd-client)";

/** True when COMPAT_SELF_CHECK=1: the "node" side is a second real etcd. */
export const selfCheck: boolean = process.env['COMPAT_SELF_CHECK'] === '1';

/** Whether CI mode is on: a missing tool is then a failure, not a skip. */
const inCI = (): boolean => process.env['CI'] === 'true';

const toolDirs = ['/usr/bin', '/usr/local/bin'];

/** Absolute path of an executable found on PATH (or in /usr/bin), or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== ''), ...toolDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not there: try the next directory
    }
  }
  return undefined;
}

/**
 * The path of a required external tool (`etcd`, `etcdctl`). Throws when it is missing: call it from a
 * hook or a test, so the test fails. Suites decide up front whether to run at all with `skipUnless`.
 */
export function tool(name: string): string {
  const path = findTool(name);
  if (path === undefined) {
    throw new Error(
      `${name} not found on PATH` +
        (inCI() ? ' (CI=true: CI must install etcd-server and etcd-client)' : '') +
        `; ${MISSING_ETCD_MESSAGE.replace(/^skipped: /, '')}`,
    );
  }
  return path;
}

/**
 * Options for `describe`/`it` that skip a suite when one of the tools is missing, except under CI
 * (CI=true), where the suite runs and fails in its `before` hook through `tool()`.
 */
export function skipUnless(...names: string[]): { skip?: string } {
  const missing = names.filter((n) => findTool(n) === undefined);
  if (missing.length === 0 || inCI()) return {};
  return { skip: MISSING_ETCD_MESSAGE };
}

/** A few free ports on 127.0.0.1, all held open together so they are distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((res, rej) => {
          const s = createServer();
          s.once('error', rej);
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((res) => s.close(() => res()))));
  return ports;
}

export type ServerKind = 'node' | 'etcd';

export interface ServerOptions {
  /** 'node' = etcd-node (or a real etcd under COMPAT_SELF_CHECK=1), 'etcd' = Debian's etcd. */
  kind: ServerKind;
  /** Member name, default 'n1'. */
  name?: string;
  /** Data dir; default a fresh one under os.tmpdir(), removed by stop(). */
  dataDir?: string;
  /** Extra flags after the common ones. */
  extraArgs?: string[];
  /** Readiness timeout, default 20 s. */
  readyTimeoutMs?: number;
  /**
   * Serve clients over TLS: the client URLs become https:// and the server gets these flags (cert,
   * key, CA, --client-cert-auth); `etcdctlArgs` are what etcdctl needs to reach it (the readiness
   * probe uses them too: --cacert, and --cert/--key when client certificates are required).
   */
  tls?: { serverArgs: string[]; etcdctlArgs: string[] };
  /** A member of a cluster: its own loopback address, chosen ports, and the whole --initial-cluster. */
  member?: {
    host: string;
    clientPort: number;
    peerPort: number;
    /** the --initial-cluster value (name=peerURL,…) */
    initialCluster: string;
    /** the peer URL the others reach this member at (a proxy's), default its own */
    advertisePeerUrl?: string;
    /** https with peer TLS (the flags come in extraArgs) */
    peerScheme?: 'http' | 'https';
  };
  /** How readiness is probed: `endpoint health` (default; needs a leader and a linearizable read) or
   *  `endpoint status` (answers on a learner too). */
  readyProbe?: 'health' | 'status';
  /** For kind 'etcd': another etcd executable than Debian's (e.g. one scripts/build-tools.sh built). */
  etcdBinary?: string;
  /** Environment variables added to the server's (e.g. TMPDIR, to see the scratch files it leaves). */
  env?: Readonly<Record<string, string>>;
}

export interface RunningServer {
  /** What was asked for. */
  readonly kind: ServerKind;
  /** What actually runs: 'etcd-node' or 'etcd'. */
  readonly binary: 'etcd-node' | 'etcd';
  readonly name: string;
  /** `127.0.0.1:<port>`, the form etcdctl --endpoints takes. */
  readonly endpoint: string;
  /** `http://127.0.0.1:<port>` */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** pid of the current process (changes on restart). */
  pid(): number;
  /** Whether the current process is still running. */
  running(): boolean;
  /** stdout+stderr of every process started so far (restarts are separated by a marker line). */
  logs(): string;
  /** Send a signal and wait for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Start again on the same data dir and ports (after kill), wait until healthy. */
  restart(): Promise<void>;
  /** SIGTERM (then SIGKILL after 5 s), wait for exit, remove the data dir if we created it. */
  stop(): Promise<void>;
}

const LOG_LIMIT = 4 * 1024 * 1024;

// Every server process still running, so that none outlives the test process even when a suite
// forgets its `after` hook or the runner exits on an uncaught error.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

function commandFor(kind: ServerKind, etcdBinary?: string): { binary: 'etcd-node' | 'etcd'; file: string; prefix: string[] } {
  if (kind === 'etcd' && etcdBinary !== undefined) return { binary: 'etcd', file: etcdBinary, prefix: [] };
  if (kind === 'etcd' || selfCheck) return { binary: 'etcd', file: tool('etcd'), prefix: [] };
  if (!existsSync(etcdNodeMain)) {
    throw new Error(`etcd-node is not built (${etcdNodeMain} is missing): run \`npm run build\` first`);
  }
  return { binary: 'etcd-node', file: process.execPath, prefix: [join(repoRoot, 'bin', 'etcd-node.js')] };
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** One `etcdctl endpoint health` (asynchronous: the event loop keeps draining the servers' output). */
function probeHealth(etcdctl: string, endpoint: string, extra: readonly string[], what: 'health' | 'status' = 'health'): Promise<{ ok: boolean; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  env['ETCDCTL_API'] = '3';
  return new Promise((res) => {
    const c = spawn(etcdctl, [`--endpoints=${endpoint}`, ...extra, '--dial-timeout=1s', '--command-timeout=2s', 'endpoint', what], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
    c.once('error', (err) => {
      clearTimeout(timer);
      res({ ok: false, stderr: err.message });
    });
    c.once('close', (code) => {
      clearTimeout(timer);
      res({ ok: code === 0, stderr });
    });
  });
}

/** Start one single-member server and wait until `etcdctl endpoint health` succeeds. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const cmd = commandFor(opts.kind, opts.etcdBinary);
  const etcdctl = tool('etcdctl');
  const name = opts.name ?? 'n1';
  const ownDataDir = opts.dataDir === undefined;
  // mkdtemp's directory itself (mode 0700, as etcd wants): removing dataDir leaves nothing behind
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `etcd-ts-${cmd.binary}-`));
  const [clientPort, peerPort] = opts.member ? [opts.member.clientPort, opts.member.peerPort] : await freePorts(2);
  if (clientPort === undefined || peerPort === undefined) throw new Error('no free ports');
  const host = opts.member?.host ?? '127.0.0.1';
  const clientUrl = `${opts.tls ? 'https' : 'http'}://${host}:${clientPort}`;
  const peerUrl = `${opts.member?.peerScheme ?? 'http'}://${host}:${peerPort}`;
  const endpoint = `${host}:${clientPort}`;
  const args = [
    ...cmd.prefix,
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', opts.member?.advertisePeerUrl ?? peerUrl,
    '--initial-cluster', opts.member?.initialCluster ?? `${name}=${peerUrl}`,
    ...(opts.tls?.serverArgs ?? []),
    ...(opts.extraArgs ?? []),
  ];
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;

  let log = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let exitInfo: string | undefined;
  let starts = 0;

  const append = (chunk: Buffer | string): void => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT);
  };

  const spawnOnce = (): void => {
    starts += 1;
    if (starts > 1) append(`\n----- restart #${starts - 1} -----\n`);
    exitInfo = undefined;
    const c = spawn(cmd.file, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    child = c;
    live.add(c);
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    exited = new Promise<void>((res) => {
      c.once('exit', (code, signal) => {
        live.delete(c);
        exitInfo = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
        res();
      });
      c.once('error', (err) => {
        live.delete(c);
        exitInfo = `spawn error: ${err.message}`;
        res();
      });
    });
  };

  const isRunning = (): boolean => child !== undefined && exitInfo === undefined;

  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (!isRunning()) {
        throw new Error(`${cmd.binary} exited before becoming healthy (${exitInfo ?? '?'}); its output:\n${log}`);
      }
      const r = await probeHealth(etcdctl, endpoint, opts.tls?.etcdctlArgs ?? [], opts.readyProbe);
      if (r.ok) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${cmd.binary} on ${endpoint} not healthy after ${readyTimeoutMs} ms ` +
            `(last etcdctl: ${r.stderr.trim()}); its output:\n${log}`,
        );
      }
      await sleep(100);
    }
  };

  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (isRunning() && child?.pid !== undefined) {
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    }
    await exited;
  };

  const stopProcess = async (): Promise<void> => {
    if (!isRunning()) return;
    const timer = setTimeout(() => {
      if (isRunning() && child?.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, 5_000);
    try {
      await kill('SIGTERM');
    } finally {
      clearTimeout(timer);
    }
  };

  const start = async (): Promise<void> => {
    spawnOnce();
    try {
      await waitReady();
    } catch (err) {
      await stopProcess();
      throw err;
    }
  };

  const server: RunningServer = {
    kind: opts.kind,
    binary: cmd.binary,
    name,
    endpoint,
    clientUrl,
    peerUrl,
    clientPort,
    peerPort,
    dataDir,
    pid: () => child?.pid ?? -1,
    running: isRunning,
    logs: () => log,
    kill,
    restart: async () => {
      if (isRunning()) throw new Error('restart() while the server is still running: kill() it first');
      await start();
    },
    stop: async () => {
      await stopProcess();
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };

  try {
    await start();
  } catch (err) {
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return server;
}
