// The server's configuration, already validated (cli/flags.ts turns flags and ETCD_* variables into it).

export interface ServerConfig {
  readonly name: string;
  readonly dataDir: string;
  /** --wal-dir: the WAL outside the data dir (default <data-dir>/member/wal) */
  readonly walDir?: string;
  readonly listenClientUrls: readonly URL[];
  /** --listen-client-http-urls: HTTP only (then --listen-client-urls serve gRPC only) */
  readonly listenClientHttpUrls?: readonly URL[];
  /** --listen-metrics-urls: /metrics and the health endpoints only */
  readonly listenMetricsUrls?: readonly URL[];
  readonly advertiseClientUrls: readonly URL[];
  readonly listenPeerUrls: readonly URL[];
  readonly initialAdvertisePeerUrls: readonly URL[];
  /** name → peer URLs */
  readonly initialCluster: ReadonlyMap<string, readonly URL[]>;
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly snapshotCount: number;
  /** --experimental-snapshot-catchup-entries: Raft log entries kept behind a snapshot (default 5000) */
  readonly snapshotCatchUpEntries?: number;
  /** milliseconds */
  readonly heartbeatInterval: number;
  /** milliseconds */
  readonly electionTimeout: number;
  /** bytes; the NOSPACE alarm is raised past it */
  readonly quotaBackendBytes: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly autoCompactionMode: 'periodic' | 'revision';
  /** periodic: milliseconds; revision: a number of revisions; 0 disables */
  readonly autoCompactionRetention: number;
  readonly maxLearners: number;
  /** --auth-token-ttl, seconds (default 300); only simple tokens exist (--auth-token=simple) */
  readonly authTokenTtl?: number;
  /** --experimental-watch-progress-notify-interval, milliseconds (default 10 minutes) */
  readonly watchProgressNotifyInterval?: number;
  /** --max-concurrent-streams: HTTP/2 streams per client connection (default 2^32-1) */
  readonly maxConcurrentStreams?: number;
  /** --grpc-keepalive-*: milliseconds (0 disables the interval / timeout) */
  readonly grpcKeepalive?: { readonly minTimeMs: number; readonly intervalMs: number; readonly timeoutMs: number };
  /** --pre-vote (default true) */
  readonly preVote?: boolean;
  /** --strict-reconfig-check (default true): refuse membership changes that would lose quorum */
  readonly strictReconfigCheck?: boolean;
  /** --enable-grpc-gateway (default true): the JSON gateway under /v3/ */
  readonly enableGrpcGateway?: boolean;
  /** --cors: allowed origins ('*' or empty: all) */
  readonly cors?: readonly string[];
  /** --host-whitelist: Host headers accepted on insecure listeners ('*' or empty: all) */
  readonly hostWhitelist?: readonly string[];
  /** --force-new-cluster: restart this member's data as a new one-member cluster */
  readonly forceNewCluster?: boolean;
  readonly tls: {
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly trustedCaFile?: string;
    readonly clientCertAuth: boolean;
    /** --client-crl-file */
    readonly crlFile?: string;
    /** --client-cert-allowed-hostname */
    readonly allowedHostnames?: readonly string[];
    readonly peerCertFile?: string;
    readonly peerKeyFile?: string;
    /** --peer-client-cert-file/--peer-client-key-file: presented when dialing peers (default the peer cert) */
    readonly peerClientCertFile?: string;
    readonly peerClientKeyFile?: string;
    readonly peerTrustedCaFile?: string;
    readonly peerClientCertAuth: boolean;
    /** --peer-crl-file */
    readonly peerCrlFile?: string;
    /** --peer-cert-allowed-cn */
    readonly peerAllowedCn?: readonly string[];
    /** --peer-cert-allowed-hostname */
    readonly peerAllowedHostnames?: readonly string[];
    /** --cipher-suites, as an OpenSSL cipher list (client and peer listeners) */
    readonly ciphers?: string;
    /** --tls-min-version / --tls-max-version */
    readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
    readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
    /** --auto-tls / --peer-auto-tls: self-signed certificates made at start when no files are given */
    readonly autoTls?: boolean;
    readonly peerAutoTls?: boolean;
    /** --self-signed-cert-validity, years */
    readonly selfSignedCertValidity?: number;
    /** the peer certificate is self-signed (--peer-auto-tls): peers' certificates are not verified */
    readonly peerSelfSigned?: boolean;
  };
}

/** etcd's defaults: 2 GiB quota, 1.5 MiB requests, 128 ops per txn. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
export const DEFAULT_MAX_TXN_OPS = 128;
/** etcd lets a gRPC message exceed --max-request-bytes by this much, so that its own size check answers;
 *  watch responses are fragmented only past --max-request-bytes plus this, as etcd does. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** The etcd API version this server speaks (kube-apiserver enables features by it). */
export const SERVER_VERSION = '3.6.0';
export const CLUSTER_VERSION = '3.6.0';
