// The peer transport: Raft messages between members over `--listen-peer-urls`, and the few requests a
// follower must put to the leader (lease keep-alives and TTL lookups, which only the leader can answer).
//
// Each member dials one connection to every peer and sends its messages to that peer on it; it receives
// on the connections its peers dial to it. A connection carries length-prefixed frames:
//
//   u32 length (of what follows) | u8 kind | payload
//   kind 0 hello     u64 from member id, u64 cluster id          (first frame of every connection)
//   kind 1 raft      an encoded raft Message (raft/codec.ts)
//   kind 2 request   u32 request id, u8 op, u64 argument          (a lease id, or a member id)
//   kind 3 answer    u32 request id, u8 ok, then i64 value or a UTF-8 error message
//   kind 4 removed   (to a member this one knows was removed from the cluster; it then stops itself)
//   kind 5 join      (hello with cluster id 0: a member about to join asks who is in the cluster)
//   kind 6 cluster   an encoded ClusterInfo, the answer to kind 5
//
// Messages to a peer that is not connected are dropped and the peer is reported unreachable: Raft
// retries on its own (a leader probes again). Dialing retries with backoff (100 ms doubling to 2 s). With
// `--peer-cert-file`/`--peer-key-file` the peer URLs are https and connections are TLS; with
// `--peer-client-cert-auth` a peer must present a certificate the `--peer-trusted-ca-file` CA signed.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { readCrl } from '../util/crl.js';
import { decodeMessage, encodeMessage } from '../raft/codec.js';
import { MessageType, type Message } from '../raft/messages.js';
import type { Logger } from '../util/logger.js';

enum Kind {
  Hello = 0,
  Raft = 1,
  Request = 2,
  Answer = 3,
  Removed = 4,
  Join = 5,
  Cluster = 6,
}

export enum PeerOp {
  /** renew a lease; answers its TTL (0: unknown or expired) */
  Renew = 1,
  /** a lease's remaining TTL in seconds (-1: unknown) */
  Remaining = 2,
  /** whether the learner with this id has caught up with the leader (1) or not (0) */
  LearnerReady = 3,
}

/** A frame longer than this is a broken or hostile peer: the connection is dropped. */
const MAX_FRAME = 512 * 1024 * 1024;
/** Past this many unsent bytes on a connection, Raft messages to that peer are dropped (Raft resends). */
const MAX_BUFFERED = 64 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 5000;

export interface PeerTlsFiles {
  readonly certFile?: string;
  readonly keyFile?: string;
  /** presented when dialing a peer (--peer-client-cert-file/-key-file); default certFile/keyFile */
  readonly clientCertFile?: string;
  readonly clientKeyFile?: string;
  readonly trustedCaFile?: string;
  readonly clientCertAuth: boolean;
  /** --peer-crl-file */
  readonly crlFile?: string;
  /** --peer-cert-allowed-cn / --peer-cert-allowed-hostname: what a connecting peer's certificate must name */
  readonly allowedCn?: readonly string[];
  readonly allowedHostnames?: readonly string[];
  /** --cipher-suites (OpenSSL names), --tls-min-version, --tls-max-version */
  readonly ciphers?: string;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** self-signed certificates (--peer-auto-tls): a peer's certificate is not verified when dialing (etcd) */
  readonly insecureSkipVerify?: boolean;
}

/** The TLS options of a peer connection: the server side (listening) or the client side (dialing). */
export function peerTlsContext(f: PeerTlsFiles, side: 'server' | 'client'): tls.SecureContextOptions {
  const ctx: tls.SecureContextOptions = {};
  const certFile = side === 'client' ? (f.clientCertFile ?? f.certFile) : f.certFile;
  const keyFile = side === 'client' ? (f.clientKeyFile ?? f.keyFile) : f.keyFile;
  if (certFile) ctx.cert = readFileSync(certFile);
  if (keyFile) ctx.key = readFileSync(keyFile);
  if (f.trustedCaFile) ctx.ca = readFileSync(f.trustedCaFile);
  if (side === 'server' && f.crlFile) ctx.crl = readCrl(f.crlFile);
  if (f.ciphers) ctx.ciphers = f.ciphers;
  if (f.minVersion) ctx.minVersion = f.minVersion;
  if (f.maxVersion) ctx.maxVersion = f.maxVersion;
  return ctx;
}

