// `npm run bench`: the same load against etcd-node and (when installed) Debian's etcd, interleaved in one
// run, on this machine; prints a table with the ratio etcd-node / etcd. It measures; it never fails on a
// figure. Options: BENCH_TOTAL (requests per case, default 20000).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';

const TOTAL = Number(process.env.BENCH_TOTAL ?? 20000);

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
  child: ChildProcess;
  dir: string;
}

async function start(name: string, file: string, prefix: string[]): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const [c, p] = [await freePort(), await freePort()];
  const child = spawn(file, [
    ...prefix, '--name', 'b1', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', `http://127.0.0.1:${c}`, '--advertise-client-urls', `http://127.0.0.1:${c}`,
    '--listen-peer-urls', `http://127.0.0.1:${p}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${p}`,
    '--initial-cluster', `b1=http://127.0.0.1:${p}`, '--log-level', 'error',
  ], { stdio: 'ignore' });
  const endpoint = `127.0.0.1:${c}`;
  for (let i = 0; i < 100; i++) {
    const r = await runLoad({ endpoint, op: 'put', clients: 1, conns: 1, total: 1, valueSize: 8 }).catch(() => undefined);
    if (r && r.errors === 0) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  return { name, endpoint, child, dir };
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

  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
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
      t.child.kill('SIGTERM');
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
  console.log(`\n${rows.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
