// Users, roles and permissions through the `etcd3` npm client (its Auth stub, its User/Role helpers,
// and a client logged in with a user name and password), run against etcd-node and a real etcd side by
// side: the same script must give the same transcript (values read, errors by class and message).
// AuthStatus is etcd 3.5's API, which Debian's etcd 3.4 lacks: it is checked on etcd-node alone.
//
//   node --import tsx --test test/compat/etcd3-auth.test.ts
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3, Range } from 'etcd3';
import { Compat } from '../support/compare.js';
import { makePki } from '../support/pki.js';
import { skipUnless } from '../support/servers.js';

/** One line per step: what the client got back, or the error it threw (class and message). */
async function step(out: string[], name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    const v = await fn();
    out.push(`${name}: ok ${v === undefined ? '' : JSON.stringify(v)}`);
  } catch (err) {
    const e = err as Error;
    out.push(`${name}: ${e.constructor.name}: ${e.message}`);
  }
}

/** The script: set up users and roles as root, enable auth, then act as each user. */
async function script(host: string, tlsCa?: Buffer): Promise<string[]> {
  const out: string[] = [];
  const tls = tlsCa ? { credentials: { rootCertificate: tlsCa } } : {};
  const admin = new Etcd3({ hosts: host, ...tls });
  const clients: Etcd3[] = [admin];
  const as = (username: string, password: string): Etcd3 => {
    const c = new Etcd3({ hosts: host, auth: { username, password }, ...tls });
    clients.push(c);
    return c;
  };
  try {
    await step(out, 'create root', () => admin.user('root').create('rootpw').then(() => undefined));
    await step(out, 'create root role', () => admin.role('root').create().then(() => undefined));
    await step(out, 'grant root', () => admin.user('root').addRole('root').then(() => undefined));
    await step(out, 'create role twice', () => admin.role('root').create().then(() => undefined));
    await step(out, 'create reader', () => admin.role('reader').create().then(() => undefined));
    await step(out, 'create writer', () => admin.role('writer').create().then(() => undefined));
    await step(out, 'grant reader', () =>
      admin.role('reader').grant({ permission: 'Read', range: Range.prefix('app/') }).then(() => undefined),
    );
    await step(out, 'grant writer', () =>
      admin
        .role('writer')
        .grant([
          { permission: 'Readwrite', range: Range.prefix('app/jobs/') },
          { permission: 'Write', key: 'app/flag' },
        ])
        .then(() => undefined),
    );
    await step(out, 'writer permissions', async () =>
      (await admin.role('writer').permissions()).map((p) => `${p.permission} ${p.range.start.toString()}..${p.range.end.toString()}`),
    );
    await step(out, 'create alice', () => admin.user('alice').create('alicepw').then(() => undefined));
    await step(out, 'create bob', () => admin.user('bob').create('bobpw').then(() => undefined));
    await step(out, 'alice reader', () => admin.user('alice').addRole('reader').then(() => undefined));
    await step(out, 'bob reader+writer', async () => {
      await admin.user('bob').addRole('reader');
      await admin.user('bob').addRole('writer');
    });
    await step(out, 'bob roles', async () => (await admin.user('bob').roles()).map((r) => r.name));
    await step(out, 'users', async () => (await admin.getUsers()).map((u) => u.name));
    await step(out, 'roles', async () => (await admin.getRoles()).map((r) => r.name));
    await step(out, 'seed', async () => {
      await admin.put('app/config').value('v1');
      await admin.put('app/jobs/1').value('j1');
      await admin.put('other').value('o');
    });
    await step(out, 'enable', () => admin.auth.authEnable().then(() => undefined));

    const root = as('root', 'rootpw');
    const alice = as('alice', 'alicepw');
    const bob = as('bob', 'bobpw');
    await step(out, 'anonymous get', () => admin.get('app/config').string());
    await step(out, 'alice get', () => alice.get('app/config').string());
    await step(out, 'alice prefix', () => alice.getAll().prefix('app/').strings());
    await step(out, 'alice get other', () => alice.get('other').string());
    await step(out, 'alice put', () => alice.put('app/config').value('v2').then(() => undefined));
    await step(out, 'bob put job', () => bob.put('app/jobs/2').value('j2').then(() => undefined));
    await step(out, 'bob put flag', () => bob.put('app/flag').value('on').then(() => undefined));
    await step(out, 'bob get flag', () => bob.get('app/flag').string());
    await step(out, 'bob delete jobs', async () => (await bob.delete().prefix('app/jobs/')).deleted);
    await step(out, 'bob delete all', async () => (await bob.delete().all()).deleted);
    await step(out, 'bob txn', async () => {
      const r = await bob.if('app/config', 'Value', '==', 'v1').then(bob.put('app/jobs/3').value('j3')).else(bob.get('app/config')).commit();
      return r.succeeded;
    });
    await step(out, 'bob txn denied', async () => {
      const r = await bob.if('app/config', 'Value', '==', 'v1').then(bob.put('other').value('x')).commit();
      return r.succeeded;
    });
    await step(out, 'alice user list', async () => (await alice.getUsers()).map((u) => u.name));
    await step(out, 'wrong password', () => as('alice', 'nope').get('app/config').string());
    await step(out, 'unknown user', () => as('mallory', 'x').get('app/config').string());
    await step(out, 'root all', async () => Object.entries(await root.getAll().prefix('').strings()).sort());
    await step(out, 'revoke bob writer', () => root.user('bob').removeRole('writer').then(() => undefined));
    await step(out, 'bob put job after revoke', () => bob.put('app/jobs/4').value('j4').then(() => undefined));
    await step(out, 'revoke again', () => root.user('bob').removeRole('writer').then(() => undefined));
    await step(out, 'delete missing user', () => root.user('nobody').delete().then(() => undefined));
    await step(out, 'delete missing role', () => root.role('nope').delete().then(() => undefined));
    await step(out, 'change alice password', () => root.user('alice').setPassword('alicepw2').then(() => undefined));
    await step(out, 'alice new password', () => as('alice', 'alicepw2').get('app/config').string());
    await step(out, 'disable', () => root.auth.authDisable().then(() => undefined));
    await step(out, 'anonymous after disable', () => admin.get('app/config').string());
  } finally {
    for (const c of clients) c.close();
  }
  return out;
}