/** The options of a TLS connection to a peer. */
function dialOptions(f: PeerTlsFiles, ctx: tls.SecureContextOptions): tls.ConnectionOptions {
  return f.insecureSkipVerify ? { ...ctx, rejectUnauthorized: false } : ctx;
}

/** --peer-cert-allowed-cn / --peer-cert-allowed-hostname on an accepted TLS connection. */
function peerCertAllowed(socket: tls.TLSSocket, f: PeerTlsFiles): boolean {
  const cns = f.allowedCn ?? [];
  const hosts = f.allowedHostnames ?? [];
  if (cns.length === 0 && hosts.length === 0) return true;
  const cert = socket.getPeerCertificate();
  if (cert === null || Object.keys(cert).length === 0) return false;
  if (cns.length > 0) {
    const cn = cert.subject?.CN;
    return cns.some((c) => (Array.isArray(cn) ? cn.includes(c) : cn === c));
  }
  return hosts.some((h) => tls.checkServerIdentity(h, cert) === undefined);
}

export interface TransportHandlers {
  /** a Raft message from a peer */
  onMessage(m: Message): void;
  /** a peer is unreachable (its messages were dropped) */
  onUnreachable(id: bigint): void;
  /** a request from a follower (this member should be the leader) */
  onRequest(op: PeerOp, arg: bigint): Promise<bigint>;
  /** whether `id` was removed from the cluster (its connections are told so, and it stops) */
  isRemoved(id: bigint): boolean;
  /** a peer says this member was removed from the cluster */
  onRemoved(): void;
  /** the cluster as this member knows it, for a member about to join (encoded ClusterInfo) */
  clusterInfo(): Uint8Array;
}

export class PeerError extends Error {
  readonly code = 'PEER_REQUEST_FAILED';
}

interface Outbound {
  readonly id: bigint;
  urls: readonly URL[];
  socket: net.Socket | undefined;
  connected: boolean;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  urlIndex: number;
}

interface Pending {
  resolve(v: bigint): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class PeerTransport {
  private readonly servers: net.Server[] = [];
  private readonly peers = new Map<bigint, Outbound>();
  private readonly inbound = new Set<net.Socket>();
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private closed = false;
  private readonly tlsContext: tls.SecureContextOptions;
  private readonly dialTlsContext: tls.ConnectionOptions;

  constructor(
    private readonly selfId: bigint,
    private readonly clusterId: bigint,
    private readonly listenUrls: readonly URL[],
    private readonly tlsFiles: PeerTlsFiles,
    private readonly handlers: TransportHandlers,
    private readonly log: Logger,
  ) {
    this.tlsContext = peerTlsContext(tlsFiles, 'server');
    this.dialTlsContext = dialOptions(tlsFiles, peerTlsContext(tlsFiles, 'client'));
  }

  /** Starts listening on every peer URL. */
  async listen(): Promise<void> {
    for (const u of this.listenUrls) {
      const onConn = (s: net.Socket): void => {
        if (s instanceof tls.TLSSocket && !peerCertAllowed(s, this.tlsFiles)) {
          this.log.warn('rejected peer connection: its certificate is not allowed (--peer-cert-allowed-cn / --peer-cert-allowed-hostname)', { remote: s.remoteAddress });
          s.destroy();
          return;
        }
        this.accept(s);
      };
      const server =
        u.protocol === 'https:'
          ? tls.createServer(
              { ...this.tlsContext, requestCert: this.tlsFiles.clientCertAuth, rejectUnauthorized: this.tlsFiles.clientCertAuth },
              onConn,
            )
          : net.createServer(onConn);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(u.port || (u.protocol === 'https:' ? 443 : 80)), u.hostname.replace(/^\[|\]$/g, ''), () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log.warn('peer listener error', { error: String(err) }));
      this.servers.push(server);
      this.log.info('listening for peers', { address: u.toString() });
    }
  }

