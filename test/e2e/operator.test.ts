// The operator against the real control plane: an EtcdCluster of 3 becomes Available and serves etcdctl
// on its members; 3 → 5 goes through learners one at a time (the test records the member lists it sees);
// 5 → 3 removes members one at a time and shrinks; a missing TLS Secret is Degraded with a clear message
// and nothing is created; deleting the EtcdCluster garbage-collects what it owns.
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { etcdctl } from '../support/etcdctl.js';
import { freePorts, repoRoot } from '../support/servers.js';
import { env, eventually, kubectl, operatorKubeconfig, otherBuild, sleep, spawnOperator } from './support.js';

const IMAGE = 'ghcr.io/etcd-ts/etcd-node';

const NS = 'op';

interface Status {
  phase?: string;
  readyMembers?: number;
  leaderId?: string;
  currentVersion?: string;
  members?: Array<{ id: string; isLearner: boolean; healthy: boolean; version?: string }>;
  conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
}

async function status(name: string): Promise<Status> {
  const r = await kubectl(['get', 'etcdcluster', name, '-n', NS, '-o', 'jsonpath={.status}']);
  return r.stdout ? (JSON.parse(r.stdout) as Status) : {};
}

const condition = (s: Status, type: string): string | undefined => s.conditions?.find((c) => c.type === type)?.status;

async function podIPs(name: string): Promise<string[]> {
  const r = await kubectl(['get', 'pods', '-n', NS, '-l', `app.kubernetes.io/instance=${name}`, '-o', 'jsonpath={.items[*].status.podIP}']);
  return r.stdout.split(' ').filter(Boolean);
}

/** The PodDisruptionBudget lets a drain take no more than a quorum of `voters` allows. */
async function pdbKeepsQuorum(voters: number): Promise<void> {
  const want = String(Math.floor(voters / 2) + 1);
  await eventually(`the PDB's minAvailable to be ${want} at ${voters} members`, async () => {
    const r = await kubectl(['get', 'pdb', 'main', '-n', NS, '-o', 'jsonpath={.spec.minAvailable}']);
    return r.stdout === want ? true : undefined;
  }, 30_000);
}

async function settled(name: string, replicas: number, timeoutMs = 180_000): Promise<Status> {
  return eventually(
    `EtcdCluster ${name} to settle at ${replicas} ready members`,
    async () => {
      const s = await status(name);
      const voters = (s.members ?? []).filter((m) => !m.isLearner).length;
      return s.phase === 'Running' && s.readyMembers === replicas && voters === replicas && condition(s, 'Available') === 'True' ? s : undefined;
    },
    timeoutMs,
  );
}

/** Member lists seen while `during` runs, sampled through any pod. */
async function recordMembers(name: string, during: () => Promise<void>): Promise<Array<Array<{ ID: string; isLearner: boolean }>>> {
  const seen: Array<Array<{ ID: string; isLearner: boolean }>> = [];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      for (const ip of await podIPs(name)) {
        const r = await etcdctl(`${ip}:2379`, ['--command-timeout=2s', 'member', 'list', '-w', 'json']);
        if (r.code !== 0) continue;
        const members = (JSON.parse(r.stdout.replace(/"ID":(\d+)/g, '"ID":"$1"')) as { members: Array<{ ID: string; isLearner?: boolean }> }).members;
        seen.push(members.map((m) => ({ ID: m.ID, isLearner: m.isLearner === true })));
        break;
      }
      await sleep(300);
    }
  })();
  try {
    await during();
  } finally {
    done = true;
    await sampler;
  }
  return seen;
}

