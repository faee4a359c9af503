// `npm run bench`: the same load against etcd-node and (when installed) Debian's etcd, interleaved in one
// run, on this machine; prints a table with the ratio etcd-node / etcd. It measures; it never fails on a
// figure. Options: BENCH_TOTAL (requests per case, default 20000), BENCH_MEMBERS (1 or 3, default 1: with
// 3, each server runs as a 3-member cluster on loopback and the load goes to the first member).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';

const TOTAL = Number(process.env.BENCH_TOTAL ?? 20000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

interface Target {
  name: string;
  endpoint: string;
  /** the member the load goes to (its RSS is reported) */
  child: ChildProcess;
  children: ChildProcess[];
  dir: string;
}

async function start(name: string, file: string, prefix: string[]): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const ports: Array<[number, number]> = [];
  for (let i = 0; i < MEMBERS; i++) ports.push([await freePort(), await freePort()]);
  const cluster = ports.map(([, p], i) => `b${i + 1}=http://127.0.0.1:${p}`).join(',');
  const children = ports.map(([c, p], i) =>
    spawn(file, [
      ...prefix, '--name', `b${i + 1}`, '--data-dir', join(dir, `data${i + 1}`),
      '--listen-client-urls', `http://127.0.0.1:${c}`, '--advertise-client-urls', `http://127.0.0.1:${c}`,
      '--listen-peer-urls', `http://127.0.0.1:${p}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p}`,
      '--initial-cluster', cluster, '--log-level', 'error',
    ], { stdio: 'ignore' }),
  );
  const child = children[0]!;
  const endpoint = `127.0.0.1:${ports[0]![0]}`;
  for (let i = 0; i < 100; i++) {
    const r = await runLoad({ endpoint, op: 'put', clients: 1, conns: 1, total: 1, valueSize: 8 }).catch(() => undefined);
    if (r && r.errors === 0) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  return { name, endpoint, child, children, dir };
}

function rssOf(pid: number | undefined): string {
  if (pid === undefined) return '?';
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' }))?.[1]);
    return `${Math.round(kb / 1024)} MiB`;
  } catch {
    return '?';
  }
}

async function main(): Promise<void> {
  const targets: Target[] = [];
  const nodeMain = join('dist', 'etcd-node', 'src', 'cli', 'main.js');
  if (!existsSync(nodeMain)) throw new Error('run `npm run build` first');
  targets.push(await start('etcd-node', process.execPath, ['bin/etcd-node.js']));
  const etcd = which('etcd');
  if (etcd) targets.push(await start('etcd', etcd, []));
  else console.log("etcd not installed: only etcd-node is measured (apt-get install etcd-server for the comparison)");

  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${MEMBERS} member(s) per server`);
  const cases: Array<Omit<LoadSpec, 'endpoint'>> = [
    { op: 'put', clients: 1, conns: 1, total: Math.min(TOTAL, 2000), valueSize: 256 },
    { op: 'put', clients: 64, conns: 8, total: TOTAL, valueSize: 256 },
    { op: 'range-linearizable', clients: 64, conns: 8, total: TOTAL, valueSize: 256 },
    { op: 'range-serializable', clients: 64, conns: 8, total: TOTAL, valueSize: 256 },
  ];
  const rows: string[] = ['| case | server | ops/s | p50 ms | p99 ms | p99.9 ms | errors | RSS after | node/etcd |', '|---|---|---|---|---|---|---|---|---|'];
  try {
    for (const cs of cases) {
      const results = new Map<string, LoadResult>();
      // interleave: each target runs the same case back to back
      for (const t of targets) results.set(t.name, await runLoad({ ...cs, endpoint: t.endpoint }));
      const base = results.get('etcd');
      for (const t of targets) {
        const r = results.get(t.name)!;
        const ratio = base && t.name === 'etcd-node' ? (r.opsPerSec / base.opsPerSec).toFixed(2) : '';
        rows.push(`| ${cs.op} ${cs.clients} clients/${cs.conns} conns, ${cs.total} reqs | ${t.name} | ${r.opsPerSec.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.p999.toFixed(2)} | ${r.errors} | ${rssOf(t.child.pid)} | ${ratio} |`);
      }
      console.log(rows.at(-1));
    }
  } finally {
    for (const t of targets) {
      for (const c of t.children) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
  console.log(`\n${rows.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
