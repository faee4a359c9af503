// When a member says it is ready (compat #21, defect 6), side by side with a real etcd 3.6: a member of
// a 3-member cluster started alone has no leader, so it must not log `ready to serve client requests`
// nor answer its client port (etcd serves clients only once it has a leader and has published itself);
// once a second member starts, the line comes, and at that moment the member names a leader (tools
// such as `etcdctl move-leader` act on it right away).
//
//   npm run build && node --import tsx --test test/compat/readiness.test.ts
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { MaintenanceClient, type StatusResponse } from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import { etcdRelease } from '../support/etcd-tools.js';
import { freePorts, repoRoot, selfCheck } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const etcd36 = etcdRelease('3.6').path('etcd');
const skip = !existsSync(etcd36) && !inCI ? `skipped: ${etcd36} is missing (build it with \`bash scripts/build-tools.sh etcd\`)` : undefined;
const READY_LINE = '"msg":"ready to serve client requests"';

interface Member {
  readonly name: string;
  readonly client: string;
  readonly child: ChildProcess;
  log: string;
}

/** A 3-member cluster's configuration; members start one by one. */
class Cluster {
  readonly members: Member[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'etcd-ts-ready-'));
  constructor(
    readonly binary: 'etcd-node' | 'etcd',
    private readonly ports: number[],
  ) {}

  start(i: number): Member {
    const name = `m${i}`;
    const [cp, pp] = [this.ports[i * 2]!, this.ports[i * 2 + 1]!];
    const initial = [0, 1, 2].map((j) => `m${j}=http://127.0.0.1:${this.ports[j * 2 + 1]}`).join(',');
    const args = [
      `--name=${name}`,
      `--data-dir=${join(this.dir, name)}`,
      `--listen-client-urls=http://127.0.0.1:${cp}`,
      `--advertise-client-urls=http://127.0.0.1:${cp}`,
      `--listen-peer-urls=http://127.0.0.1:${pp}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${pp}`,
      `--initial-cluster=${initial}`,
      '--initial-cluster-token=ready-test',
    ];
    const [file, prefix] = this.binary === 'etcd' ? [etcd36, []] : [process.execPath, [join(repoRoot, 'bin', 'etcd-node.js')]];
    const child = spawn(file, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const m: Member = { name, client: `127.0.0.1:${cp}`, child, log: '' };
    const append = (b: Buffer): void => {
      m.log += b.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.members.push(m);
    return m;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.members.map(
        (m) =>
          new Promise<void>((res) => {
            if (m.child.exitCode !== null || m.child.signalCode !== null || m.child.pid === undefined) return res();
            m.child.once('exit', () => res());
            process.kill(m.child.pid, 'SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `/readyz` within a second: its status, or 'no answer'. */
async function readyz(m: Member): Promise<string> {
  try {
    const r = await fetch(`http://${m.client}/readyz`, { signal: AbortSignal.timeout(1000) });
    return String(r.status);
  } catch {
    return 'no answer';
  }
}

function status(m: Member): Promise<StatusResponse> {
  const c = new MaintenanceClient(m.client, credentials.createInsecure());
  return new Promise<StatusResponse>((res, rej) => {
    c.status({}, new Metadata(), { deadline: Date.now() + 5000 }, (e: ServiceError | null, r?: StatusResponse) => (e ? rej(e) : res(r!)));
  }).finally(() => c.close());
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What a tool sees of member 0: before a second member starts, and when it says it is ready. */
async function observe(binary: 'etcd-node' | 'etcd', clusters: Cluster[]): Promise<string[]> {
  const c = new Cluster(binary, await freePorts(6));
  clusters.push(c);
  const first = c.start(0);
  await sleep(3000); // three of etcd's default election timeouts: no leader can exist
  const seen = [`alone: ready line ${first.log.includes(READY_LINE) ? 'logged' : 'not logged'}`, `alone: /readyz ${await readyz(first)}`];
  c.start(1);
  const deadline = Date.now() + 20_000;
  while (!first.log.includes(READY_LINE) && Date.now() < deadline) await sleep(20);
  seen.push(`with a second member: ready line ${first.log.includes(READY_LINE) ? 'logged' : 'not logged'}`);
  const st = await status(first);
  seen.push(`then: leader ${st.leader === 0n ? 'unknown' : 'known'}`, `then: /readyz ${await readyz(first)}`);
  return seen;
}

describe('a member says it is ready when etcd 3.6 does', { skip }, () => {
  const clusters: Cluster[] = [];
  after(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
  });

  it('not while it has no leader; once it has, it names the leader at once', async () => {
    if (!existsSync(etcd36)) throw new Error(`${etcd36} is missing (CI=true: CI must run \`bash scripts/build-tools.sh etcd\`)`);
    const [ours, theirs] = await Promise.all([observe(selfCheck ? 'etcd' : 'etcd-node', clusters), observe('etcd', clusters)]);
    console.log(theirs.join('\n'));
    assert.deepEqual(theirs.slice(0, 3), ['alone: ready line not logged', 'alone: /readyz no answer', 'with a second member: ready line logged'], 'etcd 3.6 (the premise)');
    assert.deepEqual(ours, theirs);
  });
});