describe('auth through the etcd3 client: etcd-node answers what etcd answers', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });

  it('users, roles, permissions, enable, and clients logged in as users', async () => {
    const c = compat;
    assert.ok(c !== undefined, 'servers did not start');
    const [node, etcd] = await Promise.all([script(c.node.server.clientUrl), script(c.etcd.server.clientUrl)]);
    // the script must exercise denials and failures, or it proves little
    assert.ok(etcd.some((l) => l.includes('EtcdPermissionDeniedError')), etcd.join('\n'));
    assert.ok(etcd.some((l) => l.includes('EtcdAuthenticationFailedError')), etcd.join('\n'));
    assert.deepEqual(node, etcd);
  });

  it('AuthStatus (etcd 3.5 API) on etcd-node: enabled flag and an auth revision that moves with changes', async () => {
    const c = compat;
    assert.ok(c !== undefined, 'servers did not start');
    const anon = new Etcd3({ hosts: c.node.server.clientUrl });
    const root = new Etcd3({ hosts: c.node.server.clientUrl, auth: { username: 'root', password: 'rootpw' } });
    try {
      const s1 = await anon.auth.authStatus(); // auth is off after the script
      assert.equal(s1.enabled, false);
      const r1 = Number(s1.authRevision);
      assert.ok(r1 > 1, `auth revision ${r1}`);
      await anon.role('extra').create();
      const s2 = await anon.auth.authStatus();
      assert.equal(Number(s2.authRevision), r1 + 1);
      await anon.auth.authEnable();
      const s3 = await root.auth.authStatus();
      assert.equal(s3.enabled, true);
      // with auth on, AuthStatus is for the root role only (as etcd 3.5)
      await assert.rejects(anon.auth.authStatus(), /user name is empty/);
      await root.auth.authDisable();
      assert.equal((await anon.auth.authStatus()).enabled, false);
    } finally {
      anon.close();
      root.close();
    }
  });

  // A bad token while auth is off: etcd 3.4 refused it (invalid auth token, and Hash the auth package's
  // unmapped error); etcd 3.6 looks at no token then, and so does etcd-node: parity-36.test.ts.
});

describe('auth through the etcd3 client over TLS: etcd-node answers what etcd answers', skipUnless('etcd', 'etcdctl', 'openssl'), () => {
  const pki = mkdtempSync(join(tmpdir(), 'etcd-ts-pki-'));
  const p = (f: string): string => join(pki, f);
  let compat: Compat | undefined;
  before(async () => {
    makePki(pki, []);
    compat = await Compat.start({
      tls: { serverArgs: ['--cert-file', p('server.crt'), '--key-file', p('server.key')], etcdctlArgs: ['--cacert', p('ca.crt')] },
    });
  });
  after(async () => {
    await compat?.stop();
    rmSync(pki, { recursive: true, force: true });
  });

  it('users, roles, permissions and logged-in clients over https', async () => {
    const c = compat;
    assert.ok(c !== undefined, 'servers did not start');
    assert.match(c.node.server.clientUrl, /^https:/);
    const ca = readFileSync(p('ca.crt'));
    const [node, etcd] = await Promise.all([script(c.node.server.clientUrl, ca), script(c.etcd.server.clientUrl, ca)]);
    assert.ok(etcd.some((l) => l.includes('EtcdPermissionDeniedError')), etcd.join('\n'));
    assert.deepEqual(node, etcd);
  });
});
