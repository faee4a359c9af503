// The auth store: users, roles, their permissions, the enabled flag and the auth revision, kept in the
// backend's `auth` database (so they survive restarts and, once Raft lands, replicate: every change is
// a log entry applied here in log order) and mirrored in memory for the checks every request makes.
//
// Two halves:
// - checks, called by the API layer (and by the apply layer for writes): who is calling (token or
//   client certificate), may they read/write these keys, are they admin (root role);
// - apply, called by the Applier inside its backend batch for the auth requests of the log.
// Semantics, errors and their order follow etcd 3.4's auth store (checked side by side by
// test/compat/etcdctl-auth.test.ts).
import { Role, User, type Permission } from '../gen/authpb/auth.js';
import type {
  AuthDisableResponse,
  AuthEnableResponse,
  AuthenticateResponse,
  AuthRoleAddResponse,
  AuthRoleDeleteResponse,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionResponse,
  AuthRoleListResponse,
  AuthRoleRevokePermissionResponse,
  AuthStatusResponse,
  AuthUserAddResponse,
  AuthUserChangePasswordResponse,
  AuthUserDeleteResponse,
  AuthUserGetResponse,
  AuthUserGrantRoleResponse,
  AuthUserListResponse,
  AuthUserRevokeRoleResponse,
} from '../gen/etcdserverpb/rpc.js';
import type { AuthHeader, InternalRequest } from '../gen/etcdtspb/internal.js';
import { Errors } from '../server/errors.js';
import type { Backend } from '../storage/backend/backend.js';
import { mergePerms, permitted, type MergedPerms, type PermKind } from './perm.js';
import { SimpleTokens, tokenIndex } from './tokens.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** Who a request comes from, once its token (or client certificate) was resolved. */
export interface AuthInfo {
  readonly username: string;
  /** the auth revision the identity was resolved at */
  readonly revision: number;
}

export type AuthResponse =
  | AuthEnableResponse
  | AuthDisableResponse
  | AuthStatusResponse
  | AuthenticateResponse
  | AuthUserAddResponse
  | AuthUserDeleteResponse
  | AuthUserGetResponse
  | AuthUserChangePasswordResponse
  | AuthUserGrantRoleResponse
  | AuthUserRevokeRoleResponse
  | AuthUserListResponse
  | AuthRoleAddResponse
  | AuthRoleDeleteResponse
  | AuthRoleGetResponse
  | AuthRoleGrantPermissionResponse
  | AuthRoleRevokePermissionResponse
  | AuthRoleListResponse;

export interface AuthStoreOptions {
  /** how long a simple token lives after its last use (--auth-token-ttl) */
  readonly tokenTtlMs: number;
  /** longest wait for the Authenticate entry a token names to be applied here */
  readonly tokenWaitMs?: number;
}

