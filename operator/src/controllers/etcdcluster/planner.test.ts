// The planner's every branch, as readable scenarios: observed world in, one step out.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdClusterSpec } from '../../api/etcd-cluster.js';
import { peerURL } from '../../resources/names.js';
import { versionOfImage } from '../../resources/builders.js';
import { blockedBy } from './upgrade-backup.js';
import type { ObservedClaim } from './claim-growth.js';
import { CAUGHT_UP_REVISIONS, plan, type Observed, type ObservedMember, type ObservedPod } from './planner.js';

const cluster = { name: 'main', namespace: 'db' };
const member = (ord: number, opts: Partial<ObservedMember> = {}): ObservedMember => ({
  id: `${ord + 10}`,
  name: `main-${ord}`,
  peerURL: peerURL(cluster, ord),
  isLearner: false,
  ...opts,
});

/** A settled 3-member cluster; each case changes what it needs. */
function world(over: Partial<Observed> = {}, spec: Record<string, unknown> = {}): Observed {
  return {
    cluster,
    spec: etcdClusterSpec.parse({ version: '0.1.0', ...spec }),
    problems: [],
    servicesExist: true,
    bootstrapConfigExists: true,
    pdbExists: true,
    statefulSetReplicas: 3,
    readyPods: new Set([0, 1, 2]),
    claims: new Set([0, 1, 2]),
    members: [member(0), member(1), member(2)],
    leaderId: '10',
    ...over,
    // the PDB as it should be for these members unless the case says otherwise
    pdbMinAvailable: 'pdbMinAvailable' in over ? over.pdbMinAvailable : Math.floor((over.members ?? [member(0), member(1), member(2)]).filter((m) => !m.isLearner).length / 2) + 1,
  };
}