  /** The members to talk to (every member but this one); dials new ones, drops removed ones. */
  setPeers(peers: ReadonlyMap<bigint, readonly URL[]>): void {
    for (const [id, urls] of peers) {
      if (id === this.selfId) continue;
      const p = this.peers.get(id);
      if (p) {
        p.urls = urls;
        continue;
      }
      const o: Outbound = { id, urls, socket: undefined, connected: false, backoffMs: 100, timer: undefined, urlIndex: 0 };
      this.peers.set(id, o);
      this.dial(o);
    }
    for (const [id, o] of this.peers) {
      if (!peers.has(id)) {
        this.peers.delete(id);
        clearTimeout(o.timer);
        // what was sent to it this turn first: the entry that removes it tells a removed member so
        if (o.socket) flushFrames(o.socket);
        o.socket?.destroy();
      }
    }
  }

  /** Sends Raft messages; those to unconnected peers are dropped and reported. Returns how many of
   *  the dropped ones were heartbeats (etcd_server_heartbeat_send_failures_total). */
  send(msgs: readonly Message[]): number {
    let unreachable: Set<bigint> | undefined;
    let heartbeatsDropped = 0;
    for (const m of msgs) {
      const o = this.peers.get(m.to);
      if (!o?.connected || !o.socket || o.socket.writableLength > MAX_BUFFERED) {
        (unreachable ??= new Set()).add(m.to);
        if (m.type === MessageType.MsgHeartbeat) heartbeatsDropped++;
        continue;
      }
      writeFrame(o.socket, Kind.Raft, encodeMessage(m));
    }
    if (unreachable) for (const id of unreachable) this.handlers.onUnreachable(id);
    return heartbeatsDropped;
  }

  /** Whether this member's connection to `id` is up. */
  isConnected(id: bigint): boolean {
    return this.peers.get(id)?.connected === true;
  }

