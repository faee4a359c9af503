// The backup agent against real servers (etcd-node, and Debian's etcd 3.4 to show it works with any etcd)
// and a volume store: the first start takes a full snapshot, the tail follows as delta objects (none for a
// quiet period), leases are recorded, nothing is stored in plaintext, the store checker finds the chain
// whole and equal to the cluster's own history; an agent killed with SIGKILL at random moments is
// followed by another that goes on with no gap and no duplicate revision; a compaction that overtakes a
// stopped agent's tail makes the next one take a full at once and report the hole; retention keeps what
// the kept fulls need.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyringFrom } from '../../etcd-node/src/backup/keys.js';
import { parseName, type DeltaRef } from '../../etcd-node/src/backup/names.js';
import { readDelta } from '../../etcd-node/src/backup/read-objects.js';
import { VolumeStore } from '../../etcd-node/src/backup/store/volume-store.js';
import { BackupAgent, type AgentReport } from '../../operator/src/backup/agent.js';
import { checkStore } from '../../operator/src/backup/checker.js';
import { EtcdSource } from '../../operator/src/backup/etcd-source.js';
import { parseSchedule } from '../../operator/src/backup/schedule.js';
import { snapshotRevision } from '../../etcd-node/src/backup/snapshot-revision.js';
import { createLogger } from '../../operator/src/runtime/log.js';
import { etcdctl } from '../support/etcdctl.js';
import { until } from '../support/wait.js';
import { repoRoot, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quiet = createLogger({ test: 'agent' });
const log = { ...quiet, info: () => undefined, debug: () => undefined, with: () => log };

async function revisionOf(s: RunningServer): Promise<number> {
  const r = await etcdctl(s.endpoint, ['get', 'x', '-w', 'json']);
  return Number((JSON.parse(r.stdout) as { header: { revision: string | number } }).header.revision);
}

function storeFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p.slice(root.length + 1));
    }
  };
  walk(root);
  return out.sort();
}