describe('planner', () => {
  it('a settled cluster needs nothing', () => {
    assert.deepEqual(plan(world()), { kind: 'Settled' });
  });

  it('reports problems and acts on nothing else', () => {
    const s = plan(world({ problems: ['Secret db/tls not found'], servicesExist: false }));
    assert.deepEqual(s, { kind: 'Degraded', reason: 'InvalidConfiguration', message: 'Secret db/tls not found' });
  });

  it('paused: no change', () => {
    assert.deepEqual(plan(world({ statefulSetReplicas: 1 }, { paused: true })), { kind: 'Paused' });
  });

  it('creates what the cluster needs, in order, bootstrapping every initial member together', () => {
    const empty = world({ servicesExist: false, bootstrapConfigExists: false, pdbExists: false, statefulSetReplicas: undefined, members: undefined, claims: new Set() });
    assert.deepEqual(plan(empty), { kind: 'CreateServices' });
    assert.deepEqual(plan({ ...empty, servicesExist: true }), { kind: 'CreateBootstrapConfig', initialMembers: 3 });
    assert.deepEqual(plan({ ...empty, servicesExist: true, bootstrapConfigExists: true }), { kind: 'CreateStatefulSet', replicas: 3 });
    assert.deepEqual(plan({ ...empty, servicesExist: true, bootstrapConfigExists: true, statefulSetReplicas: 3 }), { kind: 'CreatePDB' });
    assert.equal(plan({ ...empty, servicesExist: true, bootstrapConfigExists: true, statefulSetReplicas: 3, pdbExists: true }).kind, 'Wait');
  });

  it('waits for pods to be ready', () => {
    const s = plan(world({ readyPods: new Set([0, 2]) }));
    assert.equal(s.kind, 'Wait');
    assert.match(JSON.stringify(s), /ordinals 1/);
  });

  it('scales up one learner at a time: add, grow the StatefulSet, wait, promote', () => {
    const five = { replicas: 5 };
    assert.deepEqual(plan(world({}, five)), { kind: 'AddLearner', ordinal: 3 });
    const added = world({ members: [member(0), member(1), member(2), member(3, { isLearner: true, name: '' })] }, five);
    assert.deepEqual(plan(added), { kind: 'ScaleStatefulSet', replicas: 4 });
    const grown = { ...added, statefulSetReplicas: 4 };
    assert.equal(plan(grown).kind, 'Wait');
    assert.deepEqual(plan({ ...grown, readyPods: new Set([0, 1, 2, 3]) }), { kind: 'PromoteLearner', id: '13', ordinal: 3 });
    const promoted = world({ statefulSetReplicas: 4, readyPods: new Set([0, 1, 2, 3]), members: [member(0), member(1), member(2), member(3)] }, five);
    assert.deepEqual(plan(promoted), { kind: 'AddLearner', ordinal: 4 });
  });

  it('does not add a member while another is not ready', () => {
    assert.equal(plan(world({ readyPods: new Set([0, 1]) }, { replicas: 5 })).kind, 'Wait');
  });

  it('an operator restarted after MemberAdd and before growing the StatefulSet converges without a stray member', () => {
    const crashed = world({ members: [member(0), member(1), member(2), member(3, { isLearner: true, name: '' })] }, { replicas: 5 });
    assert.deepEqual(plan(crashed), { kind: 'ScaleStatefulSet', replicas: 4 });
  });

  it('scales down: leadership moves first, then the member is removed, then the StatefulSet shrinks, then the claim goes', () => {
    const five = world({ statefulSetReplicas: 5, readyPods: new Set([0, 1, 2, 3, 4]), claims: new Set([0, 1, 2, 3, 4]), members: [0, 1, 2, 3, 4].map((i) => member(i)), leaderId: '14' });
    assert.deepEqual(plan(five), { kind: 'MoveLeader', from: '14', to: '10' });
    assert.deepEqual(plan({ ...five, leaderId: '10' }), { kind: 'RemoveMember', id: '14', reason: 'scaling down to 3' });
    const removed = { ...five, leaderId: '10', members: [0, 1, 2, 3].map((i) => member(i)) };
    assert.deepEqual(plan(removed), { kind: 'ScaleStatefulSet', replicas: 4 });
    const shrunk = { ...removed, statefulSetReplicas: 4, readyPods: new Set([0, 1, 2, 3]) };
    assert.deepEqual(plan(shrunk), { kind: 'RemoveMember', id: '13', reason: 'scaling down to 3' });
    const three = world({ claims: new Set([0, 1, 2, 3, 4]) });
    assert.deepEqual(plan(three), { kind: 'DeleteClaim', ordinal: 3 });
  });

  it('waits when the leader must move and no ready voter can take it', () => {
    const s = plan(world({ statefulSetReplicas: 4, readyPods: new Set([3]), members: [0, 1, 2, 3].map((i) => member(i)), leaderId: '13' }));
    assert.equal(s.kind, 'Wait');
  });

  it('removes members no ordinal explains, and re-adds a removed ordinal as a learner', () => {
    const stray = world({ members: [member(0), member(1), member(2), { id: '99', name: 'x', peerURL: 'http://elsewhere:2380', isLearner: false }] });
    assert.equal(plan(stray).kind, 'RemoveMember');
    assert.deepEqual(plan(world({ members: [member(0), member(2)] })), { kind: 'AddLearner', ordinal: 1 });
  });

  it('a member whose data was lost is removed (leadership moved first), then re-added as a learner', () => {
    assert.deepEqual(plan(world({ lostData: new Set([1]) })), { kind: 'RemoveMember', id: '11', reason: 'the data of member 11 (ordinal 1) was lost' });
    assert.deepEqual(plan(world({ lostData: new Set([0]) })), { kind: 'MoveLeader', from: '10', to: '11' });
    assert.deepEqual(plan(world({ lostData: new Set([1]), members: [member(0), member(2)] })), { kind: 'AddLearner', ordinal: 1 });
  });

  it('waits while no member answers', () => {
    assert.equal(plan(world({ members: undefined })).kind, 'Wait');
  });

  it('the PDB keeps a quorum of the voting members there are (not of the spec\'s wish)', () => {
    const five = [0, 1, 2, 3, 4].map((i) => member(i));
    assert.deepEqual(plan(world({ members: five, statefulSetReplicas: 5, readyPods: new Set([0, 1, 2, 3, 4]), pdbMinAvailable: 2 }, { replicas: 5 })), { kind: 'UpdatePDB', minAvailable: 3 });
    assert.deepEqual(plan(world({ members: [member(0)], statefulSetReplicas: 1, readyPods: new Set([0]), claims: new Set([0]), pdbMinAvailable: 2 }, { replicas: 1 })), { kind: 'UpdatePDB', minAvailable: 1 });
    // a learner does not count until it is promoted
    assert.equal(plan(world({ members: [member(0), member(1), member(2), { ...member(3), isLearner: true }], pdbMinAvailable: 2, statefulSetReplicas: 4, readyPods: new Set([0, 1, 2]) }, { replicas: 4 })).kind, 'Wait');
  });
});

