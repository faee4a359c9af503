// Client certificates as users: with https client URLs, --client-cert-auth and auth enabled, a client
// that presents a certificate the server's CA verified, and no token, acts as the user named by the
// certificate's common name (as etcd). etcd-node and a real etcd side by side, etcdctl with
// --cacert/--cert/--key; a token (--user) wins over the certificate. Certificates come from openssl.
//
//   node --import tsx --test test/compat/etcdctl-auth-cert.test.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Compat, compatTest } from '../support/compare.js';
import { makePki } from '../support/pki.js';
import { skipUnless } from '../support/servers.js';

describe('client certificates as users: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl', 'openssl'), () => {
  let compat: Compat | undefined;
  const pki = mkdtempSync(join(tmpdir(), 'etcd-ts-pki-'));
  const p = (f: string): string => join(pki, f);
  const as = (cn: string): string[] => ['--cacert', p('ca.crt'), '--cert', p(`${cn}.crt`), '--key', p(`${cn}.key`)];
  const noCert = ['--cacert', p('ca.crt')];
  before(async () => {
    makePki(pki, ['root', 'alice', 'mallory']);
    compat = await Compat.start({
      tls: {
        serverArgs: ['--cert-file', p('server.crt'), '--key-file', p('server.key'), '--trusted-ca-file', p('ca.crt'), '--client-cert-auth'],
        etcdctlArgs: as('root'),
      },
    });
  });
  after(async () => {
    await compat?.stop();
    rmSync(pki, { recursive: true, force: true });
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  test('the common name is the user when no token is given', async (c) => {
    await c.same([...as('root'), 'user', 'add', 'root:rootpw'], { expectCode: 0 });
    await c.same([...as('root'), 'user', 'add', 'alice', '--no-password'], { expectCode: 0 });
    await c.same([...as('root'), 'role', 'add', 'app'], { expectCode: 0 });
    await c.same([...as('root'), 'role', 'grant-permission', 'app', 'readwrite', '--prefix', 'app/'], { expectCode: 0 });
    await c.same([...as('root'), 'user', 'grant-role', 'alice', 'app'], { expectCode: 0 });
    await c.same([...as('root'), 'auth', 'enable'], { expectCode: 0 });
    await c.same([...as('root'), 'user', 'list'], { expectCode: 0 }); // CN root: admin
    await c.same([...as('alice'), 'put', 'app/x', '1'], { expectCode: 0 });
    await c.same([...as('alice'), 'get', 'app/x', '-w', 'json'], { expectCode: 0 });
    await c.same([...as('alice'), 'put', 'other', '1'], { expectCode: 1 }); // permission denied
    await c.same([...as('alice'), 'user', 'list'], { expectCode: 1 });
    await c.same([...as('alice'), 'user', 'get', 'alice'], { expectCode: 0 });
    await c.same([...as('mallory'), 'get', 'app/x'], { expectCode: 1 }); // no such user: permission denied
    await c.same([...as('alice'), '--user', 'root:rootpw', 'user', 'list'], { expectCode: 0 }); // the token wins
    await c.same([...as('alice'), '--user', 'alice:x', 'get', 'app/x'], {}); // a no-password user cannot log in
    await c.same([...as('root'), 'auth', 'disable'], { expectCode: 0 });
    await c.same([...as('mallory'), 'get', 'app/x'], { expectCode: 0 }); // auth off: anyone with a valid cert
    await c.same([...noCert, 'get', 'app/x'], {}); // no certificate: the TLS handshake is refused
  });
});