// keys in the backend's auth database
const KEY_ENABLED = Buffer.from('enabled');
const KEY_REVISION = Buffer.from('revision');
const USER_PREFIX = 'user/';
const ROLE_PREFIX = 'role/';

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export class AuthStore {
  private enabled = false;
  private rev = 0;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  /** merged permissions per user; cleared on every auth change (the revision moves with each) */
  private readonly permCache = new Map<string, MergedPerms>();
  readonly tokens: SimpleTokens;
  private appliedIndex = 0;
  private readonly indexWaiters = new Set<{ index: number; wake: () => void }>();
  private readonly tokenWaitMs: number;

  constructor(
    private readonly backend: Backend,
    opts: AuthStoreOptions,
  ) {
    this.tokens = new SimpleTokens(opts.tokenTtlMs);
    this.tokenWaitMs = opts.tokenWaitMs ?? 5000;
    this.load();
    // what the backend holds is applied: a token naming an older entry needs no wait after a restart
    this.appliedIndex = backend.consistentIndex().index;
    if (this.rev === 0) {
      // a fresh store starts at revision 1, as etcd's does
      backend.batch(() => this.commitRevision());
    }
  }

  /** The backend was replaced (a snapshot from the leader): read users, roles and settings again. */
  reload(): void {
    this.load();
    this.appliedIndex = this.backend.consistentIndex().index;
  }

  private load(): void {
    this.users.clear();
    this.roles.clear();
    this.permCache.clear();
    const db = this.backend.auth;
    this.enabled = db.get(KEY_ENABLED)?.[0] === 1;
    const r = db.get(KEY_REVISION);
    this.rev = r ? Number(r.readBigUInt64BE()) : 0;
    for (const { key, value } of db.getRange({})) {
      const k = key.toString();
      if (k.startsWith(USER_PREFIX)) this.users.set(k.slice(USER_PREFIX.length), User.decode(value));
      else if (k.startsWith(ROLE_PREFIX)) this.roles.set(k.slice(ROLE_PREFIX.length), Role.decode(value));
    }
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  get revision(): number {
    return this.rev;
  }

  // ---- identity ----

  /**
   * The user a simple token belongs to. A token names the log index of its Authenticate entry: a member
   * that has not applied it yet waits for it (bounded), as etcd does, so a client that authenticated
   * through one member can use the token on another. Unknown or expired: `invalid auth token`.
   */
  async authInfoFromToken(token: string): Promise<AuthInfo> {
    const index = tokenIndex(token);
    if (index === undefined) throw Errors.InvalidAuthToken;
    if (index > this.appliedIndex) await this.waitApplied(index);
    const user = this.tokens.lookup(token);
    if (user === undefined) throw Errors.InvalidAuthToken;
    return { username: user, revision: this.rev };
  }

  /** The identity of a verified client certificate's common name (used when no token is given). */
  authInfoFromCommonName(cn: string): AuthInfo | undefined {
    if (!this.enabled || cn === '') return undefined;
    return { username: cn, revision: this.rev };
  }

  private waitApplied(index: number): Promise<void> {
    return new Promise((resolve) => {
      const w = {
        index,
        wake: () => {
          clearTimeout(timer);
          this.indexWaiters.delete(w);
          resolve();
        },
      };
      const timer = setTimeout(w.wake, this.tokenWaitMs);
      this.indexWaiters.add(w);
    });
  }

  /** Called by the apply layer after each applied entry (token lookups may wait for an index). */
  noteApplied(index: number): void {
    if (index <= this.appliedIndex) return;
    this.appliedIndex = index;
    for (const w of this.indexWaiters) if (w.index <= index) w.wake();
  }

  // ---- checks ----

  /**
   * etcd's isOpPermitted: no identity → `user name is empty`; an identity resolved at an older auth
   * revision → `revision of auth store is old`; unknown user → `permission denied`; root role → any
   * key; otherwise the union of the user's roles' permissions must cover the range.
   */
  checkPermission(info: AuthInfo | undefined, kind: PermKind, key: Buffer, rangeEnd: Buffer): void {
    if (!this.enabled) return;
    if (info === undefined || info.revision === 0) throw Errors.UserEmpty;
    if (info.revision < this.rev) throw Errors.AuthOldRevision;
    const user = this.users.get(info.username);
    if (!user) throw Errors.PermissionDenied;
    if (user.roles.includes(ROOT_ROLE)) return;
    if (!permitted(this.mergedPerms(user), kind, key, rangeEnd)) throw Errors.PermissionDenied;
  }

  /** With auth on, the caller must be a user (etcd 3.6 asks this of lease, cluster and maintenance calls). */
  checkUser(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (info === undefined || info.username === '') throw Errors.UserEmpty;
  }

  /** etcd's IsAdminPermitted: the caller must hold the root role (anyone may while auth is off). */
  checkAdmin(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (info === undefined || info.username === '') throw Errors.UserEmpty;
    const user = this.users.get(info.username);
    if (!user) throw Errors.UserNotFound;
    if (!user.roles.includes(ROOT_ROLE)) throw Errors.PermissionDenied;
  }

  hasRole(username: string, role: string): boolean {
    return this.users.get(username)?.roles.includes(role) ?? false;
  }

  /** What a client request carries into the log (see AuthHeader in internal.proto). */
  header(info: AuthInfo | undefined): AuthHeader {
    if (!this.enabled) return { username: '', revision: 0n };
    return { username: info?.username ?? '', revision: BigInt(info?.revision ?? 0) };
  }

  /**
   * At apply, for a client write: its permissions were checked by the API layer at the revision in
   * its header. If the auth state moved since (a role or user changed in between), the check is stale
   * and the write is refused, as etcd refuses it; if auth was turned on in between, the request has no
   * identity.
   */
  checkWriteHeader(h: AuthHeader | undefined): void {
    if (!this.enabled || h === undefined) return;
    if (h.revision === 0n || h.username === '') throw Errors.UserEmpty;
    if (Number(h.revision) < this.rev) throw Errors.AuthOldRevision;
  }

  private mergedPerms(user: User): MergedPerms {
    const name = user.name.toString();
    let m = this.permCache.get(name);
    if (!m) {
      const perms: Permission[] = [];
      for (const r of user.roles) perms.push(...(this.roles.get(r)?.keyPermission ?? []));
      m = mergePerms(perms);
      this.permCache.set(name, m);
    }
    return m;
  }

  /** For the API layer's Authenticate: the stored user (password hash), or undefined. */
  getUser(name: string): User | undefined {
    return this.users.get(name);
  }

  // ---- apply (inside the Applier's backend batch) ----

  /** Applies an auth request of the log; undefined if `req` is not one. Throws etcd's errors. */
  apply(req: InternalRequest, index: number): AuthResponse | undefined {
    const h = req.authHeader;
    const caller: AuthInfo | undefined = h ? { username: h.username, revision: Number(h.revision) } : undefined;
    const admin = (): void => this.checkAdmin(caller);
    const header = undefined; // the server fills it in

    if (req.authEnable) {
      admin();
      this.enable();
      return { header };
    }
    if (req.authDisable) {
      admin();
      this.disable();
      return { header };
    }
    if (req.authStatus) {
      admin();
      return { header, enabled: this.enabled, authRevision: BigInt(this.rev) };
    }
    if (req.authenticate) {
      const r = req.authenticate;
      if (!this.enabled) throw Errors.AuthNotEnabled;
      const user = this.users.get(r.name);
      if (!user || user.options?.noPassword) throw Errors.AuthFailed;
      // the password was checked before proposing; the token is completed by this entry's index
      const token = `${r.tokenPrefix}.${index}`;
      this.tokens.assign(token, r.name);
      return { header, token };
    }
    if (req.authUserAdd) {
      admin();
      const r = req.authUserAdd;
      if (r.name === '') throw Errors.UserEmpty;
      if (this.users.has(r.name)) throw Errors.UserAlreadyExist;
      const noPassword = r.options?.noPassword ?? false;
      this.putUser({
        name: Buffer.from(r.name),
        password: noPassword ? Buffer.alloc(0) : Buffer.from(r.hashedPassword),
        roles: [],
        options: { noPassword },
      });
      this.commitRevision();
      return { header };
    }
    if (req.authUserDelete) {
      admin();
      const r = req.authUserDelete;
      if (this.enabled && r.name === ROOT_USER) throw Errors.InvalidAuthMgmt;
      if (!this.users.has(r.name)) throw Errors.UserNotFound;
      this.users.delete(r.name);
      this.backend.auth.removeSync(Buffer.from(USER_PREFIX + r.name));
      this.tokens.invalidateUser(r.name);
      this.commitRevision();
      return { header };
    }
    if (req.authUserChangePassword) {
      admin();
      const r = req.authUserChangePassword;
      const user = this.users.get(r.name);
      if (!user) throw Errors.UserNotFound;
      this.putUser({ ...user, password: Buffer.from(r.hashedPassword) });
      this.tokens.invalidateUser(r.name);
      this.commitRevision();
      return { header };
    }
    if (req.authUserGet) {
      const r = req.authUserGet;
      // a user may read itself; anything else needs admin
      if (!(caller && caller.username === r.name && caller.username !== '')) admin();
      const user = this.users.get(r.name);
      if (!user) throw Errors.UserNotFound;
      return { header, roles: [...user.roles] };
    }
    if (req.authUserList) {
      admin();
      return { header, users: [...this.users.keys()].sort(byBytes) };
    }
    if (req.authUserGrantRole) {
      admin();
      const r = req.authUserGrantRole;
      const user = this.users.get(r.user);
      if (!user) throw Errors.UserNotFound;
      // the root role may be granted before it exists (etcdctl's `auth enable` relies on it)
      if (r.role !== ROOT_ROLE && !this.roles.has(r.role)) throw Errors.RoleNotFound;
      // granting a role the user has is a no-op in etcd 3.4 (no error, no revision change)
      if (user.roles.includes(r.role)) return { header };
      this.putUser({ ...user, roles: [...user.roles, r.role].sort(byBytes) });
      this.commitRevision();
      return { header };
    }
    if (req.authUserRevokeRole) {
      admin();
      const r = req.authUserRevokeRole;
      if (this.enabled && r.name === ROOT_USER && r.role === ROOT_ROLE) throw Errors.InvalidAuthMgmt;
      const user = this.users.get(r.name);
      if (!user) throw Errors.UserNotFound;
      if (!user.roles.includes(r.role)) throw Errors.RoleNotGranted;
      this.putUser({ ...user, roles: user.roles.filter((x) => x !== r.role) });
      this.commitRevision();
      return { header };
    }
    if (req.authRoleAdd) {
      admin();
      const r = req.authRoleAdd;
      if (r.name === '') throw Errors.RoleEmpty;
      if (this.roles.has(r.name)) throw Errors.RoleAlreadyExist;
      this.putRole({ name: Buffer.from(r.name), keyPermission: [] });
      this.commitRevision();
      return { header };
    }
    if (req.authRoleDelete) {
      admin();
      const r = req.authRoleDelete;
      if (this.enabled && r.role === ROOT_ROLE) throw Errors.InvalidAuthMgmt;
      if (!this.roles.has(r.role)) throw Errors.RoleNotFound;
      this.roles.delete(r.role);
      this.backend.auth.removeSync(Buffer.from(ROLE_PREFIX + r.role));
      for (const u of [...this.users.values()]) {
        if (u.roles.includes(r.role)) this.putUser({ ...u, roles: u.roles.filter((x) => x !== r.role) });
      }
      this.commitRevision();
      return { header };
    }
    if (req.authRoleGet) {
      const r = req.authRoleGet;
      // a user may read the roles it holds; anything else needs admin
      if (!(caller && this.enabled && this.hasRole(caller.username, r.role))) admin();
      const role = this.roles.get(r.role);
      if (!role) throw Errors.RoleNotFound;
      return { header, perm: role.keyPermission.map((p) => ({ ...p })) };
    }
    if (req.authRoleList) {
      admin();
      return { header, roles: [...this.roles.keys()].sort(byBytes) };
    }
    if (req.authRoleGrantPermission) {
      admin();
      const r = req.authRoleGrantPermission;
      const role = this.roles.get(r.name);
      if (!role) throw Errors.RoleNotFound;
      const perm: Permission = {
        permType: r.perm?.permType ?? 0,
        key: Buffer.from(r.perm?.key ?? Buffer.alloc(0)),
        rangeEnd: Buffer.from(r.perm?.rangeEnd ?? Buffer.alloc(0)),
      };
      const perms = role.keyPermission.map((p) => ({ ...p }));
      const same = perms.find((p) => p.key.equals(perm.key) && p.rangeEnd.equals(perm.rangeEnd));
      // the same range granted again replaces its type
      if (same) same.permType = perm.permType;
      else perms.push(perm);
      perms.sort((a, b) => Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd));
      this.putRole({ name: role.name, keyPermission: perms });
      this.commitRevision();
      return { header };
    }
    if (req.authRoleRevokePermission) {
      admin();
      const r = req.authRoleRevokePermission;
      const role = this.roles.get(r.role);
      if (!role) throw Errors.RoleNotFound;
      const kept = role.keyPermission.filter((p) => !(p.key.equals(r.key) && p.rangeEnd.equals(r.rangeEnd)));
      if (kept.length === role.keyPermission.length) throw Errors.PermissionNotGranted;
      this.putRole({ name: role.name, keyPermission: kept });
      this.commitRevision();
      return { header };
    }
    return undefined;
  }

  private enable(): void {
    if (this.enabled) return;
    const root = this.users.get(ROOT_USER);
    if (!root) throw Errors.RootUserNotExist;
    if (!root.roles.includes(ROOT_ROLE)) throw Errors.RootRoleNotExist;
    this.enabled = true;
    this.backend.auth.putSync(KEY_ENABLED, Buffer.from([1]));
    this.permCache.clear();
    this.onRollbackReload();
  }

  private disable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.backend.auth.putSync(KEY_ENABLED, Buffer.from([0]));
    // every token dies with auth: after a later enable, clients authenticate again
    this.tokens.clear();
    this.commitRevision();
  }

  private putUser(u: User): void {
    const name = u.name.toString();
    this.users.set(name, u);
    this.backend.auth.putSync(Buffer.from(USER_PREFIX + name), Buffer.from(User.encode(u).finish()));
  }

  private putRole(r: Role): void {
    const name = r.name.toString();
    this.roles.set(name, r);
    this.backend.auth.putSync(Buffer.from(ROLE_PREFIX + name), Buffer.from(Role.encode(r).finish()));
  }

  /** Every change moves the revision: permission checks resolved at an older one are stale. */
  private commitRevision(): void {
    this.rev += 1;
    this.backend.auth.putSync(KEY_REVISION, u64(this.rev));
    this.permCache.clear();
    this.onRollbackReload();
  }

  /** Memory follows the backend: if the batch holding this change rolls back, reload what was committed. */
  private onRollbackReload(): void {
    if (this.backend.inBatch) this.backend.onRollback(() => this.load());
  }
}

/** etcd lists names in its backend's byte order. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
