// The JSON gateway: etcd's HTTP/1.1 + JSON face of the gRPC API (`POST /v3/kv/range` …). Each route
// runs the same service handler a gRPC call would, through a GatewayCall, so validation, auth checks
// and errors are the gRPC path's. Bodies and answers use protobuf's JSON mapping (json-codec.ts).
//
//   unary             body: one JSON object → 200 + the response object; an error → etcd's
//                     {"error", "message", "code"} with the HTTP status grpc-gateway maps the code to
//   streaming         body: zero or more JSON objects (requests, in order); answer: one line per
//                     response, {"result": …}, or {"error": {...}} and the end of the stream
//
// Credentials: the `Authorization` header carries a token from /v3/auth/authenticate (as etcd).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Metadata, status, type MethodDefinition, type ServiceDefinition, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { DescMessage, JsonValue } from '@bufbuild/protobuf';
import { GRPC_OVERHEAD_BYTES } from '../../server/config.js';
import type { Logger } from '../../util/logger.js';
import { GatewayCall } from './gateway-call.js';
import { binaryToJson, methodTypes, readRequests } from './json-codec.js';

/** One gRPC service as registered on the server: its definition and implementation. */
export interface ServiceEntry {
  /** fully qualified, e.g. etcdserverpb.KV */
  readonly name: string;
  readonly definition: ServiceDefinition;
  readonly impl: UntypedServiceImplementation;
}

/** HTTP path (after /v3/) → [service, method], as etcd's gateway routes them. */
const ROUTES: ReadonlyArray<readonly [string, string, string]> = [
  ['kv/range', 'etcdserverpb.KV', 'Range'],
  ['kv/put', 'etcdserverpb.KV', 'Put'],
  ['kv/deleterange', 'etcdserverpb.KV', 'DeleteRange'],
  ['kv/txn', 'etcdserverpb.KV', 'Txn'],
  ['kv/compaction', 'etcdserverpb.KV', 'Compact'],
  ['watch', 'etcdserverpb.Watch', 'Watch'],
  ['lease/grant', 'etcdserverpb.Lease', 'LeaseGrant'],
  ['lease/revoke', 'etcdserverpb.Lease', 'LeaseRevoke'],
  ['kv/lease/revoke', 'etcdserverpb.Lease', 'LeaseRevoke'],
  ['lease/keepalive', 'etcdserverpb.Lease', 'LeaseKeepAlive'],
  ['lease/timetolive', 'etcdserverpb.Lease', 'LeaseTimeToLive'],
  ['kv/lease/timetolive', 'etcdserverpb.Lease', 'LeaseTimeToLive'],
  ['lease/leases', 'etcdserverpb.Lease', 'LeaseLeases'],
  ['kv/lease/leases', 'etcdserverpb.Lease', 'LeaseLeases'],
  ['cluster/member/add', 'etcdserverpb.Cluster', 'MemberAdd'],
  ['cluster/member/remove', 'etcdserverpb.Cluster', 'MemberRemove'],
  ['cluster/member/update', 'etcdserverpb.Cluster', 'MemberUpdate'],
  ['cluster/member/list', 'etcdserverpb.Cluster', 'MemberList'],
  ['cluster/member/promote', 'etcdserverpb.Cluster', 'MemberPromote'],
  ['maintenance/alarm', 'etcdserverpb.Maintenance', 'Alarm'],
  ['maintenance/status', 'etcdserverpb.Maintenance', 'Status'],
  ['maintenance/defragment', 'etcdserverpb.Maintenance', 'Defragment'],
  ['maintenance/hash', 'etcdserverpb.Maintenance', 'Hash'],
  ['maintenance/hashkv', 'etcdserverpb.Maintenance', 'HashKV'],
  ['maintenance/snapshot', 'etcdserverpb.Maintenance', 'Snapshot'],
  ['maintenance/transfer-leadership', 'etcdserverpb.Maintenance', 'MoveLeader'],
  ['maintenance/downgrade', 'etcdserverpb.Maintenance', 'Downgrade'],
  ['auth/enable', 'etcdserverpb.Auth', 'AuthEnable'],
  ['auth/disable', 'etcdserverpb.Auth', 'AuthDisable'],
  ['auth/status', 'etcdserverpb.Auth', 'AuthStatus'],
  ['auth/authenticate', 'etcdserverpb.Auth', 'Authenticate'],
  ['auth/user/add', 'etcdserverpb.Auth', 'UserAdd'],
  ['auth/user/get', 'etcdserverpb.Auth', 'UserGet'],
  ['auth/user/list', 'etcdserverpb.Auth', 'UserList'],
  ['auth/user/delete', 'etcdserverpb.Auth', 'UserDelete'],
  ['auth/user/changepw', 'etcdserverpb.Auth', 'UserChangePassword'],
  ['auth/user/grant', 'etcdserverpb.Auth', 'UserGrantRole'],
  ['auth/user/revoke', 'etcdserverpb.Auth', 'UserRevokeRole'],
  ['auth/role/add', 'etcdserverpb.Auth', 'RoleAdd'],
  ['auth/role/get', 'etcdserverpb.Auth', 'RoleGet'],
  ['auth/role/list', 'etcdserverpb.Auth', 'RoleList'],
  ['auth/role/delete', 'etcdserverpb.Auth', 'RoleDelete'],
  ['auth/role/grant', 'etcdserverpb.Auth', 'RoleGrantPermission'],
  ['auth/role/revoke', 'etcdserverpb.Auth', 'RoleRevokePermission'],
  ['lock/lock', 'v3lockpb.Lock', 'Lock'],
  ['lock/unlock', 'v3lockpb.Lock', 'Unlock'],
  ['election/campaign', 'v3electionpb.Election', 'Campaign'],
  ['election/proclaim', 'v3electionpb.Election', 'Proclaim'],
  ['election/leader', 'v3electionpb.Election', 'Leader'],
  ['election/observe', 'v3electionpb.Election', 'Observe'],
  ['election/resign', 'v3electionpb.Election', 'Resign'],
];

