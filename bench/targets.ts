// The servers a benchmark compares: etcd-node (this repository, built to dist/) and every real etcd
// found (Debian's on PATH, 3.5 and 3.6 under .tools/). Each runs as 1 or 3 members on loopback, with
// data dirs under one temporary directory. Every process started here is killed and every directory
// removed when the benchmark ends, also on an error or Ctrl-C.
import { Metadata } from '@grpc/grpc-js';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusResponse } from '../etcd-node/src/gen/etcdserverpb/rpc.js';
import { closeAll, connect, type Connection } from './connections.js';
import { toolVersions } from '../test/k8s/tools.js';
import { etcdNodeMain, findTool, freePorts, repoRoot } from '../test/support/servers.js';

export interface TargetSpec {
  /** what BENCH_TARGETS names it by: `etcd-node`, `etcd-3.4`, `etcd-3.5`, … */
  readonly id: string;
  /** what the table shows: `etcd-node`, `etcd 3.4.23` */
  readonly label: string;
  readonly real: boolean;
  readonly file: string;
  readonly prefix: readonly string[];
  /** the binary's path, for the record */
  readonly path: string;
}

function etcdVersion(file: string): string | undefined {
  try {
    return /etcd Version:\s*(\S+)/.exec(execFileSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 }))?.[1];
  } catch {
    return undefined;
  }
}

/** etcd-node (when built) and each real etcd found, one per minor version (the first found wins). */
export function discoverTargets(): TargetSpec[] {
  const found: TargetSpec[] = [];
  if (existsSync(etcdNodeMain)) {
    const bin = join(repoRoot, 'bin', 'etcd-node.js');
    found.push({ id: 'etcd-node', label: 'etcd-node', real: false, file: process.execPath, prefix: [bin], path: bin });
  }
  // Debian's on PATH, then the versions scripts/build-tools.sh builds (scripts/tools-versions.env)
  const built = (toolVersions()['ETCD_VERSIONS'] ?? '').split(/\s+/).filter((v) => v !== '');
  const candidates = [findTool('etcd'), ...built.map((v) => join(repoRoot, '.tools', `etcd-${v}`, 'etcd'))];
  for (const file of candidates) {
    if (file === undefined || !existsSync(file)) continue;
    const version = etcdVersion(file);
    if (version === undefined) continue;
    const id = `etcd-${version.split('.').slice(0, 2).join('.')}`;
    if (!found.some((t) => t.id === id)) found.push({ id, label: `etcd ${version}`, real: true, file, prefix: [], path: file });
  }
  return found;
}

/** BENCH_TARGETS (comma list of ids) or, by default, every target found. */
export function selectTargets(all: readonly TargetSpec[], wanted: string | undefined): TargetSpec[] {
  const ids = (wanted ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0) return [...all];
  const unknown = ids.filter((id) => !all.some((t) => t.id === id));
  if (unknown.length > 0) throw new Error(`BENCH_TARGETS: ${unknown.join(', ')} not found (found: ${all.map((t) => t.id).join(', ')})`);
  return all.filter((t) => ids.includes(t.id));
}

export interface RunningTarget {
  readonly spec: TargetSpec;
  readonly members: number;
  /** client endpoints, the leader's first (a single connection then reaches the leader) */
  readonly endpoints: readonly string[];
  /** every member's pid (CPU and RSS are summed over them) */
  readonly pids: readonly number[];
  /** whether every member is still running */
  alive(): boolean;
  stop(): Promise<void>;
}

// Everything started, for the emergency cleanup on exit or a signal.
const children = new Set<ChildProcess>();
const dirs = new Set<string>();

function killAllNow(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

let cleanupInstalled = false;
/** Kill our servers and remove their data on exit, Ctrl-C or SIGTERM (only the processes we started). */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.once('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping the servers`);
      killAllNow();
      process.exit(130);
    });
  }
}

/** A temporary directory for the data dirs of one run, removed with the servers. */
export function makeRunDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
  dirs.add(dir);
  return dir;
}

export function removeRunDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function status(c: Connection): Promise<StatusResponse | undefined> {
  return new Promise((res) => c.maintenance.status({}, new Metadata(), { deadline: Date.now() + 2000 }, (err, r) => res(err ? undefined : r)));
}

function waitExit(c: ChildProcess, ms: number): Promise<boolean> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => res(false), ms);
    c.once('exit', () => {
      clearTimeout(timer);
      res(true);
    });
  });
}

/** Start `members` members of one server and wait until they have a leader and accept a put. */
export async function startTarget(spec: TargetSpec, members: number, runDir: string, extraArgs: readonly string[] = []): Promise<RunningTarget> {
  const dir = join(runDir, `${spec.id}-${members}m`);
  mkdirSync(dir, { mode: 0o700 });
  const ports = await freePorts(2 * members);
  const clientPort = (i: number): number => ports[2 * i]!;
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]!}`;
  const cluster = Array.from({ length: members }, (_, i) => `b${i + 1}=${peerUrl(i)}`).join(',');
  let output = '';
  const procs = Array.from({ length: members }, (_, i) => {
    const child = spawn(spec.file, [
      ...spec.prefix, '--name', `b${i + 1}`, '--data-dir', join(dir, `b${i + 1}`),
      '--listen-client-urls', `http://127.0.0.1:${clientPort(i)}`, '--advertise-client-urls', `http://127.0.0.1:${clientPort(i)}`,
      '--listen-peer-urls', peerUrl(i), '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', cluster, '--log-level', 'error', ...extraArgs,
    ], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    // keep the last few KiB of error output, to explain a server that dies
    child.stderr?.on('data', (b: Buffer) => {
      output = (output + b.toString()).slice(-8192);
    });
    return child;
  });
  const endpointsInOrder = Array.from({ length: members }, (_, i) => `127.0.0.1:${clientPort(i)}`);
  const stop = async (): Promise<void> => {
    for (const c of procs) c.kill('SIGTERM');
    for (const c of procs) {
      if (!(await waitExit(c, 5000))) c.kill('SIGKILL');
      await waitExit(c, 5000);
      children.delete(c);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const conns = endpointsInOrder.map(connect);
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const dead = procs.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead) throw new Error(`${spec.label} member exited during startup: ${output.trim() || '(no output)'}`);
      const st = await Promise.all(conns.map(status));
      const leader = st[0]?.leader ?? 0n;
      if (leader !== 0n && st.every((s) => s !== undefined && s.leader === leader)) {
        const li = st.findIndex((s) => s?.header?.memberId === leader);
        const put = await new Promise<boolean>((res) =>
          conns[Math.max(0, li)]!.kv.put(
            { key: Buffer.from('bench-ready'), value: Buffer.from('1'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
            (err) => res(err === null),
          ),
        );
        if (put) {
          const endpoints = li > 0 ? [endpointsInOrder[li]!, ...endpointsInOrder.filter((_, i) => i !== li)] : endpointsInOrder;
          const alive = (): boolean => procs.every((c) => c.exitCode === null && c.signalCode === null);
          return { spec, members, endpoints, pids: procs.map((c) => c.pid ?? -1), alive, stop };
        }
      }
      if (Date.now() > deadline) throw new Error(`${spec.label}: no leader after 60 s: ${output.trim()}`);
      await sleep(200);
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    closeAll(conns);
  }
}

/** `etcd-node` with its package version and commit, for the record. */
export function etcdNodeVersion(): string {
  let version = '?';
  try {
    version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    // unreadable: keep "?"
  }
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'etcd-node/src'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return `${version} (commit ${head}${dirty ? ', etcd-node/src modified' : ''})`;
  } catch {
    return version;
  }
}
