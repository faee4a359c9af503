// Where etcd 3.6 answers differently from 3.4 (Debian's, the reference of most compat suites), etcd-node
// answers as 3.6 does, side by side with a real etcd 3.6 (the release scripts/build-tools.sh builds):
//   - auth on: which calls need a user at all and which need the root role (3.6 checks Compact,
//     MoveLeader and every maintenance call; an anonymous caller is refused even Status, Alarm,
//     MemberList and the lease calls), each refusal with its gRPC code and text;
//   - an Alarm answer carries the response header; the gateway's Defragment answer;
//   - /metrics: every metric name etcd 3.6 exports is exported, but for the listed ones etcd-node has
//     nothing to describe with (each says why);
//   - SIGTERM with a watch stream open: the stream is ended and the member exits promptly.
//
//   npm run build && node --import tsx --test test/compat/parity-36.test.ts
// COMPAT_SELF_CHECK=1 runs a second etcd 3.6 in etcd-node's place.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Permission_Type } from '../../etcd-node/src/gen/authpb/auth.js';
import {
  AlarmRequest_AlarmAction,
  type AlarmResponse,
  type AuthenticateResponse,
  type DefragmentResponse,
  type LeaseGrantResponse,
  type StatusResponse,
  AuthRoleGrantPermissionRequest,
  AuthUserAddRequest,
  CompactionRequest,
  DeleteRangeRequest,
  TxnRequest,
  LeaseGrantRequest,
  PutRequest,
  RangeRequest,
  AlarmType,
  AuthClient,
  ClusterClient,
  KVClient,
  LeaseClient,
  MaintenanceClient,
  WatchClient,
  type WatchResponse,
} from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import { etcdRelease } from '../support/etcd-tools.js';
import { selfCheck, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const etcd36 = etcdRelease('3.6').path('etcd');
const skip =
  skipUnless('etcd', 'etcdctl').skip ??
  (!existsSync(etcd36) && !inCI ? `skipped: ${etcd36} is missing (build it with \`bash scripts/build-tools.sh etcd\`)` : undefined);

const startPair = async (extraArgs: string[] = []): Promise<[RunningServer, RunningServer]> => {
  if (!existsSync(etcd36)) throw new Error(`${etcd36} is missing (CI=true: CI must run \`bash scripts/build-tools.sh etcd\`)`);
  const node = selfCheck ? startServer({ kind: 'etcd', etcdBinary: etcd36, extraArgs }) : startServer({ kind: 'node', extraArgs });
  return Promise.all([node, startServer({ kind: 'etcd', etcdBinary: etcd36, extraArgs })]);
};

const grpcTarget = (s: RunningServer): string => s.endpoint.replace(/^https?:\/\//, '');

/** A unary gRPC call as a promise: `call<Res>((cb) => client.method(req, md, cb))`. */
function call<Res = unknown>(start: (cb: (e: ServiceError | null, r?: Res) => void) => unknown): Promise<Res> {
  return new Promise((res, rej) => {
    start((e, r) => (e ? rej(e) : res(r as Res)));
  });
}

/** `OK` or `<code> <details>`: what a client can tell of an answer. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    const e = err as ServiceError;
    return `${e.code} ${e.details}`;
  }
}

class Clients {
  readonly kv: KVClient;
  readonly lease: LeaseClient;
  readonly cluster: ClusterClient;
  readonly maint: MaintenanceClient;
  readonly auth: AuthClient;
  readonly watch: WatchClient;
  constructor(readonly server: RunningServer) {
    const t = grpcTarget(server);
    const c = credentials.createInsecure();
    this.kv = new KVClient(t, c);
    this.lease = new LeaseClient(t, c);
    this.cluster = new ClusterClient(t, c);
    this.maint = new MaintenanceClient(t, c);
    this.auth = new AuthClient(t, c);
    this.watch = new WatchClient(t, c);
  }
  close(): void {
    for (const c of [this.kv, this.lease, this.cluster, this.maint, this.auth, this.watch]) c.close();
  }
}

function metadata(token?: string): Metadata {
  const md = new Metadata();
  if (token !== undefined) md.set('token', token);
  return md;
}

async function token(c: Clients, name: string, password: string): Promise<string> {
  const r = await call<AuthenticateResponse>((cb) => c.auth.authenticate({ name, password }, new Metadata(), cb));
  return r.token;
}

/** A keep-alive stream's first answer (or its error), for one lease. */
function keepAliveOnce(c: Clients, id: bigint, md: Metadata): Promise<unknown> {
  return new Promise((res, rej) => {
    const s = c.lease.leaseKeepAlive(md);
    s.on('data', (r) => {
      s.cancel();
      res(r);
    });
    s.on('error', (e: ServiceError) => (e.code === status.CANCELLED ? undefined : rej(e)));
    s.write({ ID: id });
  });
}

/** A snapshot stream's first chunk (or its error). */
function snapshotStart(c: Clients, md: Metadata): Promise<unknown> {
  return new Promise((res, rej) => {
    const s = c.maint.snapshot({}, md);
    s.on('data', (r) => {
      s.cancel();
      res(r);
    });
    s.on('error', (e: ServiceError) => (e.code === status.CANCELLED ? undefined : rej(e)));
  });
}

/**
 * Sets up auth (root, and u1 with readwrite on prefix "a"), then asks every guarded call as u1 and as
 * nobody: the outcomes, one line per call.
 */
async function authMatrix(s: RunningServer): Promise<string[]> {
  const c = new Clients(s);
  try {
    const none = new Metadata();
    const a = c.auth;
    await call((cb) => a.userAdd(AuthUserAddRequest.fromPartial({ name: 'root', password: 'rootpw' }), none, cb));
    await call((cb) => a.userGrantRole({ user: 'root', role: 'root' }, none, cb));
    await call((cb) => a.userAdd(AuthUserAddRequest.fromPartial({ name: 'u1', password: 'pw1' }), none, cb));
    await call((cb) => a.roleAdd({ name: 'r1' }, none, cb));
    await call((cb) => a.roleGrantPermission(AuthRoleGrantPermissionRequest.fromPartial({ name: 'r1', perm: { permType: Permission_Type.READWRITE, key: Buffer.from('a'), rangeEnd: Buffer.from('b') } }), none, cb));
    await call((cb) => a.userGrantRole({ user: 'u1', role: 'r1' }, none, cb));
    await call((cb) => a.authEnable({}, none, cb));
    const root = metadata(await token(c, 'root', 'rootpw'));
    await call((cb) => c.kv.put(PutRequest.fromPartial({ key: Buffer.from('a1'), value: Buffer.from('x') }), root, cb));
    const lines: string[] = [];
    for (const [who, md] of [['u1', metadata(await token(c, 'u1', 'pw1'))], ['nobody', none]] as const) {
      const lease = await call<LeaseGrantResponse>((cb) => c.lease.leaseGrant(LeaseGrantRequest.fromPartial({ TTL: 600n }), root, cb));
      const id = lease.ID;
      const status = await call<StatusResponse>((cb) => c.maint.status({}, root, cb));
      const asks: Array<[string, () => Promise<unknown>]> = [
        ['Range a1', () => call((cb) => c.kv.range(RangeRequest.fromPartial({ key: Buffer.from('a1') }), md, cb))],
        ['Compact', () => call((cb) => c.kv.compact(CompactionRequest.fromPartial({ revision: 1n }), md, cb))],
        ['LeaseGrant', () => call((cb) => c.lease.leaseGrant(LeaseGrantRequest.fromPartial({ TTL: 60n }), md, cb))],
        ['LeaseTimeToLive', () => call((cb) => c.lease.leaseTimeToLive({ ID: id, keys: false }, md, cb))],
        ['LeaseLeases', () => call((cb) => c.lease.leaseLeases({}, md, cb))],
        ['LeaseKeepAlive', () => keepAliveOnce(c, id, md)],
        ['MemberList', () => call((cb) => c.cluster.memberList({ linearizable: false }, md, cb))],
        ['Status', () => call((cb) => c.maint.status({}, md, cb))],
        ['Alarm GET', () => call((cb) => c.maint.alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, md, cb))],
        ['Alarm DEACTIVATE', () => call((cb) => c.maint.alarm({ action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: status.header!.memberId, alarm: AlarmType.NOSPACE }, md, cb))],
        ['Hash', () => call((cb) => c.maint.hash({}, md, cb))],
        ['HashKV', () => call((cb) => c.maint.hashKv({ revision: 0n }, md, cb))],
        ['Defragment', () => call((cb) => c.maint.defragment({}, md, cb))],
        ['MoveLeader', () => call((cb) => c.maint.moveLeader({ targetID: status.header!.memberId }, md, cb))],
        ['Snapshot', () => snapshotStart(c, md)],
        ['LeaseRevoke', () => call((cb) => c.lease.leaseRevoke({ ID: id }, md, cb))],
      ];
      for (const [name, ask] of asks) lines.push(`${who} ${name}: ${await outcome(ask())}`);
    }
    return lines;
  } finally {
    c.close();
  }
}

describe('etcd-node answers as etcd 3.6 where 3.6 differs from 3.4', { skip }, () => {
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  before(async () => {
    [node, etcd] = await startPair();
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
  });

  it('an Alarm answer carries the response header; the gateway answers Defragment with {}', async () => {
    const shape = async (s: RunningServer): Promise<string[]> => {
      const c = new Clients(s);
      try {
        const r = await call<AlarmResponse>((cb) => c.maint.alarm({ action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, new Metadata(), cb));
        const status = await call<StatusResponse>((cb) => c.maint.status({}, new Metadata(), cb));
        const h = r.header;
        const grpcDefrag = await call<DefragmentResponse>((cb) => c.maint.defragment({}, new Metadata(), cb));
        const defrag = await fetch(`${s.clientUrl}/v3/maintenance/defragment`, { method: 'POST', body: '{}' });
        return [
          `header: ${h === undefined ? 'none' : 'present'}`,
          `member id is the member's: ${h?.memberId === status.header?.memberId}`,
          `cluster id is the cluster's: ${h?.clusterId === status.header?.clusterId}`,
          `revision is current: ${h?.revision === status.header?.revision}`,
          `raft term: ${h?.raftTerm === status.header?.raftTerm}`,
          `alarms: ${r.alarms.length}`,
          `gRPC defragment header: ${grpcDefrag.header === undefined ? 'none' : 'present'}`,
          `defragment: ${defrag.status} ${await defrag.text()}`,
        ];
      } finally {
        c.close();
      }
    };
    const want = await shape(etcd!);
    assert.equal(want[0], 'header: present', 'etcd 3.6 sends a header (the premise of this case)');
    assert.deepEqual(await shape(node!), want);
  });

  it('a token that is not one, while auth is off: what each call answers', async () => {
    const answers = async (s: RunningServer): Promise<string[]> => {
      const c = new Clients(s);
      try {
        const lines: string[] = [];
        for (const token of ['garbage', 'abcdefghijklmnop.1']) {
          const md = metadata(token);
          lines.push(`${token} Range: ${await outcome(call((cb) => c.kv.range(RangeRequest.fromPartial({ key: Buffer.from('a') }), md, cb)))}`);
          lines.push(`${token} Hash: ${await outcome(call((cb) => c.maint.hash({}, md, cb)))}`);
          lines.push(`${token} Status: ${await outcome(call((cb) => c.maint.status({}, md, cb)))}`);
          lines.push(`${token} MemberList: ${await outcome(call((cb) => c.cluster.memberList({ linearizable: false }, md, cb)))}`);
          lines.push(`${token} LeaseLeases: ${await outcome(call((cb) => c.lease.leaseLeases({}, md, cb)))}`);
        }
        return lines;
      } finally {
        c.close();
      }
    };
    const theirs = await answers(etcd!);
    console.log(theirs.join('\n'));
    assert.deepEqual(await answers(node!), theirs);
  });

  it('/metrics: every metric name etcd 3.6 exports is there, but for what etcd-node does not have', async () => {
    const names = async (s: RunningServer): Promise<Set<string>> => {
      const text = await (await fetch(`${s.clientUrl}/metrics`)).text();
      return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    };
    const [ours, theirs] = await Promise.all([names(node!), names(etcd!)]);
    const missing = [...theirs].filter((n) => !ours.has(n) && !NOT_EXPORTED.some(([re]) => re.test(n))).sort();
    assert.deepEqual(missing, [], `etcd 3.6 exports these, etcd-node does not:\n${missing.join('\n')}`);
    // an exemption that matches nothing etcd exports is stale
    for (const [re, why] of NOT_EXPORTED) assert.ok([...theirs].some((n) => re.test(n)), `exemption ${re} (${why}) matches no etcd 3.6 metric`);
    if (!selfCheck) for (const n of ['etcd_server_is_learner', 'etcd_mvcc_put_total', 'etcd_mvcc_delete_total', 'grpc_server_handled_total']) assert.ok(ours.has(n), n);
  });

  it('/metrics: the counters move as etcd 3.6\'s do for the same requests', async () => {
    const SERIES = [
      'etcd_mvcc_put_total',
      'etcd_mvcc_delete_total',
      'etcd_mvcc_txn_total',
      'grpc_server_started_total{grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"}',
      'grpc_server_handled_total{grpc_code="OK",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"}',
      'grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="Put",grpc_service="etcdserverpb.KV",grpc_type="unary"}',
      'grpc_server_msg_received_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"}',
      'etcd_server_is_learner',
    ];
    const read = async (s: RunningServer): Promise<Map<string, number>> => {
      const text = await (await fetch(`${s.clientUrl}/metrics`)).text();
      const out = new Map<string, number>();
      for (const m of text.matchAll(/^(\w+)(\{[^}]*\})? (\S+)$/gm)) {
        // labels in name order, as this test writes them
        const labels = m[2] ? `{${m[2].slice(1, -1).split(',').sort().join(',')}}` : '';
        out.set(`${m[1]}${labels}`, Number(m[3]));
      }
      return out;
    };
    const deltas = async (s: RunningServer): Promise<string[]> => {
      const before = await read(s);
      const c = new Clients(s);
      try {
        const md = new Metadata();
        for (let i = 0; i < 5; i++) await call((cb) => c.kv.put(PutRequest.fromPartial({ key: Buffer.from(`m${i}`), value: Buffer.from('v') }), md, cb));
        await outcome(call((cb) => c.kv.put(PutRequest.fromPartial({ key: Buffer.alloc(0), value: Buffer.from('v') }), md, cb)));
        await call((cb) => c.kv.range(RangeRequest.fromPartial({ key: Buffer.from('m0') }), md, cb));
        await call((cb) => c.kv.deleteRange(DeleteRangeRequest.fromPartial({ key: Buffer.from('m0'), rangeEnd: Buffer.from('m3') }), md, cb));
        const op = (k: string) => ({ requestPut: PutRequest.fromPartial({ key: Buffer.from(k), value: Buffer.from('t') }) });
        await call((cb) => c.kv.txn(TxnRequest.fromPartial({ success: [op('t1'), op('t2')] }), md, cb));
      } finally {
        c.close();
      }
      const after = await read(s);
      return SERIES.map((k) => `${k} +${(after.get(k) ?? NaN) - (before.get(k) ?? 0)}`);
    };
    const [ours, theirs] = await Promise.all([deltas(node!), deltas(etcd!)]);
    console.log(theirs.join('\n'));
    assert.ok(theirs.includes('etcd_mvcc_put_total +7'), 'etcd counts the 5 puts and the txn\'s 2 (the premise)');
    assert.deepEqual(ours, theirs);
  });

  it('SIGTERM while a watch stream is open: the stream ends and the member exits promptly', async () => {
    const [n2, e2] = await startPair();
    try {
      const stop = async (s: RunningServer): Promise<string> => {
        const c = new Clients(s);
        const stream = c.watch.watch();
        const ended = new Promise<string>((res) => {
          stream.on('error', (e: ServiceError) => res(`error ${e.code}`));
          stream.on('end', () => res('end without status'));
        });
        await new Promise<void>((res) => {
          stream.on('data', (r: WatchResponse) => r.created && res());
          stream.write({ createRequest: { key: Buffer.from('w'), rangeEnd: Buffer.alloc(0), startRevision: 0n, progressNotify: false, filters: [], prevKv: false, watchId: 0n, fragment: false } });
        });
        const t0 = Date.now();
        const exited = s.kill('SIGTERM').then(() => Date.now() - t0);
        // etcd 3.6 takes ~7 s here (its graceful stop's wait), etcd-node ~2 s; 30 s means "does not hang"
        const within = await Promise.race([exited, new Promise<number>((res) => setTimeout(() => res(-1), 30_000))]);
        const how = await Promise.race([ended, new Promise<string>((res) => setTimeout(() => res('still open'), 2_000))]);
        c.close();
        console.log(`${s.binary}: exited after ${within} ms; watch stream: ${how}`);
        return `${within >= 0 ? 'exited within 30 s' : 'still running after 30 s'}; stream: ${how}`;
      };
      const [ours, theirs] = await Promise.all([stop(n2), stop(e2)]);
      // the client sees its connection dropped: UNAVAILABLE, so it moves to another member
      assert.equal(theirs, 'exited within 30 s; stream: error 14');
      assert.equal(ours, theirs);
    } finally {
      await Promise.all([n2.stop(), e2.stop()]);
    }
  });

  // last: auth stays on afterwards
  it('auth on: which calls a user without the root role, and a caller without a user, may make', async () => {
    const [ours, theirs] = await Promise.all([authMatrix(node!), authMatrix(etcd!)]);
    console.log(theirs.join('\n'));
    // 3.6's rules, said here so a change in etcd shows as a change of premise
    assert.ok(theirs.includes('nobody Status: 3 etcdserver: user name is empty'), theirs.join('\n'));
    assert.ok(theirs.includes('u1 Compact: 7 etcdserver: permission denied'), theirs.join('\n'));
    assert.deepEqual(ours, theirs);
  });
});

/** etcd 3.6 metric families etcd-node does not export, and why (nothing of its own they could describe). */
const NOT_EXPORTED: ReadonlyArray<readonly [RegExp, string]> = [
  [/^go_/, "Go runtime metrics: etcd-node exports Node's (nodejs_*, process_*)"],
  [/^process_/, 'prom-client exports its own process_* set; Go has a few more'],
  [/^promhttp_/, "Go's Prometheus handler's own counters"],
  [/^os_fd_/, "etcd's file-descriptor gauges (process_open_fds has the same)"],
  [/^etcd_server_go_version$/, 'no Go'],
  [/^etcd_debugging_/, "etcd's debugging family (unstable names by etcd's own word), kept only where dashboards use them"],
  [/^etcd_grpc_proxy_/, "etcd's gRPC proxy (`etcd grpc-proxy`): etcd-node has none"],
  [/^etcd_server_feature_enabled$/, 'feature gates: etcd-node has none (--feature-gates is accepted without effect, README flag table)'],
  [/^etcd_server_slow_read_indexes_total$/, "a read index etcd retries because the leader's answer lagged: etcd-node's read barrier takes each answer once (failures count in etcd_server_read_indexes_failed_total)"],
  [/^etcd_mvcc_db_open_read_transactions$/, "bbolt's long-lived read transactions: etcd-node's lmdb reads open none that outlive a call"],
  [/^etcd_snap_(db_)?fsync_duration_seconds$/, 'etcd fsyncs a received snapshot db and .snap files: etcd-node keeps no .snap files, and the received db is synced by the backend swap'],
];
