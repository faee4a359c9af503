// The server's configuration, already validated (cli/flags.ts turns flags and ETCD_* variables into it).

export interface ServerConfig {
  readonly name: string;
  readonly dataDir: string;
  readonly listenClientUrls: readonly URL[];
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
  readonly tls: {
    readonly certFile?: string;
    readonly keyFile?: string;
    readonly trustedCaFile?: string;
    readonly clientCertAuth: boolean;
    readonly peerCertFile?: string;
    readonly peerKeyFile?: string;
    readonly peerTrustedCaFile?: string;
    readonly peerClientCertAuth: boolean;
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
