// The Auth service: enable/disable/status, Authenticate (simple tokens), users and roles. Every request
// goes through the log, as in etcd, so all members apply auth changes in the same order; the caller's
// identity rides along in the request's auth header and the apply layer checks admin rights there.
// Passwords are hashed here, before proposing, so they never reach the WAL in plain text.
import { status } from '@grpc/grpc-js';
import { hashPassword, isStoredHash, verifyPassword } from '../../auth/password.js';
import type { AuthResponse } from '../../auth/store.js';
import { newTokenPrefix } from '../../auth/tokens.js';
import type { AuthenticateResponse, AuthServer } from '../../gen/etcdserverpb/rpc.js';
import type { InternalRequest } from '../../gen/etcdtspb/internal.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import { EtcdError, Errors } from '../../server/errors.js';
import type { Logger } from '../../util/logger.js';
import { authInfoOf, type ServerSurfaceCall } from './auth-context.js';
import { unary } from './unary.js';

type AuthPart = Omit<InternalRequest, 'id' | 'authHeader'>;

/** Authenticate retries when the auth state changed between the password check and the token. */
const AUTHENTICATE_ATTEMPTS = 5;

const PreHashedRefused = new EtcdError(
  status.INVALID_ARGUMENT,
  "etcd-node: hashedPassword is not supported (etcd-node hashes passwords itself); send the password",
);

export function authService(server: EtcdServer, log: Logger): AuthServer {
  /** Proposes `part` with the caller's identity in the auth header. */
  const propose = async <T extends AuthResponse>(call: ServerSurfaceCall, part: AuthPart): Promise<T> => {
    const info = await authInfoOf(server, call);
    return server.authRequest<T>({ ...part, authHeader: server.auth.header(info) });
  };

  /** The stored form of a new password: hashed here; a client's own hash only in our format. */
  const storedPassword = async (password: string, hashed: string): Promise<string> => {
    if (password === '' && hashed !== '') {
      if (!isStoredHash(hashed)) throw PreHashedRefused;
      return hashed;
    }
    return hashPassword(password);
  };

  return {
    authEnable: unary(log, 'AuthEnable', (r, call) => propose(call, { authEnable: r })),
    authDisable: unary(log, 'AuthDisable', (r, call) => propose(call, { authDisable: r })),
    authStatus: unary(log, 'AuthStatus', (r, call) => propose(call, { authStatus: r })),
    authenticate: unary(log, 'Authenticate', (r) => authenticate(server, log, r.name, r.password)),
    userAdd: unary(log, 'UserAdd', async (r, call) => {
      const noPassword = r.options?.noPassword ?? false;
      const hashedPassword = noPassword ? '' : await storedPassword(r.password, r.hashedPassword);
      return propose(call, { authUserAdd: { ...r, password: '', hashedPassword } });
    }),
    userGet: unary(log, 'UserGet', (r, call) => propose(call, { authUserGet: r })),
    userList: unary(log, 'UserList', (r, call) => propose(call, { authUserList: r })),
    userDelete: unary(log, 'UserDelete', (r, call) => propose(call, { authUserDelete: r })),
    userChangePassword: unary(log, 'UserChangePassword', async (r, call) => {
      const hashedPassword = await storedPassword(r.password, r.hashedPassword);
      return propose(call, { authUserChangePassword: { ...r, password: '', hashedPassword } });
    }),
    userGrantRole: unary(log, 'UserGrantRole', (r, call) => propose(call, { authUserGrantRole: r })),
    userRevokeRole: unary(log, 'UserRevokeRole', (r, call) => propose(call, { authUserRevokeRole: r })),
    roleAdd: unary(log, 'RoleAdd', (r, call) => propose(call, { authRoleAdd: r })),
    roleGet: unary(log, 'RoleGet', (r, call) => propose(call, { authRoleGet: r })),
    roleList: unary(log, 'RoleList', (r, call) => propose(call, { authRoleList: r })),
    roleDelete: unary(log, 'RoleDelete', (r, call) => propose(call, { authRoleDelete: r })),
    roleGrantPermission: unary(log, 'RoleGrantPermission', (r, call) => propose(call, { authRoleGrantPermission: r })),
    roleRevokePermission: unary(log, 'RoleRevokePermission', (r, call) =>
      propose(call, { authRoleRevokePermission: r }),
    ),
  };
}

/**
 * etcd's Authenticate: the password is checked here (scrypt, off the event loop), then a token is
 * assigned through the log. If the auth state moved while checking (say the password changed), check
 * again, so a token is never issued on a stale password.
 */
async function authenticate(server: EtcdServer, log: Logger, name: string, password: string): Promise<AuthenticateResponse> {
  for (let attempt = 0; ; attempt++) {
    const auth = server.auth;
    if (!auth.isEnabled) throw Errors.AuthNotEnabled;
    const checkedAt = auth.revision;
    const user = auth.getUser(name);
    if (!user) throw authFailed(log, name);
    if (user.options?.noPassword) throw Errors.AuthNoPasswordUser;
    if (!(await verifyPassword(password, user.password))) throw authFailed(log, name);
    const res = await server.authRequest<AuthenticateResponse>({ authenticate: { name, tokenPrefix: newTokenPrefix() } });
    if (server.auth.revision === checkedAt) return res;
    if (attempt + 1 >= AUTHENTICATE_ATTEMPTS) throw Errors.AuthOldRevision;
    log.info('revision when password checked became stale; retrying', { user: name });
  }
}

function authFailed(log: Logger, name: string): EtcdError {
  log.warn('invalid authentication was requested', { user: name, error: Errors.AuthFailed.message });
  return Errors.AuthFailed;
}