describe('versionOfImage', () => {
  it('the tag of the image a member runs; a reference without a tag or with a digest as it is', () => {
    assert.equal(versionOfImage('ghcr.io/etcd-ts/etcd-node:0.2.0'), '0.2.0');
    assert.equal(versionOfImage('localhost:5000/etcd-node'), 'localhost:5000/etcd-node');
    assert.equal(versionOfImage('etcd-node@sha256:abc'), 'etcd-node@sha256:abc');
  });
});

describe('claims of an earlier cluster', () => {
  it('are refused (Degraded naming them) unless the spec adopts them', () => {
    const w = world({ servicesExist: false, bootstrapConfigExists: false, pdbExists: false, statefulSetReplicas: undefined, members: undefined, claims: new Set([0, 1]) });
    const s = plan(w);
    assert.equal(s.kind, 'Degraded');
    assert.equal((s as { reason: string }).reason, 'ClaimsExist');
    assert.match((s as { message: string }).message, /claims data-main-0, data-main-1 of an earlier cluster/);
    assert.equal(plan({ ...w, spec: etcdClusterSpec.parse({ version: '0.1.0', adoptExistingClaims: true }) }).kind, 'CreateServices');
  });
});

describe('unreachable members', () => {
  it('the Wait says which addresses were tried and what failed', () => {
    const s = plan(world({ members: undefined, unreachable: 'tried main-0.main.db.svc:2379; 14 UNAVAILABLE: getaddrinfo ENOTFOUND main-0.main.db.svc' }));
    assert.deepEqual(s, { kind: 'Wait', reason: 'NoMemberReachable', message: 'no member answered: tried main-0.main.db.svc:2379; 14 UNAVAILABLE: getaddrinfo ENOTFOUND main-0.main.db.svc' });
  });
});

