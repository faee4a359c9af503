// `npm start`: a local etcd-node cluster, no Kubernetes needed. Runs the members as child processes of
// this script with their data under .etcd-ts-local/, prefixes every log line with the member's name, and
// stops them all on Ctrl-C. Three members replicating through Raft: clients on 127.0.0.1:2379, :22379,
// :32379; peers on :2380, :22380, :32380. A restart reuses the data (the flags only matter the first time).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const base = path.resolve(process.env.ETCD_TS_LOCAL_DIR ?? '.etcd-ts-local');
const members = [
  { name: 'm1', client: 2379, peer: 2380 },
  { name: 'm2', client: 22379, peer: 22380 },
  { name: 'm3', client: 32379, peer: 32380 },
];
const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
mkdirSync(base, { recursive: true });
console.log(`etcd-ts local cluster: data under ${base}`);
console.log(`try: etcdctl --endpoints=${members.map((m) => `127.0.0.1:${m.client}`).join(',')} endpoint health`);

const children = members.map((m) => {
  const child = spawn(
    process.execPath,
    [
      'bin/etcd-node.js',
      `--name=${m.name}`,
      `--data-dir=${path.join(base, m.name)}`,
      `--listen-client-urls=http://127.0.0.1:${m.client}`,
      `--advertise-client-urls=http://127.0.0.1:${m.client}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peer}`,
      `--initial-cluster=${initialCluster}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${m.name}] ${line}\n`));
  }
  child.on('exit', (code, signal) => {
    console.log(`[${m.name}] exited (${signal ?? code})`);
    if (!stopping) stopAll(1);
  });
  return child;
});

let stopping = false;
function stopAll(code) {
  stopping = true;
  let left = children.filter((c) => c.exitCode === null && c.signalCode === null).length;
  if (left === 0) process.exit(code);
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.once('exit', () => {
      if (--left === 0) process.exit(code);
    });
    c.kill('SIGTERM');
  }
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