  /** Asks peer `to` (the leader) to renew a lease or tell its remaining TTL. */
  request(to: bigint, op: PeerOp, lease: bigint): Promise<bigint> {
    const o = this.peers.get(to);
    if (!o?.connected || !o.socket) return Promise.reject(new PeerError(`peer ${to.toString(16)} is not connected`));
    const id = this.nextRequest++;
    if (this.nextRequest > 0xffffffff) this.nextRequest = 1;
    const payload = Buffer.alloc(13);
    payload.writeUInt32BE(id, 0);
    payload.writeUInt8(op, 4);
    // 64 bits either way: lease ids are int64, member ids uint64
    payload.writeBigUInt64BE(BigInt.asUintN(64, lease), 5);
    const socket = o.socket;
    return new Promise<bigint>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PeerError(`peer ${to.toString(16)} did not answer in time`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      writeFrame(socket, Kind.Request, payload);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const o of this.peers.values()) {
      clearTimeout(o.timer);
      o.socket?.destroy();
    }
    this.peers.clear();
    for (const s of this.inbound) s.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PeerError('transport closed'));
    }
    this.pending.clear();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  // ---- outbound ----

  private dial(o: Outbound): void {
    if (this.closed || !this.peers.has(o.id)) return;
    const u = o.urls[o.urlIndex % Math.max(1, o.urls.length)];
    if (!u) return;
    o.urlIndex++;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    // dial from this member's own peer address when it is a specific IP (as on a real network, where a
    // member's traffic comes from its address; tests rely on it to cut one member off)
    const own = this.listenUrls[0]?.hostname.replace(/^\[|\]$/g, '');
    const localAddress = own !== undefined && net.isIP(own) !== 0 && own !== '0.0.0.0' && own !== '::' ? own : undefined;
    const raw = net.connect({ host, port, localAddress });
    // `host` too: the peer's certificate is checked against the host of its URL
    const socket = u.protocol === 'https:' ? tls.connect({ socket: raw, host, ...this.dialTlsContext, servername: net.isIP(host) ? undefined : host }) : raw;
    if (socket !== raw) raw.on('error', () => undefined);
    o.socket = socket;
    socket.setNoDelay(true);
    const onReady = (): void => {
      o.connected = true;
      o.backoffMs = 100;
      const hello = Buffer.alloc(16);
      hello.writeBigUInt64BE(this.selfId, 0);
      hello.writeBigUInt64BE(this.clusterId, 8);
      writeFrame(socket, Kind.Hello, hello);
      this.log.info('connected to peer', { peer: o.id.toString(16), address: u.toString() });
    };
    socket.once(u.protocol === 'https:' ? 'secureConnect' : 'connect', onReady);
    // answers to our requests come back on this connection
    readFrames(socket, (kind, payload) => {
      if (kind === Kind.Answer) this.onAnswer(payload);
      else if (kind === Kind.Removed) this.handlers.onRemoved();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      const was = o.connected;
      o.connected = false;
      if (o.socket === socket) o.socket = undefined;
      if (was) this.log.warn('lost connection to peer', { peer: o.id.toString(16) });
      if (this.closed || !this.peers.has(o.id)) return;
      o.timer = setTimeout(() => this.dial(o), o.backoffMs);
      o.backoffMs = Math.min(o.backoffMs * 2, 2000);
    });
  }

  private onAnswer(payload: Buffer): void {
    if (payload.length < 5) return;
    const id = payload.readUInt32BE(0);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (payload.readUInt8(4) === 1 && payload.length >= 13) p.resolve(payload.readBigInt64BE(5));
    else p.reject(new PeerError(payload.subarray(5).toString('utf8')));
  }

  // ---- inbound ----

  private accept(socket: net.Socket): void {
    this.inbound.add(socket);
    socket.setNoDelay(true);
    let from: bigint | undefined;
    socket.on('error', () => undefined);
    socket.once('close', () => this.inbound.delete(socket));
    readFrames(socket, (kind, payload) => {
      if (from === undefined) {
        if (kind !== Kind.Hello || payload.length !== 16) return this.refuse(socket, 'the first frame is not a hello');
        const cid = payload.readBigUInt64BE(8);
        from = payload.readBigUInt64BE(0);
        if (cid === 0n) return; // a member about to join: only a Join may follow
        if (cid !== this.clusterId) return this.refuse(socket, `peer belongs to cluster ${cid.toString(16)}, not ${this.clusterId.toString(16)}`);
        if (this.handlers.isRemoved(from)) {
          writeFrame(socket, Kind.Removed, new Uint8Array(0));
          endAfterFrames(socket);
        }
        return;
      }
      if (kind === Kind.Join) {
        writeFrame(socket, Kind.Cluster, this.handlers.clusterInfo());
        endAfterFrames(socket);
        return;
      }
      if (kind === Kind.Raft) {
        let m: Message;
        try {
          m = decodeMessage(payload);
        } catch (err) {
          return this.refuse(socket, `malformed raft message: ${String(err)}`);
        }
        if (m.from !== from) return this.refuse(socket, `message from ${m.from.toString(16)} on the connection of ${from.toString(16)}`);
        this.handlers.onMessage(m);
      } else if (kind === Kind.Request && payload.length === 13) {
        const id = payload.readUInt32BE(0);
        const op = payload.readUInt8(4) as PeerOp;
        const arg = payload.readBigUInt64BE(5);
        this.handlers.onRequest(op, arg).then(
          (v) => {
            const out = Buffer.alloc(13);
            out.writeUInt32BE(id, 0);
            out.writeUInt8(1, 4);
            out.writeBigInt64BE(v, 5);
            writeFrame(socket, Kind.Answer, out);
          },
          (err: unknown) => {
            const msg = Buffer.from(err instanceof Error ? err.message : String(err));
            const out = Buffer.alloc(5 + msg.length);
            out.writeUInt32BE(id, 0);
            out.writeUInt8(0, 4);
            msg.copy(out, 5);
            writeFrame(socket, Kind.Answer, out);
          },
        );
      } else {
        return this.refuse(socket, `unexpected frame kind ${kind}`);
      }
    }, (reason) => this.refuse(socket, reason));
  }

  private refuse(socket: net.Socket, reason: string): void {
    this.log.warn('dropping peer connection', { remote: `${socket.remoteAddress}:${socket.remotePort}`, reason });
    socket.destroy();
  }
}

/**
 * Asks the first member of `urls` that answers for the cluster's members and id (a member about to join
 * a running cluster does this once, before it starts). Tries each URL in turn, for up to `timeoutMs`.
 */