describe('roll-outs (OnDelete: the operator restarts members one at a time)', () => {
  const pod = (updated: boolean, over: Partial<ObservedPod> = {}): ObservedPod => ({ updated, ready: true, terminating: false, ageMs: 60_000, revision: 500, ...over });
  const pods = (...ps: ObservedPod[]): Map<number, ObservedPod> => new Map(ps.map((p, i) => [i, p]));

  it('a changed template is applied to the StatefulSet first, even while no member answers', () => {
    assert.deepEqual(plan(world({ templateCurrent: false })), { kind: 'UpdateStatefulSet' });
    assert.deepEqual(plan(world({ templateCurrent: false, members: undefined })), { kind: 'UpdateStatefulSet' });
    assert.equal(plan(world({ statefulSetObserved: false })).kind, 'Wait');
  });

  it('followers first, highest ordinal first; the leader last, after leadership moved to an updated member', () => {
    // leader is ordinal 0 (id 10)
    assert.deepEqual(plan(world({ pods: pods(pod(false), pod(false), pod(false)) })), { kind: 'RestartMember', ordinal: 2, id: '12', reason: 'the pod template changed; 0 of 3 members updated' });
    assert.deepEqual(plan(world({ pods: pods(pod(false), pod(false), pod(true)) })), { kind: 'RestartMember', ordinal: 1, id: '11', reason: 'the pod template changed; 1 of 3 members updated' });
    assert.deepEqual(plan(world({ pods: pods(pod(false), pod(true), pod(true)) })), { kind: 'MoveLeader', from: '10', to: '11' });
    // leadership moved to ordinal 1: the old leader is a follower now
    assert.deepEqual(plan(world({ pods: pods(pod(false), pod(true), pod(true)), leaderId: '11' })), { kind: 'RestartMember', ordinal: 0, id: '10', reason: 'the pod template changed; 2 of 3 members updated' });
    assert.deepEqual(plan(world({ pods: pods(pod(true), pod(true), pod(true)) })), { kind: 'Settled' });
  });

  it('the next member only when every member is ready again and none is stopping', () => {
    const restarted = pods(pod(false), pod(false), pod(true, { ready: false, ageMs: 2_000 }));
    assert.deepEqual(plan(world({ pods: restarted, readyPods: new Set([0, 1]) })), { kind: 'Wait', reason: 'MembersNotReady', message: 'waiting for ordinals 2 to be ready' });
    const stopping = pods(pod(false), pod(false), pod(false, { ready: false, terminating: true }));
    assert.equal(plan(world({ pods: stopping, readyPods: new Set([0, 1]) })).kind, 'Wait');
    assert.equal(plan(world({ pods: pods(pod(false), pod(false), pod(false)), leaderId: undefined })).kind, 'Wait');
  });

  it('the next member only when the restarted ones caught up with the leader (revision within CAUGHT_UP_REVISIONS)', () => {
    const behind = pods(pod(false, { revision: 5000 }), pod(false, { revision: 5000 }), pod(true, { revision: 5000 - CAUGHT_UP_REVISIONS - 1 }));
    assert.deepEqual(plan(world({ pods: behind })), {
      kind: 'Wait',
      reason: 'MemberCatchingUp',
      message: `waiting for restarted member main-2 to catch up: revision ${5000 - CAUGHT_UP_REVISIONS - 1}, the leader's 5000 (1 of 3 members updated)`,
    });
    const close = pods(pod(false, { revision: 5000 }), pod(false, { revision: 5000 }), pod(true, { revision: 5000 - CAUGHT_UP_REVISIONS }));
    assert.equal(plan(world({ pods: close })).kind, 'RestartMember');
    // not known is not caught up: the member's or the leader's report missing, with why
    const silent = pods(pod(false), pod(false), pod(true, { revision: undefined, reportError: 'Status at main-2: deadline exceeded' }));
    assert.match(JSON.stringify(plan(world({ pods: silent }))), /MemberCatchingUp.*main-2 to report its revision: Status at main-2: deadline exceeded/);
    const noLeader = pods(pod(false, { revision: undefined }), pod(false), pod(true));
    assert.match(JSON.stringify(plan(world({ pods: noLeader }))), /waiting for the leader to report its revision/);
    // before the first restart nothing is compared
    assert.equal(plan(world({ pods: pods(pod(false, { revision: undefined }), pod(false), pod(false)) })).kind, 'RestartMember');
  });

  it('a member not ready on the old template restarts at once: the new template may be its fix', () => {
    const s = plan(world({ pods: pods(pod(false), pod(false, { ready: false }), pod(false)), readyPods: new Set([0, 2]) }));
    assert.deepEqual(s, { kind: 'RestartMember', ordinal: 1, reason: 'it is not ready, on an outdated pod template' });
  });

  it('a member not ready past the progress deadline stops the roll-out: Degraded, naming it', () => {
    const stuck = pods(pod(false), pod(false), pod(true, { ready: false, ageMs: 601_000 }));
    const s = plan(world({ pods: stuck, readyPods: new Set([0, 1]) }));
    assert.equal(s.kind, 'Degraded');
    assert.equal((s as { reason: string }).reason, 'MemberNotReady');
    assert.match((s as { message: string }).message, /member pod main-2 has not been ready for 601 s since it started \(progressDeadlineSeconds 600\)/);
    // the deadline is the spec's
    assert.equal(plan(world({ pods: stuck, readyPods: new Set([0, 1]) }, { progressDeadlineSeconds: 900 })).kind, 'Wait');
    // a spec change (a new template) is still applied
    assert.deepEqual(plan(world({ pods: stuck, readyPods: new Set([0, 1]), templateCurrent: false })), { kind: 'UpdateStatefulSet' });
  });

  it('one member: it restarts as it is (nobody to hand leadership to)', () => {
    const s = plan(world({ members: [member(0)], statefulSetReplicas: 1, readyPods: new Set([0]), claims: new Set([0]), pods: pods(pod(false)) }, { replicas: 1 }));
    assert.deepEqual(s, { kind: 'RestartMember', ordinal: 0, id: '10', reason: 'the pod template changed; 0 of 1 members updated' });
  });

  it('scaling goes before the roll-out', () => {
    const s = plan(world({ pods: pods(pod(false), pod(false), pod(false)) }, { replicas: 5 }));
    assert.deepEqual(s, { kind: 'AddLearner', ordinal: 3 });
  });
});