for (const kind of ['node', 'etcd'] as const) {
  describe(`the backup agent against ${kind === 'node' ? 'etcd-node' : "Debian's etcd 3.4"}`, skipUnless('etcd', 'etcdctl'), () => {
    let server: RunningServer;
    let dir: string;
    let keyFile: string;
    const key = randomBytes(32);
    const keys = keyringFrom({ key }, 'test');
    const loc = { prefix: 'bk', namespace: 'ns', cluster: 'c1' };

    before(async () => {
      server = await startServer({ kind });
      dir = mkdtempSync(join(tmpdir(), 'etcd-ts-agent-'));
      keyFile = join(dir, 'key');
      writeFileSync(keyFile, key.toString('base64'));
    });
    after(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const storeAt = (name: string): string => {
      const root = join(dir, name);
      mkdirSync(root);
      return root;
    };
    const newAgent = (root: string, extra: Partial<ConstructorParameters<typeof BackupAgent>[0]> = {}, location = loc): { agent: BackupAgent; source: EtcdSource; reports: AgentReport[] } => {
      const source = new EtcdSource([server.endpoint]);
      const reports: AgentReport[] = [];
      const agent = new BackupAgent({
        source,
        store: new VolumeStore({ root }),
        location,
        keys,
        compression: 'gzip',
        schedule: parseSchedule('@yearly'),
        deltaPeriodMs: 300,
        deltaMaxBytes: 1024 * 1024,
        retention: { fullSnapshots: 48 },
        scratchDir: dir,
        snapshotRevision,
        log,
        onReport: (r) => reports.push(r),
        ...extra,
      });
      return { agent, source, reports };
    };

    const check = async (root: string, compare = true, location = loc): Promise<Awaited<ReturnType<typeof checkStore>>> => {
      const source = new EtcdSource([server.endpoint]);
      try {
        return await checkStore({ store: new VolumeStore({ root }), location, keys, scratchDir: dir, snapshotRevision, ...(compare ? { source } : {}) });
      } finally {
        source.close();
      }
    };

    it('takes a full at first, follows the tail in deltas (none while quiet), records leases, stores no plaintext', async () => {
      const root = storeAt('store1');
      await etcdctl(server.endpoint, ['put', 'before', 'the-agent']);
      const { agent, source } = newAgent(root);
      agent.start();
      const first = await until('the first full snapshot', () => agent.report().lastFullSnapshot);
      assert.equal(first.revision, await revisionOf(server));
      const lease = (await etcdctl(server.endpoint, ['lease', 'grant', '600'])).stdout.split(' ')[1]!;
      for (let i = 0; i < 30; i++) await etcdctl(server.endpoint, ['put', `k${i % 7}`, `secret-value-${i}`, ...(i % 3 === 0 ? [`--lease=${lease}`] : [])]);
      await etcdctl(server.endpoint, ['del', 'k1']);
      const head = await revisionOf(server);
      await until('the tail to reach the head', () => (agent.report().latestRecoverable?.revision === head ? true : undefined));
      const objectsThen = storeFiles(root).length;
      await sleep(1500); // five periods without a write
      assert.equal(storeFiles(root).length, objectsThen, 'a quiet period writes nothing');
      await agent.stop();
      source.close();

      const names = storeFiles(root);
      assert.ok(names.every((n) => n.startsWith('bk/ns/c1/')), names.join(' '));
      assert.equal(names.filter((n) => n.includes('/full/')).length, 1);
      const deltas = names.map((n) => parseName(n)).filter((r): r is DeltaRef => r?.kind === 'delta');
      assert.ok(deltas.length >= 1);
      assert.equal(deltas[0]!.from, first.revision + 1);
      // the first delta lists the live leases, with the granted TTL
      const d0 = await readDelta(new VolumeStore({ root }), deltas[0]!, keys);
      assert.equal(d0.leases?.complete, true);
      assert.ok(d0.leases?.granted.some((l) => l.id === BigInt(`0x${lease}`) && l.ttl === 600n), JSON.stringify(d0.leases, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
      for (const n of names) assert.equal(readFileSync(join(root, n)).indexOf('secret-value'), -1, `${n} holds plaintext`);
      const report = await check(root);
      assert.equal(report.ok, true, JSON.stringify(report.chains[0]?.errors));
      assert.equal(report.chains[0]!.history?.compared, head - first.revision);
      assert.deepEqual(report.chains[0]!.reachable, [{ from: first.revision, to: head }]);
      // a wrong key is named, not taken for damage
      const wrong = await checkStore({ store: new VolumeStore({ root }), location: loc, keys: keyringFrom({ key: randomBytes(32) }, 'wrong'), scratchDir: dir, snapshotRevision });
      assert.equal(wrong.ok, false);
      assert.match(wrong.chains[0]!.errors[0]!, /encrypted with key [0-9a-f]{16}, which is not among the keys given/);
    });

    it('goes on after SIGKILL at random moments with no gap and no duplicate revision', async () => {
      const root = storeAt('store2');
      let writing = true;
      let acked = 0;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          const r = await etcdctl(server.endpoint, ['put', `w${i % 50}`, `v${i}`]);
          if (r.code === 0) acked++;
        }
      })();
      const agentProc = (): ChildProcess =>
        spawn(
          process.execPath,
          [join(repoRoot, 'bin', 'etcd-operator.js'), 'backup-agent', '--endpoints', server.endpoint, '--store', root, '--key-file', keyFile, '--namespace', 'ns', '--cluster', 'c1', '--delta-period', '200ms', '--metrics-address', '0', '--scratch-dir', dir],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
      try {
        for (let round = 0; round < 4; round++) {
          const p = agentProc();
          let err = '';
          p.stderr?.on('data', (b: Buffer) => (err += b.toString()));
          // let it start (the first round takes the full), then kill it at a random moment
          await until('the agent to write', () => (storeFiles(root).length > round ? true : undefined), 30_000).catch((e: unknown) => {
            throw new Error(`${String(e)}\n${err}`);
          });
          await sleep(200 + Math.floor(Math.random() * 900));
          p.kill('SIGKILL');
          await new Promise((r) => p.once('exit', r));
        }
      } finally {
        writing = false;
        await writer;
      }
      assert.ok(acked > 20, `${acked} writes acknowledged`);
      // a last agent catches up with the head and stops cleanly
      const head = await revisionOf(server);
      // the command line writes to a folder without a prefix
      const cliLoc = { prefix: '', namespace: 'ns', cluster: 'c1' };
      const { agent, source } = newAgent(root, {}, cliLoc);
      agent.start();
      await until('the last agent to reach the head', () => (agent.report().latestRecoverable?.revision === head ? true : undefined));
      await agent.stop();
      source.close();
      const report = await check(root, true, cliLoc);
      const c = report.chains[0]!;
      assert.equal(report.ok, true, c.errors.join('\n'));
      assert.deepEqual(c.gaps, []);
      assert.equal(c.reachable.length, 1);
      assert.equal(c.reachable[0]!.to, head);
      assert.equal(c.fulls, 1, 'only the first agent took a full: the others went on from the store');
      assert.equal(c.history?.compared, head - c.reachable[0]!.from);
      assert.deepEqual(storeFiles(root).filter((n) => n.split('/').some((part) => part.startsWith('.tmp-'))), [], 'the last agent cleaned up what killed ones left');
    });

    it('a compaction that overtakes the tail: a full at once, the hole named', async () => {
      const root = storeAt('store3');
      const a = newAgent(root);
      a.agent.start();
      await until('a full', () => a.agent.report().lastFullSnapshot);
      await etcdctl(server.endpoint, ['put', 'a', '1']);
      const reached = await revisionOf(server);
      await until('the tail', () => (a.agent.report().latestRecoverable?.revision === reached ? true : undefined));
      await a.agent.stop();
      a.source.close();
      for (let i = 0; i < 5; i++) await etcdctl(server.endpoint, ['put', 'a', `${i + 2}`]);
      const head = await revisionOf(server);
      assert.equal((await etcdctl(server.endpoint, ['compact', String(head)])).code, 0);
      const b = newAgent(root);
      b.agent.start();
      const problem = await until('the hole to be reported', () => b.agent.report().problems.find((p) => p.reason === 'TailCompacted' && /cannot be restored/.test(p.message)));
      assert.match(problem.message, new RegExp(`revisions ${reached + 1}–${head - 1} cannot be restored: compaction at revision ${head}`));
      const full = await until('the second full', () => (b.agent.report().lastFullSnapshot?.revision === head ? true : undefined));
      assert.equal(full, true);
      assert.deepEqual(b.agent.report().gaps, [{ fromRevision: reached + 1, toRevision: head - 1 }]);
      await etcdctl(server.endpoint, ['put', 'after', 'hole']);
      const now = await revisionOf(server);
      await until('the tail after the hole', () => (b.agent.report().latestRecoverable?.revision === now ? true : undefined));
      await b.agent.stop();
      b.source.close();
      const report = await check(root, false);
      assert.equal(report.ok, true, report.chains[0]?.errors.join('\n'));
      assert.deepEqual(report.chains[0]!.gaps, [{ from: reached + 1, to: head - 1 }]);
    });

    it('retention keeps the newest fulls and every delta they need', async () => {
      const root = storeAt('store4');
      const { agent, source } = newAgent(root, { retention: { fullSnapshots: 2 } });
      agent.start();
      await until('a full', () => agent.report().lastFullSnapshot);
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 3; i++) await etcdctl(server.endpoint, ['put', `r${i}`, `${round}`]);
        const head = await revisionOf(server);
        await until('the tail', () => (agent.report().latestRecoverable?.revision === head ? true : undefined));
        await agent.requestFull('test');
      }
      await agent.stop();
      source.close();
      const report = await check(root, false);
      const c = report.chains[0]!;
      assert.equal(report.ok, true, c.errors.join('\n'));
      assert.equal(c.fulls, 2);
      const fulls = storeFiles(root).map((n) => parseName(n)).filter((r) => r?.kind === 'full').map((r) => (r as { revision: number }).revision);
      const oldestKept = Math.min(...fulls);
      for (const n of storeFiles(root)) {
        const r = parseName(n);
        if (r?.kind === 'delta') assert.ok(r.to > oldestKept, `${n} ends before the oldest kept full (${oldestKept})`);
      }
      assert.deepEqual(c.reachable, [{ from: oldestKept, to: c.latest!.revision }]);
    });

    it('a delta stored after a newer full\'s retention pass, ending before the oldest kept full, goes at once', async () => {
      // the tail lags: its upload is held while two fulls are taken and retention runs, then lands
      const root = storeAt('store5');
      const volume = new VolumeStore({ root });
      let hold: Promise<void> | undefined;
      let release = (): void => undefined;
      let held = '';
      let landed = false;
      const store = Object.assign(Object.create(volume) as VolumeStore, {
        put: async (name: string, body: Parameters<VolumeStore['put']>[1], opts?: { signal?: AbortSignal }) => {
          if (hold && parseName(name)?.kind === 'delta') {
            held = name;
            await hold;
            const r = await volume.put(name, body, opts);
            landed = true;
            return r;
          }
          return volume.put(name, body, opts);
        },
      });
      const { agent, source } = newAgent(root, { store, retention: { fullSnapshots: 2 } });
      agent.start();
      await until('a full', () => agent.report().lastFullSnapshot);
      hold = new Promise((r) => (release = r));
      await etcdctl(server.endpoint, ['put', 'lag', '1']);
      await until('a delta upload held', () => (held ? true : undefined));
      for (let i = 0; i < 2; i++) {
        await etcdctl(server.endpoint, ['put', 'lag', `f${i}`]);
        await agent.requestFull('test');
      }
      const oldestKept = Math.min(...storeFiles(root).map((n) => parseName(n)).filter((r) => r?.kind === 'full').map((r) => (r as { revision: number }).revision));
      const late = parseName(held) as DeltaRef;
      assert.ok(late.to <= oldestKept, `the held delta ${held} ends at or before the oldest kept full (${oldestKept})`);
      hold = undefined;
      release();
      await until('the held delta stored', () => (landed ? true : undefined));
      await until('the held delta deleted', () => (storeFiles(root).some((n) => n.endsWith(held.split('/').pop()!)) ? undefined : true));
      await etcdctl(server.endpoint, ['put', 'lag', 'after']);
      const head = await revisionOf(server);
      await until('the tail at the head', () => (agent.report().latestRecoverable?.revision === head ? true : undefined));
      await agent.stop();
      source.close();
      for (const n of storeFiles(root)) {
        const r = parseName(n);
        if (r?.kind === 'delta') assert.ok(r.to > oldestKept, `${n} ends at or before the oldest kept full (${oldestKept})`);
      }
      const report = await check(root, false);
      assert.equal(report.ok, true, report.chains[0]!.errors.join('\n'));
      assert.deepEqual(report.chains[0]!.gaps, []);
    });
  });
}
