import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Permission_Type } from '../gen/authpb/auth.js';
import type { InternalRequest } from '../gen/etcdtspb/internal.js';
import { Errors } from '../server/errors.js';
import { Backend } from '../storage/backend/backend.js';
import { hashPassword, verifyPassword } from './password.js';
import { AuthStore } from './store.js';
import { SimpleTokens } from './tokens.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-ts-auth-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const dbPath = (): string => path.join(tmpRoot, `d${n++}`, 'db');

type Part = Omit<InternalRequest, 'id' | 'authHeader'>;
const ROOT_HEADER = { username: 'root', revision: 0n };

/** Applies as the apply layer does: in a batch, with an entry index. */
function apply(be: Backend, auth: AuthStore, part: Part, header = ROOT_HEADER, index = 1): unknown {
  return be.batch(() => auth.apply({ id: 0n, authHeader: { ...header, revision: BigInt(auth.revision) }, ...part }, index));
}

describe('AuthStore', () => {
  it('starts at revision 1, disabled; every change moves the revision; enable needs root with the root role', async () => {
    const be = Backend.open(dbPath());
    const auth = new AuthStore(be, { tokenTtlMs: 60_000 });
    assert.equal(auth.revision, 1);
    assert.equal(auth.isEnabled, false);
    assert.throws(() => apply(be, auth, { authEnable: {} }), (e) => e === Errors.RootUserNotExist);
    apply(be, auth, { authUserAdd: { name: 'root', password: '', hashedPassword: await hashPassword('pw'), options: undefined } });
    assert.equal(auth.revision, 2);
    assert.throws(() => apply(be, auth, { authEnable: {} }), (e) => e === Errors.RootRoleNotExist);
    apply(be, auth, { authUserGrantRole: { user: 'root', role: 'root' } });
    apply(be, auth, { authUserGrantRole: { user: 'root', role: 'root' } }); // no-op: no revision change
    assert.equal(auth.revision, 3);
    apply(be, auth, { authEnable: {} });
    assert.equal(auth.isEnabled, true);
    await be.close();
  });

  it('keeps users, roles and the enabled flag across a reopen; tokens do not survive', async () => {
    const file = dbPath();
    let be = Backend.open(file);
    let auth = new AuthStore(be, { tokenTtlMs: 60_000 });
    apply(be, auth, { authUserAdd: { name: 'root', password: '', hashedPassword: await hashPassword('pw'), options: undefined } });
    apply(be, auth, { authUserGrantRole: { user: 'root', role: 'root' } });
    apply(be, auth, { authRoleAdd: { name: 'r' } });
    apply(be, auth, {
      authRoleGrantPermission: { name: 'r', perm: { permType: Permission_Type.READ, key: Buffer.from('a'), rangeEnd: Buffer.from('b') } },
    });
    apply(be, auth, { authUserAdd: { name: 'u', password: '', hashedPassword: await hashPassword('upw'), options: undefined } });
    apply(be, auth, { authUserGrantRole: { user: 'u', role: 'r' } });
    apply(be, auth, { authEnable: {} });
    const res = apply(be, auth, { authenticate: { name: 'u', tokenPrefix: 'abcdefghijklmnop' } }, ROOT_HEADER, 42) as { token: string };
    assert.equal(res.token, 'abcdefghijklmnop.42');
    auth.noteApplied(42);
    const info = await auth.authInfoFromToken(res.token);
    assert.deepEqual(info, { username: 'u', revision: auth.revision });
    auth.checkPermission(info, 'read', Buffer.from('a1'), Buffer.alloc(0));
    assert.throws(() => auth.checkPermission(info, 'write', Buffer.from('a1'), Buffer.alloc(0)), (e) => e === Errors.PermissionDenied);
    assert.throws(() => auth.checkPermission(undefined, 'read', Buffer.from('a1'), Buffer.alloc(0)), (e) => e === Errors.UserEmpty);
    const rev = auth.revision;
    await be.close();

    be = Backend.open(file);
    auth = new AuthStore(be, { tokenTtlMs: 60_000, tokenWaitMs: 10 });
    assert.equal(auth.isEnabled, true);
    assert.equal(auth.revision, rev);
    assert.ok(await verifyPassword('upw', auth.getUser('u')!.password));
    assert.equal(await verifyPassword('wrong', auth.getUser('u')!.password), false);
    auth.checkPermission({ username: 'u', revision: rev }, 'read', Buffer.from('a'), Buffer.from('b'));
    await assert.rejects(auth.authInfoFromToken(res.token), (e) => e === Errors.InvalidAuthToken);
    await be.close();
  });

  it('a write checked at an older auth revision is refused at apply; one without identity too', async () => {
    const be = Backend.open(dbPath());
    const auth = new AuthStore(be, { tokenTtlMs: 60_000 });
    apply(be, auth, { authUserAdd: { name: 'root', password: '', hashedPassword: await hashPassword('pw'), options: undefined } });
    apply(be, auth, { authUserGrantRole: { user: 'root', role: 'root' } });
    auth.checkWriteHeader({ username: '', revision: 0n }); // auth off: nothing to check
    apply(be, auth, { authEnable: {} });
    const checkedAt = auth.revision;
    auth.checkWriteHeader({ username: 'root', revision: BigInt(checkedAt) });
    apply(be, auth, { authRoleAdd: { name: 'x' } });
    assert.throws(() => auth.checkWriteHeader({ username: 'root', revision: BigInt(checkedAt) }), (e) => e === Errors.AuthOldRevision);
    assert.throws(() => auth.checkWriteHeader({ username: '', revision: 0n }), (e) => e === Errors.UserEmpty);
    auth.checkWriteHeader(undefined); // the server's own proposals carry no header
    await be.close();
  });

  it('a token lives for the TTL after its last use', () => {
    let now = 0;
    const t = new SimpleTokens(1000, () => now);
    t.assign('x.1', 'u');
    now = 900;
    assert.equal(t.lookup('x.1'), 'u'); // extends to 1900
    now = 1800;
    assert.equal(t.lookup('x.1'), 'u');
    now = 2900;
    assert.equal(t.lookup('x.1'), undefined);
    t.assign('y.2', 'v');
    t.invalidateUser('v');
    assert.equal(t.lookup('y.2'), undefined);
  });
});