/** grpc-gateway's HTTP status for each gRPC code (the statuses etcd's gateway answers with). */
const HTTP_STATUS: Record<number, number> = {
  [status.OK]: 200,
  [status.CANCELLED]: 408,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.UNAUTHENTICATED]: 401,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 412,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
};

interface Route {
  readonly def: MethodDefinition<unknown, unknown>;
  readonly impl: (...args: never[]) => void;
  readonly input: DescMessage;
  readonly output: DescMessage;
}

export class Gateway {
  private readonly routes = new Map<string, Route>();

  constructor(
    services: readonly ServiceEntry[],
    private readonly maxBodyBytes: number,
    private readonly log: Logger,
  ) {
    for (const [path, service, method] of ROUTES) {
      const entry = services.find((s) => s.name === service);
      if (!entry) continue; // a service this build does not serve: the path answers 404 like any unknown one
      const key = Object.keys(entry.definition).find((k) => entry.definition[k]?.path === `/${service}/${method}`);
      const def = key === undefined ? undefined : entry.definition[key];
      const impl = key === undefined ? undefined : entry.impl[key];
      if (!def || typeof impl !== 'function') continue;
      const { input, output } = methodTypes(service, method);
      this.routes.set(`/v3/${path}`, { def, impl: impl as (...args: never[]) => void, input, output });
    }
  }

  static forMaxRequestBytes(services: readonly ServiceEntry[], maxRequestBytes: number, log: Logger): Gateway {
    return new Gateway(services, maxRequestBytes + GRPC_OVERHEAD_BYTES, log);
  }

