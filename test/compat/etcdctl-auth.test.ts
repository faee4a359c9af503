// etcdctl's auth commands against etcd-node and a real etcd side by side: users, roles, permissions
// (single keys, ranges, --prefix, --from-key), grants and revokes, auth enable/disable, and then a
// limited user's allowed and denied reads, writes, deletes and txns, wrong passwords, no credentials,
// maintenance calls that need the root role (where etcd 3.6 answers otherwise than 3.4, parity-36.test.ts
// compares with 3.6). Every command must print the same (test/support).
// (etcdctl 3.4 has no `auth status`: AuthStatus is checked by test/compat/etcd3-auth.test.ts.)
//
//   node --import tsx --test test/compat/etcdctl-auth.test.ts
//   COMPAT_SELF_CHECK=1 node --import tsx --test test/compat/etcdctl-auth.test.ts   (both sides real etcd)
import { after, before, describe } from 'node:test';
import { Compat, compatTest } from '../support/compare.js';
import { skipUnless } from '../support/servers.js';

const ROOT = ['--user', 'root:rootpw'];
const U1 = ['--user', 'u1:pw1'];

describe('etcdctl auth: etcd-node prints what etcd prints', skipUnless('etcd', 'etcdctl'), () => {
  let compat: Compat | undefined;
  before(async () => {
    compat = await Compat.start();
  });
  after(async () => {
    await compat?.stop();
  });
  const test = (name: string, fn: (c: Compat) => Promise<void>): void => compatTest(name, () => compat, fn);

  test('users while auth is off: add, get, list, delete, passwd', async (c) => {
    await c.same(['user', 'list'], { expectCode: 0 });
    await c.same(['user', 'add', 'root:rootpw'], { expectCode: 0 });
    await c.same(['user', 'add', 'root:other'], { expectCode: 1 }); // user name already exists
    await c.same(['user', 'add', 'u1:pw1'], { expectCode: 0 });
    await c.same(['user', 'add', 'u2', '--new-user-password=pw2'], { expectCode: 0 });
    await c.same(['user', 'add', 'u3', '--interactive=false'], { stdin: 'pw3\n', expectCode: 0 });
    await c.same(['user', 'add', 'nopw', '--no-password'], { expectCode: 0 });
    await c.same(['user', 'add', 'empty:'], { expectCode: 0 }); // an empty password is a password in 3.4
    await c.same(['user', 'list'], { expectCode: 0 });
    await c.same(['user', 'list', '-w', 'json'], { expectCode: 0 });
    await c.same(['user', 'get', 'root'], { expectCode: 0 });
    await c.same(['user', 'get', 'u1', '-w', 'json'], { expectCode: 0 });
    await c.same(['user', 'get', 'nobody'], { expectCode: 1 }); // user name not found
    await c.same(['user', 'delete', 'empty'], { expectCode: 0 });
    await c.same(['user', 'delete', 'empty'], { expectCode: 1 });
    await c.same(['user', 'passwd', 'u3', '--interactive=false'], { stdin: 'newpw3\n', expectCode: 0 });
    await c.same(['user', 'passwd', 'nobody', '--interactive=false'], { stdin: 'x\n', expectCode: 1 });
    await c.same(['user', 'list'], { expectCode: 0 });
  });

  test('roles and permissions: add, get, list, grant (key, range, --prefix, --from-key), revoke, delete', async (c) => {
    await c.same(['role', 'list'], { expectCode: 0 });
    await c.same(['role', 'add', 'r1'], { expectCode: 0 });
    await c.same(['role', 'add', 'r1'], { expectCode: 1 }); // role name already exists
    await c.same(['role', 'add', 'r2'], { expectCode: 0 });
    await c.same(['role', 'get', 'r1'], { expectCode: 0 });
    await c.same(['role', 'get', 'nope'], { expectCode: 1 }); // role name not found
    await c.same(['role', 'grant-permission', 'r1', 'read', 'a', 'b'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'r1', 'readwrite', '--prefix', 'p/'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'r1', 'write', '--from-key', 'z'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'r1', 'read', 'k1'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'r1', 'read', 'm', 'n'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'r1', 'read', 'n', 'o'], { expectCode: 0 }); // touches [m,n)
    await c.same(['role', 'get', 'r1'], { expectCode: 0 });
    await c.same(['role', 'get', 'r1', '-w', 'json'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'r1', 'write', 'k1'], { expectCode: 0 }); // same key: type replaced
    await c.same(['role', 'get', 'r1'], { expectCode: 0 });
    await c.same(['role', 'grant-permission', 'nope', 'read', 'x'], { expectCode: 1 });
    await c.same(['role', 'grant-permission', 'r1', 'bogus', 'x'], { expectCode: 128 }); // etcdctl refuses the type
    await c.same(['role', 'revoke-permission', 'r1', 'k1'], { expectCode: 0 });
    await c.same(['role', 'revoke-permission', 'r1', 'k1'], { expectCode: 1 }); // permission is not granted to the role
    await c.same(['role', 'revoke-permission', 'r1', 'a'], { expectCode: 1 }); // [a,b) is not the key a
    await c.same(['role', 'revoke-permission', 'nope', 'k1'], { expectCode: 1 });
    await c.same(['role', 'grant-permission', 'r2', 'readwrite', '--prefix', 'q/'], { expectCode: 0 });
    await c.same(['role', 'revoke-permission', 'r2', 'q/', '--prefix'], { expectCode: 0 });
    await c.same(['role', 'get', 'r2', '-w', 'json'], { expectCode: 0 });
    await c.same(['role', 'list'], { expectCode: 0 });
    await c.same(['role', 'list', '-w', 'json'], { expectCode: 0 });
  });

  test('grant and revoke roles to users; delete a role that users hold', async (c) => {
    await c.same(['user', 'grant-role', 'u1', 'r1'], { expectCode: 0 });
    await c.same(['user', 'grant-role', 'u1', 'r1'], { expectCode: 0 }); // already has it: a no-op in 3.4
    await c.same(['user', 'grant-role', 'u1', 'nope'], { expectCode: 1 }); // role name not found
    await c.same(['user', 'grant-role', 'nobody', 'r1'], { expectCode: 1 }); // user name not found
    await c.same(['user', 'grant-role', 'u2', 'r2'], { expectCode: 0 });
    await c.same(['user', 'grant-role', 'u2', 'r1'], { expectCode: 0 });
    await c.same(['user', 'get', 'u2'], { expectCode: 0 });
    await c.same(['user', 'get', 'u1', '--detail'], { expectCode: 0 });
    await c.same(['user', 'revoke-role', 'u2', 'r2'], { expectCode: 0 });
    await c.same(['user', 'revoke-role', 'u2', 'r2'], { expectCode: 1 }); // role is not granted to the user
    await c.same(['user', 'revoke-role', 'nobody', 'r2'], { expectCode: 1 });
    await c.same(['user', 'grant-role', 'u3', 'r2'], { expectCode: 0 });
    await c.same(['role', 'delete', 'r2'], { expectCode: 0 }); // and u3 loses it
    await c.same(['role', 'delete', 'r2'], { expectCode: 1 });
    await c.same(['user', 'get', 'u3'], { expectCode: 0 });
    await c.same(['role', 'list'], { expectCode: 0 });
  });

  test('auth enable: root user and role, admin-only commands', async (c) => {
    await c.same(['auth', 'disable'], { expectCode: 0 }); // already off: fine
    await c.same(['user', 'delete', 'root'], { expectCode: 0 }); // allowed while auth is off
    await c.same(['auth', 'enable'], { expectCode: 1 }); // root user does not exist
    await c.same(['user', 'add', 'root:rootpw'], { expectCode: 0 });
    // root has no root role: etcdctl creates the role and grants it, then enables
    await c.same(['auth', 'enable'], { expectCode: 0 });
    await c.same(['auth', 'enable'], { expectCode: 1 }); // now: user name is empty
    await c.same(['role', 'list'], { expectCode: 1 }); // user name is empty
    await c.same([...ROOT, 'role', 'list'], { expectCode: 0 });
    await c.same([...ROOT, 'user', 'list'], { expectCode: 0 });
    await c.same([...ROOT, 'role', 'get', 'root'], { expectCode: 0 });
    await c.same([...ROOT, 'user', 'get', 'root', '-w', 'json'], { expectCode: 0 });
    await c.same([...ROOT, 'auth', 'enable'], { expectCode: 0 }); // already on: fine
    await c.same(['--user', 'root:wrong', 'user', 'list'], { expectCode: 2 }); // authentication failed
    await c.same(['--user', 'nobody:x', 'user', 'list'], { expectCode: 2 });
    // root cannot be taken apart while auth is on
    await c.same([...ROOT, 'user', 'delete', 'root'], { expectCode: 1 }); // invalid auth management
    await c.same([...ROOT, 'role', 'delete', 'root'], { expectCode: 1 });
    await c.same([...ROOT, 'user', 'revoke-role', 'root', 'root'], { expectCode: 1 });
    // a user without the root role
    await c.same([...U1, 'user', 'list'], { expectCode: 1 }); // permission denied
    await c.same([...U1, 'role', 'list'], { expectCode: 1 });
    await c.same([...U1, 'user', 'get', 'u1'], { expectCode: 0 }); // itself: allowed
    await c.same([...U1, 'user', 'get', 'root'], { expectCode: 1 });
    await c.same([...U1, 'role', 'get', 'r1'], { expectCode: 0 }); // a role it holds: allowed
    await c.same([...U1, 'role', 'get', 'root'], { expectCode: 1 });
    await c.same([...U1, 'user', 'add', 'x:y'], { expectCode: 1 });
    await c.same([...U1, 'role', 'add', 'rx'], { expectCode: 1 });
    await c.same([...U1, 'role', 'grant-permission', 'r1', 'readwrite', '--from-key', ''], { expectCode: 1 });
    await c.same([...U1, 'user', 'grant-role', 'u1', 'root'], { expectCode: 1 });
    await c.same([...U1, 'auth', 'disable'], { expectCode: 1 });
    await c.same(['--user', 'nopw:x', 'get', 'a'], {}); // a user without password cannot authenticate
    await c.same(['--user', 'u3:pw3', 'get', 'a'], { expectCode: 2 }); // the old password
    await c.same(['--user', 'u3:newpw3', 'get', 'a'], { expectCode: 1 }); // right password, no permission
  });

  test('a limited user: allowed and denied get, put, del', async (c) => {
    for (const k of ['a1', 'ab', 'b1', 'k1', 'm1', 'n1', 'p/1', 'z1']) {
      await c.same([...ROOT, 'put', k, `v-${k}`], { expectCode: 0 });
    }
    // read [a,b), [m,n) + [n,o); readwrite p/*; write z..∞
    await c.same([...U1, 'get', 'a1'], { expectCode: 0 });
    await c.same([...U1, 'get', 'a', '--prefix'], { expectCode: 0 });
    await c.same([...U1, 'get', 'a', 'b'], { expectCode: 0 });
    await c.same([...U1, 'get', 'a', 'c'], { expectCode: 1 }); // past b
    await c.same([...U1, 'get', 'a1', 'a0'], {}); // an empty (inverted) range inside the grant
    await c.same([...U1, 'get', 'b', 'a'], {}); // an empty range outside it
    await c.same([...U1, 'get', 'b1'], { expectCode: 1 });
    await c.same([...U1, 'get', 'm', 'o', '-w', 'json'], { expectCode: 0 }); // two touching grants cover it
    await c.same([...U1, 'get', 'k1'], { expectCode: 1 }); // revoked above
    await c.same([...U1, 'get', 'p/1', '-w', 'json'], { expectCode: 0 });
    await c.same([...U1, 'get', 'p/', '--prefix', '--keys-only'], { expectCode: 0 });
    await c.same([...U1, 'get', 'z1'], { expectCode: 1 }); // write-only
    await c.same([...U1, 'get', 'z', '--from-key'], { expectCode: 1 });
    await c.same([...U1, 'get', '', '--from-key'], { expectCode: 1 });
    await c.same([...U1, 'get', '', '--prefix'], { expectCode: 1 });
    await c.same([...U1, 'put', 'a1', 'x'], { expectCode: 1 }); // read-only
    await c.same([...U1, 'put', 'p/2', 'x'], { expectCode: 0 });
    await c.same([...U1, 'put', 'p/2', 'y', '--prev-kv'], { expectCode: 0 });
    await c.same([...U1, 'put', 'z2', 'x'], { expectCode: 0 });
    await c.same([...U1, 'put', 'zz', 'x'], { expectCode: 0 });
    await c.same([...U1, 'put', 'z2', 'y', '--prev-kv'], { expectCode: 1 }); // prev_kv needs read
    await c.same([...U1, 'put', 'b1', 'x'], { expectCode: 1 });
    await c.same([...U1, 'del', 'a1'], { expectCode: 1 });
    await c.same([...U1, 'del', 'z2'], { expectCode: 0 });
    await c.same([...U1, 'del', 'zz', '--prev-kv'], { expectCode: 1 });
    await c.same([...U1, 'del', 'p/2', '--prev-kv'], { expectCode: 0 });
    await c.same([...U1, 'del', 'p/', '--prefix'], { expectCode: 0 });
    await c.same([...U1, 'del', 'z', '--from-key'], { expectCode: 0 });
    await c.same([...U1, 'del', 'y', '--from-key'], { expectCode: 1 });
    await c.same([...ROOT, 'get', '', '--from-key', '-w', 'json'], { expectCode: 0 });
  });

  test('a limited user: txn compares and both branches are checked', async (c) => {
    await c.same([...ROOT, 'put', 'p/a', '1'], { expectCode: 0 });
    await c.same([...U1, 'txn'], { stdin: '\nput p/b 2\n\n\n', expectCode: 0 });
    await c.same([...U1, 'txn'], { stdin: 'value("p/a") = "1"\n\nget p/b\n\nput zz 3\n\n', expectCode: 0 });
    await c.same([...U1, 'txn'], { stdin: 'value("p/a") = "1"\n\nget a1\n\nput z9 3\n\n', expectCode: 0 });
    await c.same([...U1, 'txn'], { stdin: 'value("p/a") = "1"\n\nput p/c 2\n\nput a1 3\n\n', expectCode: 1 }); // failure branch
    await c.same([...U1, 'txn'], { stdin: 'value("zz") = "1"\n\nput p/d 2\n\n\n', expectCode: 1 }); // compare needs read
    await c.same([...U1, 'txn'], { stdin: 'mod("p/a") > "0"\n\nget p/a\n\nget z\n\n', expectCode: 1 });
    await c.same([...U1, 'txn'], { stdin: '\n\ndel p/ --prefix\n\n', expectCode: 0 });
    await c.same([...U1, 'txn', '-w', 'json'], { stdin: 'version("p/a") > "0"\n\nget a1\nget p/a\n\n\n', expectCode: 0 });
    await c.same([...U1, 'txn'], { stdin: '\nget b1\n\n\n', expectCode: 1 });
    await c.same([...ROOT, 'get', '', '--from-key', '-w', 'json'], { expectCode: 0 });
  });

  test('credentials: wrong password, unknown user, none; maintenance needs the root role', async (c) => {
    await c.same(['--user', 'u1:bad', 'get', 'a1'], { expectCode: 2 });
    await c.same(['--user', 'nobody:x', 'put', 'p/x', 'y'], { expectCode: 2 });
    await c.same(['get', 'a1'], { expectCode: 1 }); // user name is empty
    await c.same(['put', 'p/x', 'y'], { expectCode: 1 });
    await c.same(['del', 'p/x'], { expectCode: 1 });
    await c.same(['txn'], { stdin: '\nput p/x y\n\n\n', expectCode: 1 });
    await c.same(['--user', 'u1', '--password', 'pw1', 'get', 'a1'], { expectCode: 0 });
    // maintenance: a user may ask Status, Alarm and MemberList; Hash(KV), Defragment, Snapshot need
    // root. Refusals of those, and of Compact, are etcd 3.6's (its own error texts; Compact needs root):
    // test/compat/parity-36.test.ts compares them with a real etcd 3.6.
    await c.same([...U1, 'endpoint', 'status'], { expectCode: 0 });
    await c.same([...U1, 'alarm', 'list'], { expectCode: 0 });
    await c.same([...U1, 'member', 'list'], { expectCode: 0 });
    await c.same([...ROOT, 'endpoint', 'hashkv'], { expectCode: 0 });
    await c.same([...ROOT, 'defrag'], { expectCode: 0 });
    await c.same([...U1, 'endpoint', 'health'], { expectCode: 0 }); // permission denied counts as healthy
    await c.same(['endpoint', 'health'], { expectCode: 1 }); // user name is empty does not
    await c.same([...ROOT, 'compaction', '2'], { expectCode: 0 });
  });

  test('a limited user and leases: revoke needs write on every key the lease holds', async (c) => {
    // (after the hashkv checks: the keys now hold server-chosen lease ids, which differ per side)
    const id = await c.grantLease(600, U1);
    await c.same((s) => [...U1, 'put', '--lease', id.get(s)!, 'p/l', 'x'], { expectCode: 0 });
    await c.same((s) => [...ROOT, 'put', '--lease', id.get(s)!, 'a2', 'x'], { expectCode: 0 }); // read-only for u1
    await c.same((s) => [...U1, 'lease', 'revoke', id.get(s)!], { expectCode: 1, stderrUnordered: true });
    await c.same((s) => [...U1, 'lease', 'keep-alive', '--once', id.get(s)!], { expectCode: 0 });
    await c.same((s) => [...ROOT, 'lease', 'revoke', id.get(s)!], { expectCode: 0 });
    await c.same([...ROOT, 'get', 'a2'], { expectCode: 0 });
  });

  test('changes take effect at once: revoke, passwd, revoke-role, delete user, disable', async (c) => {
    await c.same([...ROOT, 'role', 'revoke-permission', 'r1', 'p/', '--prefix'], { expectCode: 0 });
    await c.same([...U1, 'put', 'p/x', 'y'], { expectCode: 1 });
    await c.same([...ROOT, 'role', 'grant-permission', 'r1', 'write', 'p/', 'p0'], { expectCode: 0 });
    await c.same([...U1, 'put', 'p/x', 'y'], { expectCode: 0 });
    await c.same([...ROOT, 'user', 'passwd', 'u1', '--interactive=false'], { stdin: 'pw1b\n', expectCode: 0 });
    await c.same([...U1, 'get', 'a1'], { expectCode: 2 });
    await c.same(['--user', 'u1:pw1b', 'get', 'a1'], { expectCode: 0 });
    await c.same([...ROOT, 'user', 'revoke-role', 'u1', 'r1'], { expectCode: 0 });
    await c.same(['--user', 'u1:pw1b', 'get', 'a1'], { expectCode: 1 });
    await c.same([...ROOT, 'user', 'grant-role', 'u2', 'root'], { expectCode: 0 }); // a second admin
    await c.same(['--user', 'u2:pw2', 'user', 'list'], { expectCode: 0 });
    await c.same(['--user', 'u2:pw2', 'user', 'delete', 'u1'], { expectCode: 0 });
    await c.same(['--user', 'u1:pw1b', 'get', 'a1'], { expectCode: 2 });
    await c.same([...ROOT, 'auth', 'disable'], { expectCode: 0 });
    await c.same(['get', 'a1'], { expectCode: 0 });
    await c.same(['user', 'list'], { expectCode: 0 });
    await c.same(['role', 'get', 'root'], { expectCode: 0 });
    await c.same(['--user', 'u2:pw2', 'get', 'a1'], { expectCode: 0 }); // auth off: credentials are ignored
    await c.same(['auth', 'enable'], { expectCode: 0 });
    await c.same(['get', 'a1'], { expectCode: 1 });
    await c.same(['--user', 'u2:pw2', 'get', 'a1', '-w', 'json'], { expectCode: 0 });
  });
});