export async function fetchClusterInfo(urls: readonly URL[], tlsFiles: PeerTlsFiles, timeoutMs = 10_000): Promise<Uint8Array> {
  const ctx: tls.ConnectionOptions = dialOptions(tlsFiles, peerTlsContext(tlsFiles, 'client'));
  const deadline = Date.now() + timeoutMs;
  let last = 'no peer URL to ask';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const u = urls[attempt % urls.length];
    if (!u) break;
    try {
      return await askOnce(u, ctx);
    } catch (err) {
      last = `${u.toString()}: ${err instanceof Error ? err.message : String(err)}`;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new PeerError(`could not get the cluster's members from any peer (${last})`);
}

function askOnce(u: URL, ctx: tls.ConnectionOptions): Promise<Uint8Array> {
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return new Promise<Uint8Array>((resolve, reject) => {
    const socket: net.Socket =
      u.protocol === 'https:' ? tls.connect({ host, port, ...ctx, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 3000);
    socket.once(u.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      writeFrame(socket, Kind.Hello, Buffer.alloc(16));
      writeFrame(socket, Kind.Join, new Uint8Array(0));
    });
    readFrames(socket, (kind, payload) => {
      if (kind !== Kind.Cluster) return;
      clearTimeout(timer);
      resolve(Uint8Array.from(payload));
      socket.destroy();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      reject(new Error('closed without an answer'));
    });
  });
}

// Frames written during one turn of the event loop leave together, in one write per socket, when the
// turn ends (setImmediate): a leader's appends to a follower, a follower's forwarded proposals and the
// answers of one turn would otherwise each cost a send syscall (and, on loopback, the receiver's work
// too). The profile of a 3-member put load showed these sends as the leader's largest native cost.
const queuedFrames = new Map<net.Socket, Uint8Array[]>();
let flushScheduled = false;
/** frames up to this many bytes in total are joined into one buffer; bigger ones go out as they are */
const JOIN_LIMIT = 256 * 1024;

function writeFrame(socket: net.Socket, kind: Kind, payload: Uint8Array): void {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head.writeUInt8(kind, 4);
  let q = queuedFrames.get(socket);
  if (q === undefined) {
    q = [];
    queuedFrames.set(socket, q);
  }
  q.push(head, payload);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushAllFrames);
  }
}

function flushAllFrames(): void {
  flushScheduled = false;
  for (const socket of [...queuedFrames.keys()]) flushFrames(socket);
}

/** Writes the frames queued for `socket` now (also before ending it, so they go out first). */
function flushFrames(socket: net.Socket): void {
  const q = queuedFrames.get(socket);
  if (q === undefined) return;
  queuedFrames.delete(socket);
  if (socket.destroyed) return;
  let total = 0;
  for (const b of q) total += b.length;
  if (total <= JOIN_LIMIT) {
    socket.write(Buffer.concat(q, total));
    return;
  }
  socket.cork();
  for (const b of q) socket.write(b);
  socket.uncork();
}

/** Ends a socket after the frames queued for it. */
function endAfterFrames(socket: net.Socket): void {
  flushFrames(socket);
  socket.end();
}

/** Calls onFrame for every complete frame read from the socket. Chunks are kept as they come and joined
 *  once per frame, so a large frame (a snapshot) costs one copy, not one per chunk. */
function readFrames(socket: net.Socket, onFrame: (kind: Kind, payload: Buffer) => void, onBad?: (reason: string) => void): void {
  let chunks: Buffer[] = [];
  let have = 0;
  let need = 0; // bytes of the frame being read (with its 4-byte length), 0 while unknown
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need === 0) {
        if (have < 5) return;
        const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        chunks = [head];
        const len = head.readUInt32BE(0);
        if (len < 1 || len > MAX_FRAME) {
          onBad?.(`frame length ${len} out of range`);
          socket.destroy();
          return;
        }
        need = 4 + len;
      }
      if (have < need) return;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, have);
      const kind = buf.readUInt8(4) as Kind;
      const payload = buf.subarray(5, need);
      const rest = buf.subarray(need);
      chunks = rest.length > 0 ? [rest] : [];
      have = rest.length;
      need = 0;
      onFrame(kind, payload);
      if (socket.destroyed) return;
    }
  });
}