  /** true when the path is a gateway route (whatever the method) */
  handles(path: string): boolean {
    return this.routes.has(path);
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const route = this.routes.get(path);
    if (!route) return;
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > this.maxBodyBytes) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooLarge) {
        sendError(res, status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${size} vs. ${this.maxBodyBytes})`);
        return;
      }
      try {
        this.dispatch(req, res, route, Buffer.concat(chunks));
      } catch (err) {
        // a request the handlers cannot take (e.g. nested deeper than the stack) must not end the process
        this.log.error('gateway: request failed', { path: route.def.path, error: String(err) });
        sendError(res, status.INTERNAL, err instanceof Error ? err.message : String(err));
      }
    });
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, route: Route, body: Buffer): void {
    const { requests, error } = readRequests(route.input, body, route.def.requestStream);
    if (error) {
      if (!route.def.requestStream) {
        sendError(res, status.INVALID_ARGUMENT, error.message);
        return;
      }
      // etcd's gateway sends the requests before the bad one and closes its side of the stream
      this.log.warn('gateway: cannot decode a request of a stream', { path: route.def.path, error: error.message });
    }
    const md = new Metadata();
    const authz = req.headers.authorization;
    if (authz !== undefined) md.set('authorization', authz);
    // marks the call as the gateway's (auth-context.ts ignores the TLS peer's certificate then)
    md.set('grpcgateway-accept', req.headers.accept ?? '*/*');
    const decode = (b: Uint8Array): unknown => route.def.requestDeserialize(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    const toJsonValue = (m: unknown): JsonValue => binaryToJson(route.output, route.def.responseSerialize(m));
    const peer = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}`;
    const first = requests[0];

    if (!route.def.requestStream && !route.def.responseStream) {
      const call = new GatewayCall(md, route.def.path, decode(first!), peer, { onMessage: () => undefined, onEnd: () => undefined, onError: () => undefined });
      const callback = (err: Partial<ServiceError> | null, value?: unknown): void => {
        if (err) {
          sendError(res, err.code ?? status.UNKNOWN, err.details ?? err.message ?? 'unknown error');
          return;
        }
        let out: JsonValue;
        try {
          out = toJsonValue(value);
        } catch (e) {
          this.log.error('gateway: cannot encode response', { path: route.def.path, error: String(e) });
          sendError(res, status.INTERNAL, 'cannot encode response');
          return;
        }
        sendJson(res, 200, out);
      };
      (route.impl as (c: unknown, cb: typeof callback) => void)(call, callback);
      return;
    }

    // streaming: newline-delimited {"result": …}
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      res.writeHead(200, { ...CORS, 'content-type': 'application/json' });
    };
    const call = new GatewayCall(md, route.def.path, route.def.requestStream ? undefined : decode(first!), peer, {
      onMessage: (m) => {
        start();
        res.write(`${JSON.stringify({ result: toJsonValue(m) })}\n`);
      },
      onEnd: () => {
        start();
        res.end();
      },
      onError: (err) => {
        const e = err as Partial<ServiceError>;
        const code = e.code ?? status.UNKNOWN;
        const message = e.details ?? e.message ?? String(err);
        if (!started) {
          sendError(res, code, message);
          return;
        }
        res.end(`${JSON.stringify({ error: { grpc_code: code, http_code: HTTP_STATUS[code] ?? 500, message, http_status: httpStatusText(HTTP_STATUS[code] ?? 500) } })}\n`);
      },
    });
    res.on('close', () => call.cancel());
    (route.impl as (c: unknown) => void)(call.asDuplex());
    if (route.def.requestStream) {
      for (const r of requests) call.push(decode(r));
      call.push(null);
    }
  }
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

export function corsHeaders(): Record<string, string> {
  return { ...CORS };
}

function sendJson(res: ServerResponse, code: number, body: JsonValue): void {
  if (res.headersSent) return;
  res.writeHead(code, { ...CORS, 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** etcd's gateway error body. */
function sendError(res: ServerResponse, code: number, message: string): void {
  sendJson(res, HTTP_STATUS[code] ?? 500, { error: message, message, code });
}

function httpStatusText(code: number): string {
  return { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 412: 'Precondition Failed', 429: 'Too Many Requests', 501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout' }[code] ?? 'Internal Server Error';
}
