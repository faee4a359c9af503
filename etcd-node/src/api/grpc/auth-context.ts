// Who is calling, and may they: the glue between gRPC calls and the auth store. Every service handler
// that etcd guards calls `authInfoOf` (or `authorize`) before it touches the server.
//
//   const info = await authInfoOf(server, call);           // token / client cert → identity (or throws)
//   server.auth.checkPermission(info, 'read', key, end);   // KV-style key checks
//   await authorize(server, call, 'write', key, rangeEnd); // both in one call
//   await authorizeUser(server, call);                     // any user (leases, MemberList, Status)
//   await authorizeAdmin(server, call);                    // root role (maintenance, membership, Compact)
//
// Identity, as etcd resolves it: the `token` metadata (simple tokens from Authenticate; the JSON
// gateway forwards its `Authorization` header as `authorization`), else — with --client-cert-auth —
// the common name of the verified client certificate, else nobody. A token that is given but unknown
// or expired is `etcdserver: invalid auth token` while auth is on; while it is off, etcd 3.6 looks at no
// token (3.4 refused a bad one even then).
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { AuthInfo } from '../../auth/store.js';
import type { PermKind } from '../../auth/perm.js';
import type { EtcdServer } from '../../server/etcd-server.js';

/** What these helpers need of a call: any grpc-js server call (unary or streaming) has it. */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>;

/** The token a call carries, if any. */
export function tokenOf(call: Pick<ServerSurfaceCall, 'metadata'>): string | undefined {
  for (const name of ['token', 'authorization']) {
    const v = call.metadata.get(name)[0];
    if (v !== undefined) return typeof v === 'string' ? v : v.toString();
  }
  return undefined;
}

/**
 * The common name of the client certificate the TLS handshake verified, or undefined (plain TCP, no
 * certificate, or one the server's CA did not verify: grpc-js reports only authorized peers).
 */
export function peerCommonName(call: ServerSurfaceCall): string | undefined {
  const cert = call.getAuthContext().sslPeerCertificate;
  const cn: unknown = cert?.subject?.CN;
  if (typeof cn === 'string') return cn;
  // a subject with several CNs: etcd takes the first
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0];
  return undefined;
}

/** The caller's identity (see the file comment); throws `invalid auth token` for a bad token. */
export async function authInfoOf(server: EtcdServer, call: ServerSurfaceCall): Promise<AuthInfo | undefined> {
  if (!server.auth.isEnabled) return undefined;
  const token = tokenOf(call);
  if (token !== undefined) return server.auth.authInfoFromToken(token);
  if (!server.cfg.tls.clientCertAuth) return undefined;
  // a call proxied by the JSON gateway carries the gateway's own certificate, not the client's: etcd
  // ignores the common name then (the gateway marks its calls with this metadata)
  if (call.metadata.get('grpcgateway-accept').length > 0) return undefined;
  const cn = peerCommonName(call);
  return cn === undefined ? undefined : server.auth.authInfoFromCommonName(cn);
}

/** Resolves the caller and checks `kind` access to (key, range_end); returns the identity. */
export async function authorize(
  server: EtcdServer,
  call: ServerSurfaceCall,
  kind: PermKind,
  key: Buffer,
  rangeEnd: Buffer,
): Promise<AuthInfo | undefined> {
  const info = await authInfoOf(server, call);
  server.auth.checkPermission(info, kind, key, rangeEnd);
  return info;
}

/** Resolves the caller and checks it is a user (no-op while auth is off). */
export async function authorizeUser(server: EtcdServer, call: ServerSurfaceCall): Promise<AuthInfo | undefined> {
  const info = await authInfoOf(server, call);
  server.auth.checkUser(info);
  return info;
}

/** Resolves the caller and checks it holds the root role (no-op while auth is off). */
export async function authorizeAdmin(server: EtcdServer, call: ServerSurfaceCall): Promise<AuthInfo | undefined> {
  const info = await authInfoOf(server, call);
  server.auth.checkAdmin(info);
  return info;
}
