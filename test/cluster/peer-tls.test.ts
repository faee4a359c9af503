// Members that talk TLS to each other (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file,
// --peer-client-cert-auth): the cluster forms and replicates over https peer URLs, and a peer that
// offers no client certificate is refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startCluster, type LocalCluster } from '../support/cluster.js';
import { etcdctl } from '../support/etcdctl.js';
import { makePki } from '../support/pki.js';
import { skipUnless } from '../support/servers.js';

describe('a 3-member cluster with peer TLS', skipUnless('etcdctl', 'openssl'), () => {
  const pki = mkdtempSync(join(tmpdir(), 'etcd-ts-peer-pki-'));
  let c: LocalCluster;
  before(async () => {
    makePki(pki, []);
    c = await startCluster(3, [], { peerTlsDir: pki });
  });
  after(async () => {
    await c?.stop();
    rmSync(pki, { recursive: true, force: true });
  });

  it('replicates over https peer URLs', async () => {
    const put = await etcdctl(c.members[0]!.endpoint, ['put', 'over-tls', 'yes']);
    assert.equal(put.code, 0, put.stderr);
    for (const m of c.members) {
      const r = await etcdctl(m.endpoint, ['get', 'over-tls', '--print-value-only']);
      assert.equal(r.stdout, 'yes\n');
    }
    const list = await etcdctl(c.endpoints, ['member', 'list']);
    assert.equal((list.stdout.match(/, https:\/\/127\.0\.0\.1:\d+, /g) ?? []).length, 3, list.stdout);
  });

  it('refuses a peer without a client certificate, and plain TCP', async () => {
    const [host, port] = [c.members[0]!.peerUrl.replace(/^https:\/\/|:\d+$/g, ''), Number(/:(\d+)$/.exec(c.members[0]!.peerUrl)![1])];
    // a hello (cluster id 0: about to join) and a join request: a member that accepted the connection
    // would answer with the member list
    const joinRequest = Buffer.from([0, 0, 0, 17, 0, ...new Array<number>(16).fill(0), 0, 0, 0, 1, 5]);
    const noCert = await new Promise<string>((resolve) => {
      const s = tls.connect({ host, port, rejectUnauthorized: false });
      s.on('secureConnect', () => s.write(joinRequest));
      s.on('error', (e: Error) => resolve(`error: ${e.message}`));
      s.on('close', () => resolve('closed'));
      s.on('data', () => resolve('answered'));
    });
    assert.notEqual(noCert, 'answered');
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect({ host, port }, () => s.write(joinRequest));
      s.on('error', (e: Error) => resolve(`error: ${e.message}`));
      s.on('close', () => resolve('closed'));
      s.on('data', () => resolve('answered'));
    });
    assert.notEqual(plain, 'answered');
    // and the same request with the CA's certificate is answered: the probe itself works
    const withCert = await new Promise<string>((resolve) => {
      const s = tls.connect({ host, port, checkServerIdentity: () => undefined, ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'server.crt')), key: readFileSync(join(pki, 'server.key')) });
      s.on('secureConnect', () => s.write(joinRequest));
      s.on('error', (e: Error) => resolve(`error: ${e.message}`));
      s.on('close', () => resolve('closed'));
      s.on('data', () => resolve('answered'));
    });
    assert.equal(withCert, 'answered');
  });
});