describe('the operator reconciles EtcdClusters', () => {
  let operator: ChildProcess | undefined;
  let logs = '';
  let metricsPort = 0;
  // the operator runs as the ServiceAccount of deploy/rbac.yaml: a rule missing there fails these tests
  let kubeconfig = '';
  const startOperator = (extraEnv: Record<string, string> = {}, port = metricsPort): ChildProcess =>
    spawnOperator(
      kubeconfig,
      [`--namespace=${NS}`, `--metrics-address=127.0.0.1:${port}`],
      (text) => {
        logs += text;
        if (logs.length > 2_000_000) logs = logs.slice(-1_000_000);
      },
      extraEnv,
    );
  before(async () => {
    assert.equal((await kubectl(['apply', '-f', join(repoRoot, 'crds')])).code, 0);
    await kubectl(['wait', '--for=condition=Established', 'crd/etcdclusters.etcdts.dev', '--timeout=30s']);
    await kubectl(['create', 'namespace', NS]);
    kubeconfig = await operatorKubeconfig(join(env.certDir, 'operator.kubeconfig'));
    metricsPort = (await freePorts(1))[0]!;
    operator = startOperator();
  });
  after(async () => {
    if (operator && operator.exitCode === null && operator.signalCode === null) {
      operator.kill('SIGTERM');
      await new Promise((r) => operator!.once('exit', r));
    }
    if (process.env['SHOW_OPERATOR_LOGS']) console.log(logs);
  });

  /**
   * From the operator's log of the steps it took (one per reconcile, with the member concerned): a
   * `begin` step for one member is always followed by its `end` step before a `begin` for another
   * (a change is finished before the next starts). The log is consumed, so each call checks new steps.
   */
  let checkedUpTo = 0;
  const assertOneChangeAtATime = (begin: string, end: string): void => {
    const steps = logs
      .slice(checkedUpTo)
      .split('\n')
      .filter((l) => l.includes('"msg":"reconcile"') && l.includes('"etcdcluster":"op/main"'))
      .map((l) => JSON.parse(l) as { step: string; member?: string; ordinal?: number; leader?: string });
    checkedUpTo = logs.length;
    let open: string | undefined;
    let begins = 0;
    for (const s of steps) {
      const who = s.member ?? String(s.ordinal);
      if (s.step === 'RemoveMember') assert.notEqual(s.member, s.leader, `member ${s.member} removed while it led`);
      if (s.step === begin) {
        assert.ok(open === undefined || open === who, `${begin} for ${who} while the change for ${open} was not finished: ${JSON.stringify(steps.map((x) => x.step))}`);
        if (open === undefined) begins++;
        open = who;
      } else if (s.step === end) {
        open = undefined;
      }
    }
    assert.ok(begins >= 2, `the log shows the ${begin} steps (${begins})`);
  };

  it('a 3-member cluster becomes Available and serves etcdctl on its members', async () => {
    const applied = await kubectl(['apply', '-f', '-'], `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdCluster\nmetadata: {name: main, namespace: ${NS}}\nspec: {version: "0.1.0", replicas: 3, storage: {size: 1Gi}}\n`);
    assert.equal(applied.code, 0, applied.stderr);
    const s = await settled('main', 3).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- operator log (tail) ---\n${logs.split('\n').slice(-40).join('\n')}`, { cause: err });
    });
    assert.equal(s.currentVersion, '0.1.0', 'the version the members report running');
    assert.ok(s.leaderId, 'status names the leader');
    const ips = await podIPs('main');
    assert.equal(ips.length, 3);
    assert.equal((await etcdctl(`${ips[0]}:2379`, ['put', 'hello', 'operator'])).stdout, 'OK\n');
    for (const ip of ips) assert.equal((await etcdctl(`${ip}:2379`, ['get', 'hello', '--print-value-only'])).stdout, 'operator\n');
    const table = await kubectl(['get', 'etcdclusters', '-n', NS]);
    assert.match(table.stdout, /\nmain\s+3\s+3\s+[0-9a-f]+\s+0\.1\.0\s+Running/);
  });

  it('3 → 5 adds each member as a learner first, one change at a time; 5 → 3 removes them one at a time', async () => {
    const up = await recordMembers('main', async () => {
      assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":5}}'])).code, 0);
      await settled('main', 5);
    });
    const final = up.at(-1)!;
    assert.equal(final.length, 5);
    for (const m of final) {
      const first = up.find((l) => l.some((x) => x.ID === m.ID));
      if (up[0]!.some((x) => x.ID === m.ID)) continue; // an initial member
      assert.equal(first?.find((x) => x.ID === m.ID)?.isLearner, true, `member ${m.ID} was first seen as a learner`);
    }
    for (const l of up) assert.ok(l.filter((m) => m.isLearner).length <= 1, 'never two learners at once');
    assertOneChangeAtATime('AddLearner', 'PromoteLearner');
    const ips = await podIPs('main');
    const hashes = new Set<string>();
    for (const ip of ips) hashes.add((await etcdctl(`${ip}:2379`, ['endpoint', 'hashkv', '-w', 'json'])).stdout.replace(/.*"hash":(\d+).*\n?/s, '$1'));
    assert.equal(hashes.size, 1, 'hashkv equal on all five');
    await pdbKeepsQuorum(5);

    const down = await recordMembers('main', async () => {
      assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":3}}'])).code, 0);
      await settled('main', 3);
    });
    assert.ok(down.at(-1)!.length === 3, 'three members left');
    assertOneChangeAtATime('RemoveMember', 'ScaleStatefulSet');
    await eventually('the claims of removed members to be deleted', async () => {
      const pvcs = await kubectl(['get', 'pvc', '-n', NS, '-o', 'name']);
      return pvcs.stdout.trim().split('\n').length === 3 ? true : undefined;
    });
    await pdbKeepsQuorum(3);
    // down to one member and back: the PDB follows every size
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":1}}'])).code, 0);
    await settled('main', 1);
    await pdbKeepsQuorum(1);
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":3}}'])).code, 0);
    await settled('main', 3);
    await pdbKeepsQuorum(3);
  });

  it("a member whose pod and claim are deleted is replaced through a learner; the cluster is Available again", async () => {
    const before = await status('main');
    const lost = (before.members ?? []).find((m) => (m as { name?: string }).name === 'main-1');
    assert.ok(lost, `status lists main-1: ${JSON.stringify(before.members)}`);
    const seen = await recordMembers('main', async () => {
      assert.equal((await kubectl(['delete', 'pvc', 'data-main-1', '-n', NS, '--wait=false'])).code, 0);
      assert.equal((await kubectl(['delete', 'pod', 'main-1', '-n', NS, '--wait=false'])).code, 0);
      await eventually(
        'main-1 to come back as a new member',
        async () => {
          const s = await status('main');
          const m = (s.members ?? []).find((x) => (x as { name?: string }).name === 'main-1');
          return m && m.id !== lost.id && !m.isLearner && s.phase === 'Running' && s.readyMembers === 3 ? true : undefined;
        },
        180_000,
      );
    });
    assert.ok(seen.some((l) => !l.some((m) => BigInt(m.ID).toString(16) === lost.id)), 'the old member was removed');
    assert.ok(seen.some((l) => l.some((m) => m.isLearner)), 'its replacement joined as a learner');
    assert.equal(condition(await status('main'), 'Available'), 'True');
  });

  it('an operator killed right after MemberAdd converges after its restart, with no stray member', async () => {
    // stop the running operator cleanly, then run one that dies right after its next MemberAdd
    operator!.kill('SIGTERM');
    await new Promise((r) => operator!.once('exit', r));
    const crashing = startOperator({ ETCD_TS_OPERATOR_CRASH_AFTER: 'MemberAdd' });
    const exited = new Promise<NodeJS.Signals | null>((r) => crashing.once('exit', (_c, sig) => r(sig)));
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":4}}'])).code, 0);
    assert.equal(await exited, 'SIGKILL', 'the operator died after MemberAdd');
    const ip = (await podIPs('main'))[0]!;
    const list = await etcdctl(`${ip}:2379`, ['member', 'list']);
    assert.equal((list.stdout.match(/, true\n/g) ?? []).length, 1, `one learner added before the crash:\n${list.stdout}`);
    assert.equal((await kubectl(['get', 'sts', 'main', '-n', NS, '-o', 'jsonpath={.spec.replicas}'])).stdout, '3', 'the StatefulSet did not change');
    operator = startOperator();
    await settled('main', 4);
    const after = await etcdctl(`${ip}:2379`, ['member', 'list']);
    assert.equal(after.stdout.trim().split('\n').length, 4, `four members, no stray:\n${after.stdout}`);
    assert.doesNotMatch(after.stdout, /, true\n/, 'no learner left');
    const even = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster,type=Warning,reason=EvenReplicas', '-o', 'jsonpath={.items[*].message}']);
    assert.match(even.stdout, /replicas 4: 4 members survive the loss of 1, as 3 do \(a quorum is 3 of 4\)/, 'an even count is accepted with a Warning');
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"replicas":3}}'])).code, 0);
    await settled('main', 3);
  });

  /** The operator's reconcile steps for op/main logged since `from` (an offset into the log). */
  const stepsSince = (from: number): Array<{ step: string; member?: string; ordinal?: number; leader?: string }> =>
    logs
      .slice(from)
      .split('\n')
      .filter((l) => l.includes('"msg":"reconcile"') && l.includes('"etcdcluster":"op/main"'))
      .map((l) => JSON.parse(l) as { step: string; member?: string; ordinal?: number; leader?: string });

  const podUids = async (): Promise<Map<string, string>> => {
    const r = await kubectl(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/instance=main', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.uid}{"\n"}{end}']);
    return new Map(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('=') as [string, string]));
  };

  const CLIENT_RESTART_ERRORS = /leader changed|no leader|unavailable|deadline exceeded|connection refused|transport is closing|connection reset/i;

  /**
   * Runs `during` under a write load from three clients through every member's address (kept current as
   * pods come back), then checks what a user would: every acknowledged write is there, and clients saw
   * only the errors a restarting member explains.
   */
  const underWrites = async (label: string, during: () => Promise<void>): Promise<void> => {
    let ips = await podIPs('main');
    let stop = false;
    const acked: string[] = [];
    const errors: string[] = [];
    const refresher = (async () => {
      while (!stop) {
        const now = await podIPs('main');
        if (now.length > 0) ips = now;
        await sleep(500);
      }
    })();
    const writers = [0, 1, 2].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const key = `${label}-${w}-${i}`;
        const r = await etcdctl(ips.map((ip) => `${ip}:2379`).join(','), ['--command-timeout=10s', 'put', key, String(i)]);
        if (r.code === 0) acked.push(key);
        else errors.push(r.stderr.trim());
      }
    });
    try {
      await during();
    } finally {
      stop = true;
      await Promise.all([...writers, refresher]);
    }
    const ip = (await podIPs('main'))[0]!;
    for (const key of acked) assert.equal((await etcdctl(`${ip}:2379`, ['get', key, '--print-value-only'])).stdout, `${key.split('-').at(-1)}\n`, `${key} survived`);
    const kinds = new Map<string, number>();
    for (const e of errors) {
      const k = CLIENT_RESTART_ERRORS.exec(e)?.[0] ?? 'other';
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    console.log(`# ${label} under load: ${acked.length} writes acknowledged, ${errors.length} refused (${[...kinds].map(([k, n]) => `${n}× ${k}`).join(', ') || 'none'})`);
    assert.ok(acked.length > 20, `the writers wrote (${acked.length})`);
    assert.deepEqual(errors.filter((e) => !CLIENT_RESTART_ERRORS.test(e)), [], 'no client error beyond a restarting member');
  };

  /** Every pod was made again, one restart at a time, never the leader while it led. */
  const assertRolledOneByOne = (from: number, uidsBefore: Map<string, string>, uidsAfter: Map<string, string>): void => {
    for (const [pod, uid] of uidsBefore) assert.notEqual(uidsAfter.get(pod), uid, `${pod} was restarted`);
    const steps = stepsSince(from);
    const restarts = steps.filter((x) => x.step === 'RestartMember');
    assert.equal(new Set(restarts.map((x) => x.ordinal)).size, 3, `three members restarted: ${JSON.stringify(restarts)}`);
    for (const r of restarts) assert.notEqual(r.member, r.leader, `member ${r.member} restarted while it led`);
    const order = steps.map((x) => x.step);
    for (let i = 1; i < order.length; i++) assert.ok(!(order[i] === 'RestartMember' && order[i - 1] === 'RestartMember'), `two restarts back to back: ${order.join(' ')}`);
  };

  it('a changed option and pod resources roll out one member at a time, the leader last, under writes; the members report it', async () => {
    const quota = 3 * 1024 * 1024 * 1024;
    const from = logs.length;
    const uidsBefore = await podUids();
    await underWrites('rollout', async () => {
      assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { options: { quotaBackendBytes: quota }, pod: { resources: { requests: { cpu: '50m', memory: '96Mi' } } } } })])).code, 0);
      await eventually(
        'every member to run the new template and report the new quota',
        async () => {
          const s = (await status('main')) as Status & { updatedMembers?: number };
          if (s.phase !== 'Running' || s.updatedMembers !== 3 || s.readyMembers !== 3) return undefined;
          for (const ip of await podIPs('main')) {
            const body = await fetch(`http://${ip}:2379/metrics`).then((r) => r.text()).catch(() => '');
            if (!new RegExp(`^etcd_server_quota_backend_bytes ${quota}$`, 'm').test(body)) return undefined;
          }
          return true;
        },
        300_000,
      );
    });
    assertRolledOneByOne(from, uidsBefore, await podUids());
    const pods = JSON.parse((await kubectl(['get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/instance=main', '-o', 'json'])).stdout) as {
      items: Array<{ spec: { containers: Array<{ name: string; resources?: { requests?: Record<string, string> } }> } }>;
    };
    const requests = pods.items.map((p) => p.spec.containers.find((c) => c.name === 'etcd')?.resources?.requests?.['memory']);
    assert.deepEqual(requests, ['96Mi', '96Mi', '96Mi'], 'every pod has the new resources');
    const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events.stdout, /TemplateUpdated/);
    assert.equal((events.stdout.match(/MemberRestarted/g) ?? []).length >= 3, true, events.stdout);
  });

  it('a member that never becomes ready stops the roll-out (Degraded naming it); fixing the spec resumes it', async () => {
    const uidsBefore = await podUids();
    const from = logs.length;
    // a nodeSelector no node matches: the first restarted member stays Pending
    const bad = { spec: { progressDeadlineSeconds: 30, pod: { nodeSelector: { 'etcd-ts/no-such-node': 'true' } } } };
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', JSON.stringify(bad)])).code, 0);
    const degraded = await eventually(
      'Degraded with reason MemberNotReady',
      async () => {
        const s = await status('main');
        const d = s.conditions?.find((c) => c.type === 'Degraded');
        return d?.status === 'True' && d.reason === 'MemberNotReady' ? { s, d } : undefined;
      },
      120_000,
    );
    const restarted = stepsSince(from).filter((x) => x.step === 'RestartMember').map((x) => `main-${x.ordinal}`);
    assert.equal(new Set(restarted).size, 1, `one member restarted before the stop: ${restarted.join(', ')}`);
    assert.match(degraded.d.message, new RegExp(`member pod ${restarted[0]} has not been ready for \\d+ s since it started \\(progressDeadlineSeconds 30\\)`));
    assert.equal(degraded.s.phase, 'Degraded');
    await sleep(5_000);
    const uidsNow = await podUids();
    for (const [pod, uid] of uidsBefore) if (pod !== restarted[0]) assert.equal(uidsNow.get(pod), uid, `${pod} was left alone`);
    const warn = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster,type=Warning,reason=MemberNotReady', '-o', 'jsonpath={.items[*].message}']);
    assert.match(warn.stdout, new RegExp(restarted[0]!));
    // the fix: the selector goes, the deadline is the default again
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { progressDeadlineSeconds: null, pod: null } })])).code, 0);
    await eventually(
      'the cluster to be Running with every member updated',
      async () => {
        const s = (await status('main')) as Status & { updatedMembers?: number };
        return s.phase === 'Running' && s.updatedMembers === 3 && s.readyMembers === 3 && condition(s, 'Degraded') === 'False' ? true : undefined;
      },
      180_000,
    );
  });

  it('a version two minors away is refused with a condition and nothing restarts; back to the running one clears it', async () => {
    const uidsBefore = await podUids();
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"version":"0.3.0"}}'])).code, 0);
    const d = await eventually('Degraded with reason VersionChangeRefused', async () => {
      const c = (await status('main')).conditions?.find((x) => x.type === 'Degraded');
      return c?.status === 'True' && c.reason === 'VersionChangeRefused' ? c : undefined;
    });
    assert.match(d.message, /version 0\.1\.0 → 0\.3\.0 skips a minor version: members move one minor at a time \(upgrade to 0\.2\.x first\)/);
    assert.equal((await status('main')).currentVersion, '0.1.0', 'status says what the members run');
    assert.deepEqual(await podUids(), uidsBefore, 'no member restarted');
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"version":"0.1.0"}}'])).code, 0);
    await eventually('Degraded to clear', async () => {
      const s = await status('main');
      return condition(s, 'Degraded') === 'False' && s.phase === 'Running' ? true : undefined;
    });
    assert.deepEqual(await podUids(), uidsBefore, 'still no member restarted: the template is the one they run');
  });

  it('a pod template the API server refuses (an invalid resource quantity) is Degraded with its words, not retried in a loop; fixing the spec clears it', async () => {
    const uidsBefore = await podUids();
    const from = logs.length;
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"pod":{"resources":{"requests":{"cpu":"lots"}}}}}'])).code, 0);
    const d = await eventually('Degraded with reason RefusedByAPIServer', async () => {
      const c = (await status('main')).conditions?.find((x) => x.type === 'Degraded');
      return c?.status === 'True' && c.reason === 'RefusedByAPIServer' ? c : undefined;
    });
    assert.match(d.message, /^UpdateStatefulSet: the API server refused it: .*quantities must match the regular expression/);
    assert.doesNotMatch(d.message, /\{"kind":"Status"/, 'the API server\'s message, not its JSON');
    const warn = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster,type=Warning,reason=RefusedByAPIServer', '-o', 'name']);
    assert.equal(warn.stdout.trim().split('\n').filter(Boolean).length, 1, 'one Warning Event');
    await sleep(3000);
    const lines = logs.slice(from).split('\n');
    assert.equal(lines.filter((l) => l.includes('reconcile failed; retrying')).length, 0, 'no retry loop');
    assert.ok(lines.some((l) => l.includes('reconcile failed; not retried')), 'the terminal failure is logged');
    assert.deepEqual(await podUids(), uidsBefore, 'no member restarted');
    assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"pod":null}}'])).code, 0);
    await eventually('Degraded to clear', async () => {
      const s = await status('main');
      return condition(s, 'Degraded') === 'False' && s.phase === 'Running' ? true : undefined;
    });
    assert.deepEqual(await podUids(), uidsBefore, 'still no member restarted');
  });

  it('an upgrade to the next minor (another build) rolls out under writes; currentVersion follows what the members report', async () => {
    // the pod runner runs this image as a build whose package.json says 0.2.0: the members report 0.2.0 only
    // once they run it, whatever the StatefulSet says
    const build = otherBuild(`${IMAGE}:0.2.0`, '0.2.0');
    try {
      const from = logs.length;
      const uidsBefore = await podUids();
      const seen: string[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const v = (await status('main')).currentVersion;
          if (v !== undefined && seen.at(-1) !== v) seen.push(v);
          await sleep(200);
        }
      })();
      try {
        await underWrites('upgrade', async () => {
          assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"version":"0.2.0"}}'])).code, 0);
          await eventually(
            'every member to report 0.2.0',
            async () => {
              const s = (await status('main')) as Status & { updatedMembers?: number };
              const versions = (s.members ?? []).map((m) => m.version);
              return s.phase === 'Running' && s.updatedMembers === 3 && s.readyMembers === 3 && versions.length === 3 && versions.every((v) => v === '0.2.0') ? s : undefined;
            },
            300_000,
          );
        });
      } finally {
        sampling = false;
        await sampler;
      }
      assert.deepEqual(seen, ['0.1.0', '0.1.0, 0.2.0', '0.2.0'], 'currentVersion: the old version until a member runs the new one, both while mixed, the new one at the end');
      assertRolledOneByOne(from, uidsBefore, await podUids());
      for (const ip of await podIPs('main')) {
        const body = await fetch(`http://${ip}:2379/metrics`).then((r) => r.text());
        assert.match(body, /^etcd_node_build_info\{version="0\.2\.0",node_version="[^"]+"\} 1$/m, `the member at ${ip} runs the 0.2.0 build`);
      }
      const table = await kubectl(['get', 'etcdclusters', '-n', NS]);
      assert.match(table.stdout, /\nmain\s+3\s+3\s+[0-9a-f]+\s+0\.2\.0\s+Running/);
      // and back down one minor, so the tests after this one find the cluster they expect
      assert.equal((await kubectl(['patch', 'etcdcluster', 'main', '-n', NS, '--type=merge', '-p', '{"spec":{"version":"0.1.0"}}'])).code, 0);
      await eventually('every member to report 0.1.0 again', async () => {
        const s = (await status('main')) as Status & { updatedMembers?: number };
        return s.phase === 'Running' && s.updatedMembers === 3 && s.readyMembers === 3 && s.currentVersion === '0.1.0' ? true : undefined;
      }, 300_000);
    } finally {
      rmSync(build, { recursive: true, force: true });
    }
  });

  it('a larger storage.size grows the claims in place where the StorageClass allows it, and is Degraded naming the claim where not', async () => {
    const classes = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: expandable}
provisioner: etcd-ts.dev/pod-runner
allowVolumeExpansion: true
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fixed}
provisioner: etcd-ts.dev/pod-runner
`;
    assert.equal((await kubectl(['apply', '-f', '-'], classes)).code, 0);
    const one = (name: string, cls: string): string =>
      `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdCluster\nmetadata: {name: ${name}, namespace: ${NS}}\nspec: {version: "0.1.0", replicas: 1, storage: {size: 1Gi, storageClassName: ${cls}}}\n`;
    for (const [name, cls] of [['grow', 'expandable'], ['fixed', 'fixed']] as const) assert.equal((await kubectl(['apply', '-f', '-'], one(name, cls))).code, 0);
    try {
      await settled('grow', 1);
      await settled('fixed', 1);
      const uid = async (pod: string): Promise<string> => (await kubectl(['get', 'pod', pod, '-n', NS, '-o', 'jsonpath={.metadata.uid}'])).stdout;
      const before = await uid('grow-0');
      for (const name of ['grow', 'fixed']) assert.equal((await kubectl(['patch', 'etcdcluster', name, '-n', NS, '--type=merge', '-p', '{"spec":{"storage":{"size":"2Gi"}}}'])).code, 0);
      const grown = await eventually('the claim of grow to report 2Gi', async () => {
        const s = (await status('grow')) as Status & { claims?: Array<{ name: string; requested: string; capacity?: string }> };
        return s.phase === 'Running' && s.claims?.[0]?.capacity === '2Gi' ? s : undefined;
      }, 60_000);
      assert.deepEqual((grown as { claims?: unknown }).claims, [{ name: 'data-grow-0', requested: '2Gi', capacity: '2Gi' }]);
      assert.equal(await uid('grow-0'), before, 'the member was not restarted');
      const expanding = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=grow,reason=ClaimExpanding', '-o', 'jsonpath={.items[*].message}']);
      assert.match(expanding.stdout, /asked claim data-grow-0 to grow from 1Gi to 2Gi/);
      const d = await eventually('fixed to be Degraded with StorageExpansionRefused', async () => {
        const c = (await status('fixed')).conditions?.find((x) => x.type === 'Degraded');
        return c?.status === 'True' && c.reason === 'StorageExpansionRefused' ? c : undefined;
      }, 60_000);
      assert.match(d.message, /claim data-fixed-0 \(1Gi\) cannot grow: StorageClass fixed does not allow volume expansion/);
      assert.equal((await kubectl(['get', 'pvc', 'data-fixed-0', '-n', NS, '-o', 'jsonpath={.spec.resources.requests.storage}'])).stdout, '1Gi', 'the claim was left as it is');
      assert.equal(condition(await status('fixed'), 'Available'), 'True', 'the member still serves');
      const warned = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.name=fixed,type=Warning,reason=StorageExpansionRefused', '-o', 'name']);
      assert.equal(warned.stdout.trim().split('\n').filter(Boolean).length, 1, 'one Warning Event');
      const shrink = await kubectl(['patch', 'etcdcluster', 'grow', '-n', NS, '--type=merge', '-p', '{"spec":{"storage":{"size":"1Gi"}}}']);
      assert.notEqual(shrink.code, 0);
      assert.match(shrink.stderr, /storage.size cannot shrink/);
    } finally {
      await kubectl(['delete', 'etcdcluster', 'grow', 'fixed', '-n', NS, '--wait=true']);
      await kubectl(['delete', 'pvc', 'data-grow-0', 'data-fixed-0', '-n', NS, '--wait=false']);
    }
  });

  it('records Events, serves /metrics and /readyz, and a second operator waits for the lease', async () => {
    const events = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster', '-o', 'jsonpath={.items[*].reason}']);
    for (const r of ['Bootstrapping', 'MemberAdded', 'MemberPromoted', 'MemberRemoved', 'Scaled']) assert.match(events.stdout, new RegExp(r));
    // one ClaimDeleted per claim deleted: 5 → 3 (ordinals 4, 3), 3 → 1 (2, 1), 4 → 3 after the crash (3); a
    // claim stays Terminating a while, and it is not deleted (nor recorded) a second time meanwhile
    const claimEvents = await kubectl(['get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=EtcdCluster,reason=ClaimDeleted', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    assert.equal(claimEvents.stdout.trim().split('\n').length, 5, claimEvents.stdout);
    const get = async (port: number, path: string): Promise<{ status: number; body: string }> => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        return { status: res.status, body: await res.text() };
      } catch {
        return { status: 0, body: '' };
      }
    };
    const m = await get(metricsPort, '/metrics');
    assert.match(m.body, /etcd_operator_reconcile_total\{controller="etcdcluster",result="success"\} [1-9]/);
    assert.match(m.body, /etcd_operator_is_leader 1/);
    // reconciles read from the informers' cache; the API server only right after the operator's own writes
    const reads = (answered: string): number => Number(new RegExp(`^etcd_operator_cache_reads_total\\{answered="${answered}"\\} (\\d+)`, 'm').exec(m.body)?.[1] ?? 0);
    console.log(`# EtcdCluster controller reads: ${reads('cache')} from the cache, ${reads('api')} from the API server`);
    assert.ok(reads('cache') > reads('api'), `most reads from the cache: ${reads('cache')} vs ${reads('api')}`);
    assert.equal((await get(metricsPort, '/readyz')).status, 200);
    const port2 = (await freePorts(1))[0]!;
    const second = startOperator({}, port2);
    await eventually('the second operator to serve /healthz', async () => ((await get(port2, '/healthz')).status === 200 ? true : undefined), 30_000);
    assert.equal((await get(port2, '/readyz')).status, 200, 'a stand-by is ready (a Deployment roll-out waits for it)');
    assert.match((await get(port2, '/metrics')).body, /etcd_operator_is_leader 0/, 'the second operator does not lead while the first does');
    const holder = (await kubectl(['get', 'lease', 'etcd-operator', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}'])).stdout;
    assert.match(holder, new RegExp(`-${operator!.pid}$`));
    // the first gives the lease up on SIGTERM: the second takes over
    operator!.kill('SIGTERM');
    await new Promise((r) => operator!.once('exit', r));
    await eventually('the second operator to lead', async () => (/etcd_operator_is_leader 1/.test((await get(port2, '/metrics')).body) ? true : undefined), 30_000);
    operator = second;
    metricsPort = port2;
  });

  it('a cluster with TLS for clients and peers (Secrets with tls.crt, tls.key, ca.crt) becomes Available', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-op-tls-'));
    try {
      const openssl = (args: string[]): void => {
        execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      };
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=etcd-ts e2e CA']);
      writeFileSync(join(dir, 'ext'), 'subjectAltName=DNS:*.secure.op.svc,DNS:*.secure.op.svc.cluster.local\nextendedKeyUsage=serverAuth,clientAuth\n');
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=secure']);
      openssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '2', '-extfile', 'ext']);
      const files = ['tls.crt', 'tls.key', 'ca.crt'].map((f) => `--from-file=${f}=${join(dir, f)}`);
      assert.equal((await kubectl(['create', 'secret', 'generic', 'secure-certs', '-n', NS, ...files])).code, 0);
      const applied = await kubectl(
        ['apply', '-f', '-'],
        `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdCluster\nmetadata: {name: secure, namespace: ${NS}}\nspec: {version: "0.1.0", replicas: 3, pvcRetentionPolicy: Delete, tls: {client: {secretName: secure-certs}, peer: {secretName: secure-certs}, operator: {secretName: secure-certs}}}\n`,
      );
      assert.equal(applied.code, 0, applied.stderr);
      await settled('secure', 3);
      const ip = (await podIPs('secure'))[0]!;
      const tlsArgs = [`--cacert=${join(dir, 'ca.crt')}`, '--insecure-skip-tls-verify'];
      const list = await etcdctl(`${ip}:2379`, [...tlsArgs, 'member', 'list']);
      assert.equal(list.code, 0, list.stderr);
      assert.equal((list.stdout.match(/, https:\/\/secure-\d\.secure\.op\.svc:2380, https:\/\/secure-\d\.secure\.op\.svc:2379, false/g) ?? []).length, 3, list.stdout);
      assert.notEqual((await etcdctl(`${ip}:2379`, ['--dial-timeout=2s', '--command-timeout=2s', 'get', 'x'])).code, 0, 'plain text is refused');
      // pvcRetentionPolicy: Delete: the claims go with the cluster
      assert.equal((await kubectl(['delete', 'etcdcluster', 'secure', '-n', NS])).code, 0);
      await eventually(
        'the claims of a Delete-policy cluster to be deleted with it',
        async () => ((await kubectl(['get', 'pvc', '-n', NS, '-l', 'app.kubernetes.io/instance=secure', '-o', 'name'])).stdout.trim() === '' ? true : undefined),
        90_000,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing TLS Secret is Degraded with a clear message, and nothing is created', async () => {
    const applied = await kubectl(['apply', '-f', '-'], `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdCluster\nmetadata: {name: tls, namespace: ${NS}}\nspec: {version: "0.1.0", replicas: 1, tls: {client: {secretName: nope}}}\n`);
    assert.equal(applied.code, 0, applied.stderr);
    const s = await eventually('the Degraded condition', async () => {
      const x = await status('tls');
      return condition(x, 'Degraded') === 'True' ? x : undefined;
    });
    assert.match(s.conditions!.find((c) => c.type === 'Degraded')!.message, /Secret op\/nope not found/);
    assert.equal((await kubectl(['get', 'sts', 'tls', '-n', NS])).code, 1, 'no StatefulSet while the spec cannot be honoured');
    await kubectl(['delete', 'etcdcluster', 'tls', '-n', NS]);
  });

  it('deleting the EtcdCluster garbage-collects what it owns', async () => {
    const owned = await kubectl(['get', 'sts,svc,cm,pdb', '-n', NS, '-l', 'app.kubernetes.io/instance=main', '-o', 'name']);
    assert.deepEqual(owned.stdout.trim().split('\n').sort(), [
      'configmap/main-bootstrap',
      'poddisruptionbudget.policy/main',
      'service/main',
      'service/main-client',
      'statefulset.apps/main',
    ]);
    assert.equal((await kubectl(['delete', 'etcdcluster', 'main', '-n', NS])).code, 0);
    await eventually(
      'the StatefulSet, Services, ConfigMap and PDB to be collected',
      async () => {
        const left = await kubectl(['get', 'sts,svc,cm,pdb', '-n', NS, '-l', 'app.kubernetes.io/instance=main', '-o', 'name']);
        return left.code === 0 && left.stdout.trim() === '' ? true : undefined;
      },
      90_000,
    );
    // the default pvcRetentionPolicy, Retain, keeps the members' data
    const pvcs = await kubectl(['get', 'pvc', '-n', NS, '-l', 'app.kubernetes.io/instance=main', '-o', 'name']);
    assert.equal(pvcs.stdout.trim().split('\n').length, 3, pvcs.stdout);
  });

  it('a cluster re-created over the claims its predecessor left is refused, unless it adopts them (then it has their data)', async () => {
    const yaml = (extra: string): string => `apiVersion: etcdts.dev/v1alpha1\nkind: EtcdCluster\nmetadata: {name: main, namespace: ${NS}}\nspec: {version: "0.1.0", replicas: 3, storage: {size: 1Gi}${extra}}\n`;
    assert.equal((await kubectl(['apply', '-f', '-'], yaml(''))).code, 0);
    const s = await eventually('Degraded for the old claims', async () => {
      const x = await status('main');
      return x.conditions?.find((c) => c.type === 'Degraded' && c.reason === 'ClaimsExist') ? x : undefined;
    });
    assert.match(s.conditions!.find((c) => c.type === 'Degraded')!.message, /claims data-main-0, data-main-1, data-main-2 of an earlier cluster of this name exist/);
    assert.equal((await kubectl(['get', 'sts', 'main', '-n', NS])).code, 1, 'no StatefulSet on claims with old data');
    assert.equal((await kubectl(['apply', '-f', '-'], yaml(', adoptExistingClaims: true'))).code, 0);
    await settled('main', 3);
    const ip = (await podIPs('main'))[0]!;
    const got = await etcdctl(`${ip}:2379`, ['get', 'hello', '--print-value-only']);
    assert.equal(got.stdout, 'operator\n', `the adopted claims bring the earlier cluster's keys: ${got.stderr}`);
    await kubectl(['delete', 'etcdcluster', 'main', '-n', NS]);
  });
});
