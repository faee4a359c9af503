// A local multi-member etcd-node cluster of real processes for the cluster suites. Each member has its own
// loopback address (127.0.0.<10+i>) and reaches the others through a TCP proxy per member (its advertised
// peer URL), so a test can cut one member off: its proxy refuses everyone, and the others' proxies refuse
// connections coming from its address (etcd-node dials its peers from its own peer address).
import net from 'node:net';
import { etcdctl } from './etcdctl.js';
import { freePorts, startServer, type RunningServer } from './servers.js';

class PeerProxy {
  private readonly server: net.Server;
  private readonly conns = new Set<net.Socket>();
  /** addresses refused; '*' refuses everyone */
  readonly blocked = new Set<string>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = net.createServer((c) => this.onConnection(c));
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(port, '127.0.0.1', () => res());
    });
    this.port = port;
  }

  private refused(addr: string | undefined): boolean {
    return this.blocked.has('*') || (addr !== undefined && this.blocked.has(addr.replace(/^::ffff:/, '')));
  }

  private onConnection(c: net.Socket): void {
    if (this.refused(c.remoteAddress)) {
      c.destroy();
      return;
    }
    const up = net.connect(this.target);
    const pair = [c, up];
    for (const s of pair) {
      this.conns.add(s);
      s.on('error', () => undefined);
      s.once('close', () => {
        this.conns.delete(s);
        for (const o of pair) o.destroy();
      });
    }
    c.pipe(up);
    up.pipe(c);
  }

  /** Drops the connections that are now refused. */
  enforce(): void {
    for (const s of this.conns) if (this.refused(s.remoteAddress)) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.conns) s.destroy();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}

export interface LocalCluster {
  readonly members: readonly RunningServer[];
  /** every member's client endpoint, comma-separated (etcdctl --endpoints) */
  readonly endpoints: string;
  /** index of the member that reports itself leader (asks each live member) */
  leader(): Promise<number>;
  /** cut member i off from the others (both directions) */
  isolate(i: number): void;
  heal(): void;
  stop(): Promise<void>;
}

/** Peer TLS: the directory of makePki's files; members then talk https with client certificates. */
export interface ClusterOptions {
  peerTlsDir?: string;
  /** https between members with certificates each member makes itself (--peer-auto-tls) */
  peerAutoTls?: boolean;
}

export async function startCluster(size = 3, extraArgs: string[] = [], opts: ClusterOptions = {}): Promise<LocalCluster> {
  const scheme = opts.peerTlsDir === undefined && opts.peerAutoTls !== true ? 'http' : 'https';
  const tlsArgs =
    opts.peerTlsDir === undefined
      ? opts.peerAutoTls === true ? ['--peer-auto-tls'] : []
      : [
          `--peer-cert-file=${opts.peerTlsDir}/server.crt`,
          `--peer-key-file=${opts.peerTlsDir}/server.key`,
          `--peer-trusted-ca-file=${opts.peerTlsDir}/ca.crt`,
          '--peer-client-cert-auth',
        ];
  const ports = await freePorts(size * 3);
  const hosts = Array.from({ length: size }, (_, i) => `127.0.0.${10 + i}`);
  const proxies = hosts.map((host, i) => new PeerProxy({ host, port: ports[size + i]! }));
  await Promise.all(proxies.map((p, i) => p.listen(ports[2 * size + i]!)));
  const names = hosts.map((_, i) => `m${i + 1}`);
  const initialCluster = names.map((n, i) => `${n}=${scheme}://127.0.0.1:${proxies[i]!.port}`).join(',');
  let members: RunningServer[];
  try {
    members = await Promise.all(
      hosts.map((host, i) =>
        startServer({
          kind: 'node',
          name: names[i],
          extraArgs: [...tlsArgs, ...extraArgs],
          member: {
            host,
            clientPort: ports[i]!,
            peerPort: ports[size + i]!,
            initialCluster,
            advertisePeerUrl: `${scheme}://127.0.0.1:${proxies[i]!.port}`,
            peerScheme: scheme,
          },
        }),
      ),
    );
  } catch (err) {
    await Promise.all(proxies.map((p) => p.close()));
    throw err;
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint).join(','),
    leader: async () => {
      for (let i = 0; i < members.length; i++) {
        if (!members[i]!.running()) continue;
        const r = await etcdctl(members[i]!.endpoint, ['endpoint', 'status', '-w', 'json', '--command-timeout=2s']);
        if (r.code === 0 && /"leader":(\d+)/.exec(r.stdout)?.[1] === /"member_id":(\d+)/.exec(r.stdout)?.[1]) return i;
      }
      return -1;
    },
    isolate: (i) => {
      proxies[i]!.blocked.add('*');
      proxies.forEach((p, j) => {
        if (j !== i) p.blocked.add(hosts[i]!);
      });
      for (const p of proxies) p.enforce();
    },
    heal: () => {
      for (const p of proxies) p.blocked.clear();
    },
    stop: async () => {
      await Promise.all(members.map((m) => m.stop()));
      await Promise.all(proxies.map((p) => p.close()));
    },
  };
}
