// The `etcd3` npm client over TLS: leases (grant, keep-alive, keys that go with the lease, revoke,
// expiry), its lock recipe and its election recipe, against etcd-node and a real etcd side by side. The
// same script must give the same transcript (lease ids are the server's own and are not printed).
//
//   node --import tsx --test test/compat/etcd3-lease.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { makePki } from '../support/pki.js';
import { startServer, skipUnless, type RunningServer } from '../support/servers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function script(url: string, ca: Buffer): Promise<string[]> {
  const out: string[] = [];
  const client = new Etcd3({ hosts: url, credentials: { rootCertificate: ca } });
  try {
    // a lease kept alive by the client: its keys stay, TimeToLive-style checks through the KV
    const lease = client.lease(3);
    await lease.grant();
    await lease.put('ls/a').value('1');
    await lease.put('ls/b').value('2');
    const once = await lease.keepaliveOnce();
    out.push(`keepalive once: ttl ${once.TTL}`);
    let kept = 0;
    lease.on('keepaliveSucceeded', () => kept++);
    await sleep(4500); // longer than the TTL: only the keep-alives keep the keys
    out.push(`kept alive: ${kept > 0}, keys ${JSON.stringify(await client.getAll().prefix('ls/').keys())}`);
    await lease.revoke();
    out.push(`after revoke: ${JSON.stringify(await client.getAll().prefix('ls/').keys())}, revoked() ${lease.revoked()}`);

    // a lease nobody keeps alive: its keys go when it expires, and the client reports it lost
    const short = client.lease(2, { autoKeepAlive: false });
    await short.grant();
    await short.put('ls/short').value('x');
    await sleep(3500);
    out.push(`after expiry: ${JSON.stringify(await client.getAll().prefix('ls/').keys())}`);
    const lost = await short.keepaliveOnce().then(
      () => 'keepalive succeeded',
      (e: Error) => `keepalive failed: ${e.constructor.name} ${e.message.replace(/\d{6,}/, '<id>')}`,
    );
    out.push(lost);
    short.release();

    // the lock recipe: a second acquire fails while the first holds the lock, then succeeds
    const first = client.lock('rsrc').ttl(5);
    await first.acquire();
    out.push(`lock held: ${JSON.stringify(await client.getAll().prefix('rsrc').keys()).replace(/[0-9a-f]{8,}/g, '<id>')}`);
    const second = await client
      .lock('rsrc')
      .ttl(5)
      .acquire()
      .then(
        () => 'second acquired',
        (e: Error) => `second refused: ${e.constructor.name}`,
      );
    out.push(second);
    await first.release();
    const third = client.lock('rsrc').ttl(5);
    await third.acquire();
    out.push('third acquired after release');
    await third.release();
    out.push(`lock keys left: ${(await client.getAll().prefix('rsrc').keys()).length}`);

    // the election recipe: campaign, observe, proclaim, a second candidate takes over on resign
    const election = client.election('elc', 5);
    const observer = await election.observe();
    const seen: string[] = [];
    observer.on('change', (v) => seen.push(String(v)));
    await sleep(300); // the observer's watch is in place before anyone campaigns
    const alice = election.campaign('alice');
    await alice.wait();
    out.push(`leader: ${String(await election.leader())}`);
    await alice.proclaim('alice-2');
    const bob = election.campaign('bob');
    let bobElected = false;
    bob.on('elected', () => {
      bobElected = true;
    });
    await sleep(300);
    out.push(`bob elected before resign: ${bobElected}`);
    await alice.resign();
    await bob.wait();
    out.push(`leader after resign: ${String(await election.leader())}`);
    await sleep(300);
    out.push(`observed: ${seen.join(' -> ')}`);
    await bob.resign();
    await observer.cancel();
    return out;
  } finally {
    client.close();
  }
}

describe('the etcd3 client over TLS: leases, lock and election, etcd-node as etcd', skipUnless('etcd', 'etcdctl', 'openssl'), () => {
  const pki = mkdtempSync(join(tmpdir(), 'etcd-ts-pki-'));
  const p = (f: string): string => join(pki, f);
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  before(async () => {
    makePki(pki, []);
    const tls = { serverArgs: ['--cert-file', p('server.crt'), '--key-file', p('server.key')], etcdctlArgs: ['--cacert', p('ca.crt')] };
    [node, etcd] = await Promise.all([startServer({ kind: 'node', tls }), startServer({ kind: 'etcd', tls })]);
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
    rmSync(pki, { recursive: true, force: true });
  });

  it('the same script gives the same transcript', async () => {
    const ca = readFileSync(p('ca.crt'));
    assert.match(node!.clientUrl, /^https:/);
    const [got, want] = await Promise.all([script(node!.clientUrl, ca), script(etcd!.clientUrl, ca)]);
    assert.ok(want.includes('after expiry: []'), `the reference expired the lease:\n${want.join('\n')}`);
    if (process.env['SHOW']) console.log(want.join('\n'));
    assert.deepEqual(got, want);
  });
});
