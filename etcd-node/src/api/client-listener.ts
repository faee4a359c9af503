// One port for gRPC and HTTP/1.1 on every --listen-client-urls address, as etcd serves them with cmux.
// Each accepted connection (after the TLS handshake on https:// URLs) is classified by its first bytes:
// the HTTP/2 client preface ("PRI * HTTP/2.0") goes to the gRPC server through its connection
// injector; anything else is an HTTP/1.1 request for the JSON gateway, /health, /metrics … .
//
// On https:// URLs the handshake offers ALPN h2 and http/1.1: gRPC clients pick h2; curl over TLS should
// be told `--http1.1` (an h2 connection is taken for gRPC, as it starts with the HTTP/2 preface).
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { ServerCredentials, type Server as GrpcServer } from '@grpc/grpc-js';
import type { ServerConfig } from '../server/config.js';
import { readCrl } from '../util/crl.js';
import type { Logger } from '../util/logger.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0');
/** A connection that sends nothing for this long is closed (a port scanner, a stuck client). */
const SNIFF_TIMEOUT_MS = 10_000;

export interface ClientListeners {
  /** host:port actually bound, per URL (port 0 resolved) */
  readonly addresses: string[];
  /** Stops accepting and closes HTTP connections; gRPC sessions are closed by the gRPC server's shutdown. */
  close(): Promise<void>;
}

export async function serveClients(
  grpc: GrpcServer,
  http: (req: IncomingMessage, res: ServerResponse) => void,
  cfg: ServerConfig,
  log: Logger,
  /** client connections are held, unanswered, until this settles (etcd serves clients only once the
   *  member is ready: it has a leader and has published itself); the metrics listeners answer at once */
  ready: Promise<void> = Promise.resolve(),
): Promise<ClientListeners> {
  // TLS (when used) is ended by our own tls.Server, so gRPC always gets a plain (decrypted) stream;
  // grpc-js still sees the TLSSocket underneath and reports the verified client certificate.
  const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
  const httpServer = createHttpServer(http);
  httpServer.keepAliveTimeout = 30_000;
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();

  const dispatch = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && n < H2_PREFACE.length) return; // could still be either: wait for more
      socket.off('data', onData);
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(head);
      if (isH2) {
        // http2 takes over the socket (reading what was unshifted first); no JS reads from here on
        injector.injectConnection(socket);
      } else {
        httpServer.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  };

  const addresses: string[] = [];
  // --listen-client-http-urls takes HTTP away from --listen-client-urls (etcd's rule); --listen-metrics-urls
  // serve /metrics and the health endpoints only
  const httpOnly = cfg.listenClientHttpUrls ?? [];
  const listeners: Array<[URL, ListenMode]> = [
    ...cfg.listenClientUrls.map((u): [URL, ListenMode] => [u, httpOnly.length > 0 ? 'grpc' : 'both']),
    ...httpOnly.map((u): [URL, ListenMode] => [u, 'http']),
    ...(cfg.listenMetricsUrls ?? []).map((u): [URL, ListenMode] => [u, 'metrics']),
  ];
  const metricsServer = createHttpServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    if (p === '/metrics' || p === '/health' || p === '/livez' || p === '/readyz' || p?.startsWith('/livez/') || p?.startsWith('/readyz/')) http(req, res);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404 page not found\n');
    }
  });
  const onlyHttp = (server: ReturnType<typeof createHttpServer>) => (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    server.emit('connection', socket);
  };
  let isReady = false;
  void ready.then(() => {
    isReady = true;
  });
  const whenReady = (serve: (socket: net.Socket) => void) => (socket: net.Socket): void => {
    if (isReady) {
      serve(socket);
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    void ready.then(() => {
      if (!socket.destroyed) serve(socket);
    });
  };
  try {
    for (const [u, mode] of listeners) {
      const handle =
        mode === 'metrics'
          ? onlyHttp(metricsServer)
          : whenReady(mode === 'both' ? dispatch : mode === 'grpc' ? grpcOnly(dispatch) : onlyHttp(httpServer));
      let srv: net.Server;
      if (u.protocol === 'https:') {
        const { certFile, keyFile, trustedCaFile, clientCertAuth, crlFile, ciphers, minVersion, maxVersion, allowedHostnames } = cfg.tls;
        if (!certFile || !keyFile) throw new Error(`${u.href} is https but --cert-file and --key-file are not set`);
        const allowed = allowedHostnames ?? [];
        srv = tls.createServer(
          {
            cert: readFileSync(certFile),
            key: readFileSync(keyFile),
            ...(trustedCaFile ? { ca: readFileSync(trustedCaFile) } : {}),
            ...(crlFile ? { crl: readCrl(crlFile) } : {}),
            ...(ciphers ? { ciphers } : {}),
            ...(minVersion ? { minVersion } : {}),
            ...(maxVersion ? { maxVersion } : {}),
            requestCert: clientCertAuth,
            rejectUnauthorized: clientCertAuth,
            ALPNProtocols: mode === 'http' || mode === 'metrics' ? ['http/1.1'] : ['h2', 'http/1.1'],
          },
          (socket) => {
            // --client-cert-allowed-hostname: the client certificate must be valid for one of these names
            if (allowed.length > 0 && !certAllowsHostname(socket, allowed)) {
              log.warn('rejected client certificate: not valid for any --client-cert-allowed-hostname', { remote: socket.remoteAddress });
              socket.destroy();
              return;
            }
            handle(socket);
          },
        );
        srv.on('tlsClientError', (err: Error) => log.debug('rejected TLS connection', { error: err.message }));
      } else {
        srv = net.createServer(handle);
      }
      const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
      const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (err) => reject(new Error(`listen on ${u.href}: ${err.message}`)));
        srv.listen(port, host, () => resolve());
      });
      servers.push(srv);
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? `${u.hostname}:${addr.port}` : u.host;
      if (mode === 'both' || mode === 'grpc') addresses.push(bound);
      const what = mode === 'metrics' ? 'metrics' : mode === 'http' ? 'client HTTP' : mode === 'grpc' ? 'client gRPC' : 'client';
      if (u.protocol === 'http:') log.warn(`serving ${what} traffic insecurely; this is strongly discouraged!`, { address: bound });
      else log.info(`serving ${what} traffic securely`, { address: bound });
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }

  return {
    addresses,
    async close(): Promise<void> {
      // close() waits for every connection of a server to end: stop accepting, then end them
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      httpServer.closeAllConnections();
      metricsServer.closeAllConnections();
      injector.destroy();
      for (const s of sockets) s.destroy();
      await Promise.all(closed);
    },
  };
}

type ListenMode = 'both' | 'grpc' | 'http' | 'metrics';

/** A listener for gRPC only (--listen-client-urls when --listen-client-http-urls is set): a connection
 *  that does not start with the HTTP/2 preface is closed. */
function grpcOnly(dispatch: (socket: net.Socket) => void) {
  return (socket: net.Socket): void => {
    socket.once('data', (chunk: Buffer) => {
      const n = Math.min(chunk.length, H2_PREFACE.length);
      if (!chunk.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) {
        socket.destroy();
        return;
      }
      socket.pause();
      socket.unshift(chunk);
      dispatch(socket);
      socket.resume();
    });
  };
}

/** Whether the peer certificate of a TLS connection is valid for one of the host names (its SANs). */
export function certAllowsHostname(socket: tls.TLSSocket, hostnames: readonly string[]): boolean {
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return false;
  return hostnames.some((h) => tls.checkServerIdentity(h, cert) === undefined);
}
