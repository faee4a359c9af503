// The Lease, Lock and Election services over raw gRPC, side by side: one script against etcd-node and a
// real etcd, and the transcripts (every response and every error's code and text) must be equal. Lease
// ids are chosen by the client here, so nothing but cluster id, member id and raft term differs.
// This pins down what etcdctl does not show: KeepAlive's TTL 0 for an unknown lease, TimeToLive's -1,
// the Lock and Election services that etcd serves on its client port, and their errors.
import assert from 'node:assert/strict';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import {
  KVClient,
  LeaseClient,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseLeasesResponse,
  type LeaseRevokeResponse,
  type LeaseTimeToLiveResponse,
  type RangeResponse,
  type ResponseHeader,
} from '../../etcd-node/src/gen/etcdserverpb/rpc.js';
import type { KeyValue } from '../../etcd-node/src/gen/mvccpb/kv.js';
import {
  ElectionClient,
  type CampaignResponse,
  type LeaderKey,
  type LeaderResponse,
  type ProclaimResponse,
  type ResignResponse,
} from '../../etcd-node/src/gen/v3electionpb/v3election.js';
import { LockClient, type LockResponse, type UnlockResponse } from '../../etcd-node/src/gen/v3lockpb/v3lock.js';
import { startServer, skipUnless, type RunningServer } from '../support/servers.js';

