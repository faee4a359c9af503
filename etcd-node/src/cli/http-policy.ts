// HTTP rules of etcd's client listeners that sit in front of the endpoints: --enable-grpc-gateway (off:
// /v3/* is not served), --cors (which origins get CORS headers) and --host-whitelist (Host headers
// accepted on insecure listeners).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { TLSSocket } from 'node:tls';

export interface HttpPolicy {
  readonly enableGrpcGateway?: boolean;
  readonly cors?: readonly string[];
  readonly hostWhitelist?: readonly string[];
}

const allowsAll = (list: readonly string[] | undefined): boolean => list === undefined || list.length === 0 || list.includes('*');

const CORS_METHODS = 'POST, GET, OPTIONS, PUT, DELETE';
const CORS_HEADERS = 'accept, content-type, authorization';

/** The host of a Host header, without its port. */
function hostOnly(h: string): string {
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const i = h.lastIndexOf(':');
  return i >= 0 && h.indexOf(':') === i ? h.slice(0, i) : h;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function withHttpPolicy(policy: HttpPolicy, next: Handler): Handler {
  const gateway = policy.enableGrpcGateway !== false;
  const corsAll = allowsAll(policy.cors);
  const hostsAll = allowsAll(policy.hostWhitelist);
  if (gateway && corsAll && hostsAll) return next;
  const cors = new Set(policy.cors ?? []);
  const hosts = new Set(policy.hostWhitelist ?? []);
  return (req, res) => {
    if (!hostsAll && !(req.socket instanceof TLSSocket)) {
      const host = hostOnly(req.headers.host ?? '');
      if (!hosts.has(host)) {
        res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(hostRefused(host));
        return;
      }
    }
    if (!gateway && (req.url ?? '/').startsWith('/v3/')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    if (!corsAll) restrictCors(req, res, cors);
    next(req, res);
  };
}

/** The endpoints answer every origin ('*'); with a --cors list only a listed Origin gets the headers. */
function restrictCors(req: IncomingMessage, res: ServerResponse, allowed: ReadonlySet<string>): void {
  const origin = req.headers.origin;
  const ok = origin !== undefined && allowed.has(origin);
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name: string, value: number | string | readonly string[]) => {
    if (name.toLowerCase().startsWith('access-control-')) return res;
    return setHeader(name, value);
  };
  if (ok) {
    setHeader('access-control-allow-origin', origin);
    setHeader('access-control-allow-methods', CORS_METHODS);
    setHeader('access-control-allow-headers', CORS_HEADERS);
  }
  const writeHead = res.writeHead.bind(res) as (code: number, headers?: OutgoingHttpHeaders) => ServerResponse;
  (res as { writeHead: unknown }).writeHead = (code: number, ...rest: unknown[]): ServerResponse => {
    const headers = rest.find((r): r is OutgoingHttpHeaders => typeof r === 'object' && r !== null && !Array.isArray(r));
    const kept: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers ?? {})) if (!k.toLowerCase().startsWith('access-control-')) kept[k] = v;
    return writeHead(code, kept);
  };
}

/** etcd's answer to a Host header outside --host-whitelist (word for word). */
function hostRefused(host: string): string {
  return (
    '\netcd received your request, but the Host header was unrecognized.\n\n' +
    'To fix this, choose one of the following options:\n' +
    '- Enable TLS, then any HTTPS request will be allowed.\n' +
    '- Add the hostname you want to use to the whitelist in settings.\n' +
    `  - e.g. etcd --host-whitelist ${JSON.stringify(host)}\n\n` +
    'This requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).\n\n'
  );
}