describe('version changes', () => {
  it('a version two minors away is refused (Degraded, nothing applied); one minor away rolls out', () => {
    const s = plan(world({ templateCurrent: false, runningVersions: ['0.1.0'] }, { version: '0.3.0' }));
    assert.equal(s.kind, 'Degraded');
    assert.equal((s as { reason: string }).reason, 'VersionChangeRefused');
    assert.match((s as { message: string }).message, /0\.1\.0 → 0\.3\.0 skips a minor version/);
    assert.deepEqual(plan(world({ templateCurrent: false, runningVersions: ['0.1.0'] }, { version: '0.2.0' })), { kind: 'UpdateStatefulSet' });
    // an image reference is the user's choice: not judged
    assert.deepEqual(plan(world({ templateCurrent: false, runningVersions: ['0.1.0'] }, { image: 'registry.example/etcd-node:0.5.0' })), { kind: 'UpdateStatefulSet' });
  });

  it('a version change with EtcdBackups: each is asked for a full, the roll-out waits for it, a backup that cannot take one stops it', () => {
    const upgrade = (backups: Observed['backups'], running = ['0.1.0']) => plan(world({ templateCurrent: false, runningVersions: running, generation: 7, backups }, { version: '0.2.0' }));
    const request = 'before-0.2.0-g7';
    assert.deepEqual(upgrade([{ name: 'nightly' }, { name: 'hourly' }]), { kind: 'RequestBackup', backup: 'hourly', request });
    // an older request (an earlier upgrade) is not this one
    assert.deepEqual(upgrade([{ name: 'hourly', requested: 'before-0.1.0-g3', done: 'before-0.1.0-g3' }]), { kind: 'RequestBackup', backup: 'hourly', request });
    const waiting = upgrade([{ name: 'hourly', requested: request }]);
    assert.equal(waiting.kind, 'Wait');
    assert.equal((waiting as { reason: string }).reason, 'BackupBeforeUpgrade');
    assert.deepEqual(upgrade([{ name: 'hourly', requested: request, done: request }, { name: 'nightly' }]), { kind: 'RequestBackup', backup: 'nightly', request });
    assert.deepEqual(upgrade([{ name: 'hourly', requested: request, done: request }]), { kind: 'UpdateStatefulSet' });
    const stuck = upgrade([{ name: 'hourly', requested: request, blocked: 'StoreUnreachable: connect ECONNREFUSED' }]);
    assert.equal(stuck.kind, 'Degraded');
    assert.equal((stuck as { reason: string }).reason, 'BackupBeforeUpgradeFailed');
    assert.match((stuck as { message: string }).message, /EtcdBackup hourly cannot take the full snapshot asked before the change to 0\.2\.0 \(StoreUnreachable: connect ECONNREFUSED\).*spec\.suspend: true/);
    // no backup, a target a member already runs (mid-roll-out, or a change of options), or no pods yet: nothing to wait for
    assert.deepEqual(upgrade([]), { kind: 'UpdateStatefulSet' });
    assert.deepEqual(upgrade([{ name: 'hourly' }], ['0.1.0', '0.2.0']), { kind: 'UpdateStatefulSet' });
    assert.deepEqual(upgrade([{ name: 'hourly' }], []), { kind: 'UpdateStatefulSet' });
    // an image counts by its tag
    assert.deepEqual(plan(world({ templateCurrent: false, runningVersions: ['0.1.0'], generation: 2, backups: [{ name: 'b' }] }, { image: 'registry.example/etcd-node:0.5.0' })), { kind: 'RequestBackup', backup: 'b', request: 'before-0.5.0-g2' });
  });

  it('a larger storage.size grows each claim whose class allows it, one per step, without waiting for members; the rest are Degraded once all else is done', () => {
    const claims = (c0: Partial<ObservedClaim>, c1: Partial<ObservedClaim> = {}) =>
      new Map<number, ObservedClaim>([
        [0, { name: 'data-main-0', requested: '1Gi', storageClassName: 'fast', classAllowsExpansion: true, ...c0 }],
        [1, { name: 'data-main-1', requested: '1Gi', storageClassName: 'fast', classAllowsExpansion: true, ...c1 }],
      ]);
    const at = (claimStorage: Map<number, ObservedClaim>, over: Partial<Observed> = {}) => plan(world({ claimStorage, ...over }, { storage: { size: '2Gi', storageClassName: 'fast' } }));
    assert.deepEqual(at(claims({})), { kind: 'ExpandClaim', ordinal: 0, claim: 'data-main-0', from: '1Gi', size: '2Gi' });
    assert.deepEqual(at(claims({ requested: '2048Mi' })), { kind: 'ExpandClaim', ordinal: 1, claim: 'data-main-1', from: '1Gi', size: '2Gi' });
    assert.deepEqual(at(claims({ requested: '2Gi' }), { readyPods: new Set([0, 2]) }).kind, 'ExpandClaim', 'a member not ready does not hold a claim back');
    assert.deepEqual(at(claims({ requested: '2Gi' }, { requested: '3Gi' })), { kind: 'Settled' });
    const stuck = at(claims({ classAllowsExpansion: false }, { storageClassName: undefined, classAllowsExpansion: undefined }));
    assert.equal(stuck.kind, 'Degraded');
    assert.equal((stuck as { reason: string }).reason, 'StorageExpansionRefused');
    assert.equal(
      (stuck as { message: string }).message,
      'storage.size 2Gi: claim data-main-0 (1Gi) cannot grow: StorageClass fast does not allow volume expansion; claim data-main-1 (1Gi) cannot grow: it has no StorageClass; the members keep the claims they have (a class with allowVolumeExpansion: true grows them)',
    );
    // said last: a roll-out still runs
    const rolling = at(claims({ classAllowsExpansion: false }, { requested: '2Gi' }), { pods: new Map([0, 1, 2].map((ord): [number, ObservedPod] => [ord, { updated: ord !== 2, ready: true, terminating: false, ageMs: 60_000, revision: 500 }])) });
    assert.equal(rolling.kind, 'RestartMember');
  });

  it("an EtcdBackup's Degraded condition blocks the full only when its reason stops fulls", () => {
    assert.equal(blockedBy([{ type: 'Degraded', status: 'True', reason: 'TailCompacted', message: 'a hole' }]), undefined);
    assert.equal(blockedBy([{ type: 'Degraded', status: 'False', reason: 'AsExpected' }]), undefined);
    assert.equal(blockedBy([{ type: 'Degraded', status: 'True', reason: 'BucketNotFound', message: 'no bucket x' }]), 'BucketNotFound: no bucket x');
  });
});