const b = (s: string): Buffer => Buffer.from(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Callback<T> = (err: ServiceError | null, res: T) => void;

/** Calls a unary method; the transcript line is `ok <what show gives>` or `error <code> <details>`. */
function call<T>(fn: (cb: Callback<T>) => void, show: (r: T) => string): Promise<string> {
  return new Promise((resolve) => {
    fn((err, res) => resolve(err ? `error ${err.code} ${err.details}` : `ok ${show(res)}`));
  });
}

const rev = (h: ResponseHeader | undefined): string => `rev=${h?.revision ?? 'none'}`;
const kvText = (kv: KeyValue | undefined): string =>
  kv ? `${kv.key.toString()}=${kv.value.toString()} c${kv.createRevision} m${kv.modRevision} v${kv.version} lease=${kv.lease}` : 'no kv';
const leaderText = (l: LeaderKey | undefined): string => (l ? `${l.name.toString()} ${l.key.toString()} rev=${l.rev} lease=${l.lease}` : 'no leader');

async function script(endpoint: string): Promise<string[]> {
  const creds = credentials.createInsecure();
  const lease = new LeaseClient(endpoint, creds);
  const kv = new KVClient(endpoint, creds);
  const lock = new LockClient(endpoint, creds);
  const election = new ElectionClient(endpoint, creds);
  const out: string[] = [];
  const note = async (label: string, p: Promise<string>): Promise<void> => {
    out.push(`${label}: ${await p}`);
  };
  const put = (key: string, value: string, id: bigint): Promise<string> =>
    call<unknown>((cb) => kv.put({ key: b(key), value: b(value), lease: id, prevKv: false, ignoreValue: false, ignoreLease: false }, cb), () => 'put');
  try {
    // ---- leases ----
    const grant = (ID: bigint, TTL: bigint): Promise<string> =>
      call<LeaseGrantResponse>((cb) => lease.leaseGrant({ ID, TTL }, cb), (r) => `${rev(r.header)} id=${r.ID} ttl=${r.TTL} error=${JSON.stringify(r.error)}`);
    await note('grant 100 ttl 60', grant(100n, 60n));
    await note('grant 100 again', grant(100n, 60n));
    await note('grant 101 ttl too large', grant(101n, 9_000_000_001n));
    await note('grant 102 ttl 1 (raised)', grant(102n, 1n));
    await note('grant 103 ttl -5 (raised)', grant(103n, -5n));
    await note('put with lease 100', put('lk/a', '1', 100n));
    await note('put with lease 100', put('lk/b', '2', 100n));
    await note('put with unknown lease', put('lk/c', '3', 999n));
    const ttl = (ID: bigint, keys: boolean): Promise<string> =>
      call<LeaseTimeToLiveResponse>(
        (cb) => lease.leaseTimeToLive({ ID, keys }, cb),
        (r) => `${rev(r.header)} id=${r.ID} ttl=${r.TTL} granted=${r.grantedTTL} keys=[${r.keys.map((k) => k.toString()).sort().join(' ')}]`,
      );
    await note('timetolive 100 keys', ttl(100n, true));
    await note('timetolive 100', ttl(100n, false));
    await note('timetolive unknown', ttl(999n, true));

    // KeepAlive: one answer per request, in order; an unknown lease is TTL 0, not an error
    const stream = lease.leaseKeepAlive();
    const kas: LeaseKeepAliveResponse[] = [];
    stream.on('data', (r: LeaseKeepAliveResponse) => kas.push(r));
    stream.on('error', () => undefined);
    for (const ID of [100n, 999n, 102n, 100n]) stream.write({ ID });
    for (let i = 0; i < 100 && kas.length < 4; i++) await sleep(20);
    stream.end();
    out.push(`keepalive: ${kas.map((r) => `${rev(r.header)} id=${r.ID} ttl=${r.TTL}`).join(' | ')}`);

    await note('leases', call<LeaseLeasesResponse>((cb) => lease.leaseLeases({}, cb), (r) => `${rev(r.header)} [${r.leases.map((l) => l.ID).join(' ')}]`));
    await note('revoke unknown', call<LeaseRevokeResponse>((cb) => lease.leaseRevoke({ ID: 999n }, cb), (r) => rev(r.header)));
    await note('revoke 103', call<LeaseRevokeResponse>((cb) => lease.leaseRevoke({ ID: 103n }, cb), (r) => rev(r.header)));

    // ---- lock ----
    await note('lock lk with unknown lease', call<LockResponse>((cb) => lock.lock({ name: b('mx'), lease: 999n }, cb), (r) => `${rev(r.header)} ${r.key.toString()}`));
    await note('lock mx with 100', call<LockResponse>((cb) => lock.lock({ name: b('mx'), lease: 100n }, cb), (r) => `${rev(r.header)} ${r.key.toString()}`));
    await note('lock mx with 100 again (same key)', call<LockResponse>((cb) => lock.lock({ name: b('mx'), lease: 100n }, cb), (r) => `${rev(r.header)} ${r.key.toString()}`));
    const order: string[] = [];
    const waiting = call<LockResponse>((cb) => lock.lock({ name: b('mx'), lease: 102n }, cb), (r) => `${rev(r.header)} ${r.key.toString()}`).then((s) => {
      order.push('second lock acquired');
      return s;
    });
    await sleep(300);
    order.push('unlock first');
    await note('unlock mx/64', call<UnlockResponse>((cb) => lock.unlock({ key: b('mx/64') }, cb), (r) => rev(r.header)));
    await note('lock mx with 102 (waited)', waiting);
    out.push(`order: ${order.join(', ')}`);
    await note('unlock mx/66', call<UnlockResponse>((cb) => lock.unlock({ key: b('mx/66') }, cb), (r) => rev(r.header)));

    // ---- election ----
    const leaderOf = (name: string): Promise<string> => call<LeaderResponse>((cb) => election.leader({ name: b(name) }, cb), (r) => `${rev(r.header)} ${kvText(r.kv)}`);
    await note('leader of nobody', leaderOf('el'));
    const observed: string[] = [];
    const obs = election.observe({ name: b('el') });
    obs.on('data', (r: LeaderResponse) => observed.push(`${rev(r.header)} ${kvText(r.kv)}`));
    obs.on('error', () => undefined);
    await sleep(200);
    let leader: LeaderKey | undefined;
    await note(
      'campaign 100 a',
      call<CampaignResponse>(
        (cb) => election.campaign({ name: b('el'), lease: 100n, value: b('a') }, cb),
        (r) => {
          leader = r.leader;
          return `${rev(r.header)} ${leaderText(r.leader)}`;
        },
      ),
    );
    assert.ok(leader, 'campaign answered a leader key');
    await note('proclaim b', call<ProclaimResponse>((cb) => election.proclaim({ leader, value: b('b') }, cb), (r) => rev(r.header)));
    await note('proclaim with a wrong rev', call<ProclaimResponse>((cb) => election.proclaim({ leader: { ...leader!, rev: 1n }, value: b('x') }, cb), (r) => rev(r.header)));
    await note('proclaim without leader', call<ProclaimResponse>((cb) => election.proclaim({ leader: undefined, value: b('x') }, cb), (r) => rev(r.header)));
    await note('leader', leaderOf('el'));
    const second = call<CampaignResponse>((cb) => election.campaign({ name: b('el'), lease: 102n, value: b('c') }, cb), (r) => `${rev(r.header)} ${leaderText(r.leader)}`);
    await sleep(300);
    await note('resign with a wrong rev', call<ResignResponse>((cb) => election.resign({ leader: { ...leader!, rev: 1n } }, cb), (r) => rev(r.header)));
    await note('resign', call<ResignResponse>((cb) => election.resign({ leader }, cb), (r) => rev(r.header)));
    await note('campaign 102 c (waited)', second);
    await note('leader', leaderOf('el'));
    await note('resign without leader', call<ResignResponse>((cb) => election.resign({ leader: undefined }, cb), (r) => rev(r.header)));
    await sleep(300);
    obs.cancel();
    out.push(...observed.map((o) => `observe: ${o}`));

    // revoking a lease deletes its keys (lk/a, lk/b, and the election key el/66) in one revision
    await note('revoke 102', call<LeaseRevokeResponse>((cb) => lease.leaseRevoke({ ID: 102n }, cb), (r) => rev(r.header)));
    await note('revoke 100', call<LeaseRevokeResponse>((cb) => lease.leaseRevoke({ ID: 100n }, cb), (r) => rev(r.header)));
    await note(
      'range all',
      call<RangeResponse>(
        (cb) =>
          kv.range(
            { key: b('\0'), rangeEnd: b('\0'), limit: 0n, revision: 0n, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: true, countOnly: false, minModRevision: 0n, maxModRevision: 0n, minCreateRevision: 0n, maxCreateRevision: 0n },
            cb,
          ),
        (r) => `${rev(r.header)} [${r.kvs.map((k) => k.key.toString()).join(' ')}]`,
      ),
    );
  } finally {
    for (const c of [lease, kv, lock, election]) c.close();
  }
  return out;
}

describe('Lease, Lock and Election over raw gRPC: etcd-node answers as etcd', skipUnless('etcd'), () => {
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  before(async () => {
    [node, etcd] = await Promise.all([startServer({ kind: 'node' }), startServer({ kind: 'etcd' })]);
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
  });

  it('the same script gives the same transcript', async () => {
    const [got, want] = await Promise.all([script(node!.endpoint), script(etcd!.endpoint)]);
    assert.ok(want.some((l) => l.startsWith('keepalive:') && l.includes('id=999 ttl=0')), `the reference answered TTL 0:\n${want.join('\n')}`);
    assert.deepEqual(got, want);
  });
});
