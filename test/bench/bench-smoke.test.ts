// `npm run bench`, `npm run bench:memory` and `npm run bench:grpc-layer` as a user runs them, at a tiny
// size: they start etcd-node and Debian's etcd side by side, print a table with a row per case and
// server, and leave no process or data directory behind. (Figures are not judged: the benchmark measures, it never fails on one.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { repoRoot, skipUnless } from '../support/servers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(script: string, env: Record<string, string>, args: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env, BENCH_RECORD: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Table rows (`| case | client | server | …`) as arrays of trimmed cells. */
function rows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| case') && !l.startsWith('| server'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

const benchDirs = (): string[] => readdirSync(tmpdir()).filter((d) => d.startsWith('etcd-bench-'));

test('npm run bench: a row per case for etcd-node and etcd 3.4, no errors, nothing left behind', skipUnless('etcd'), async () => {
  const before = new Set(benchDirs());
  const r = await runScript('bench/run.ts', {
    BENCH_TARGETS: 'etcd-node,etcd-3.4', BENCH_MEMBERS: '1', BENCH_TOTAL: '200', BENCH_WARMUP: '100', BENCH_ETCD_TOOL: '0',
  });
  assert.equal(r.code, 0, r.stdout);
  const table = rows(r.stdout);
  const cases = ['put 1 client', 'put 64 clients', 'put 1000 clients', 'range-linearizable 64', 'range-serializable 1000', 'txn-put', 'watch', 'lease-keepalive'];
  for (const c of cases) {
    for (const server of ['etcd-node', 'etcd 3.4']) {
      const row = table.find((cells) => cells[0]!.startsWith(c) && cells[2]!.startsWith(server));
      assert.ok(row, `a row for ${c} on ${server}:\n${r.stdout}`);
      assert.ok(Number(row[4]) > 0, `ops/s of ${c} on ${server} is a positive number: ${row[4]}`);
      assert.equal(row[8], '0', `no errors for ${c} on ${server}`);
    }
  }
  // etcd-node's rows carry its ratio to etcd 3.4
  assert.match(table.find((cells) => cells[0]!.startsWith('put 64') && cells[2] === 'etcd-node')!.join('|'), /\d\.\d\d×/);
  assert.deepEqual(benchDirs().filter((d) => !before.has(d)), [], 'the run removed its data directories');
});

test('npm run bench:memory: RSS with keys and watchers for both servers', skipUnless('etcd'), async () => {
  const r = await runScript('bench/memory.ts', {
    BENCH_TARGETS: 'etcd-node,etcd-3.4', BENCH_MEMORY_KEYS: '2000', BENCH_MEMORY_WATCHERS: '1000',
  });
  assert.equal(r.code, 0, r.stdout);
  const table = rows(r.stdout);
  for (const server of ['etcd-node', 'etcd 3.4']) {
    const row = table.find((cells) => cells[0]!.startsWith(server));
    assert.ok(row, `a row for ${server}:\n${r.stdout}`);
    assert.match(row[4]!, /^\d+ MiB$/, `RSS with the keys for ${server}`);
    assert.equal(row[3], '0', `no errors loading keys on ${server}`);
  }
});

test('npm run bench:grpc-layer: CPU per call for bare node:http2, grpc-js, etcd-node and etcd 3.4', skipUnless('etcd'), async () => {
  const r = await runScript('bench/grpc-layer.ts', { BENCH_TOTAL: '300', BENCH_WARMUP: '100', BENCH_ETCD_TOOL: '0' });
  assert.equal(r.code, 0, r.stderr);
  const table = rows(r.stdout);
  for (const server of ['bare node:http2', 'grpc-js', 'etcd-node', 'etcd 3.4']) {
    const row = table.find((cells) => cells[0]!.startsWith(server));
    assert.ok(row, `a row for ${server}:\n${r.stdout}`);
    assert.match(row[2]!, /^\d+\.\d µs$/, `CPU per call for ${server}`);
    assert.ok(Number.parseFloat(row[2]!) > 0, `${server} used CPU`);
    assert.equal(row[3], '0', `no errors on ${server}`);
  }
});

test('npm run bench:backup: snapshot cost and RPO rows for both servers, the agent writing to its store', skipUnless('etcd'), async () => {
  const before = new Set(benchDirs());
  const r = await runScript('bench/backup.ts', {
    BENCH_TARGETS: 'etcd-node,etcd-3.4', BENCH_BACKUP_PRELOAD_MB: '1', BENCH_BACKUP_PHASE_SECONDS: '2', BENCH_BACKUP_RPO_SECONDS: '4',
    BENCH_BACKUP_DELTA_PERIOD: '1s', BENCH_BACKUP_RATE: '50',
  });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const table = rows(r.stdout);
  for (const server of ['etcd-node', 'etcd 3.4']) {
    const [cost, rpo] = table.filter((cells) => cells[0]!.startsWith(server));
    assert.ok(cost && rpo, `a cost and an RPO row for ${server}:\n${r.stdout}`);
    assert.match(cost[5]!, /^[1-9]\d* × \d+\.\d MiB, \d+\.\d\d s each$/, `snapshots were taken on ${server}: ${cost.join(' | ')}`);
    assert.ok(Number(cost[2]) > 0 && Number(cost[4]) > 0, `puts went through on ${server}`);
    assert.equal(rpo[1], '1s');
    assert.ok(Number(rpo[3]) > 0, `RPO samples on ${server}: ${rpo.join(' | ')}`);
    assert.ok(Number.isFinite(Number(rpo[6])), `a maximum RPO on ${server}`);
  }
  assert.deepEqual(benchDirs().filter((d) => !before.has(d)), [], 'the run removed its data directories');
});

test('a bad setting stops the benchmark before it starts, naming the variable', async () => {
  for (const [script, env, name] of [
    ['bench/run.ts', { BENCH_TOTAL: 'many' }, 'BENCH_TOTAL'],
    ['bench/run.ts', { BENCH_MEMBERS: '2x' }, 'BENCH_MEMBERS'],
    ['bench/memory.ts', { BENCH_MEMORY_KEYS: '0' }, 'BENCH_MEMORY_KEYS'],
    ['bench/backup.ts', { BENCH_BACKUP_RATE: 'fast' }, 'BENCH_BACKUP_RATE'],
  ] as const) {
    const r = await runScript(script, env);
    assert.notEqual(r.code, 0, `${name} refused`);
    assert.match(r.stderr, new RegExp(name), `the message names ${name}`);
    assert.equal(rows(r.stdout).length, 0, 'nothing measured');
  }
});
