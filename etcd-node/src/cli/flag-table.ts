// Every flag of etcd 3.6's `etcd --help`, with etcd's kind, default and help text, and what etcd-node does
// with it (`state`): honoured; `noop` (accepted and nothing to do, with the reason); `warn` (accepted, a
// warning naming it when it is given a value other than its default: a tuning, log or metrics knob whose
// absence changes no result); `refused` (a value other than the default is a "not supported yet" error).
// The README's "etcd flags" table is this table.

export type Kind =
  | 'string'
  | 'bool'
  /** Go int / int64 */
  | 'int'
  /** Go uint / uint64 */
  | 'uint'
  /** etcd's uint32 value (--max-concurrent-streams): strconv.ParseUint's messages */
  | 'uint32'
  | 'duration'
  /** comma-separated URLs, checked as etcd's URLsValue checks them */
  | 'urls'
  /** comma-separated URLs or '*' (etcd's UniqueURLs with the exception '*': --cors) */
  | 'origins'
  /** one of `values`, checked when set (etcd's SelectiveStringValue) */
  | 'enum'
  /** Name=bool,… merged over repeats (Kubernetes-style feature gates) */
  | 'gates';

export type FlagState = 'honoured' | 'noop' | 'warn' | 'refused';

export interface FlagSpec {
  readonly kind: Kind;
  /** etcd's default, as a string (undefined: empty / derived, see help) */
  readonly def?: string;
  readonly help: string;
  readonly group: string;
  readonly state: FlagState;
  /** why (noop / warn / refused), or how (honoured, when it needs saying) */
  readonly note?: string;
  /** enum values */
  readonly values?: readonly string[];
  /** a deprecated experimental name: the 3.6 flag it stands for */
  readonly replacedBy?: string;
  /** a deprecated experimental bool: the feature gate it stands for */
  readonly gate?: string;
}

/** etcd 3.6's feature gates and their defaults. */
export const FEATURE_GATES: Readonly<Record<string, boolean>> = {
  AllAlpha: false,
  AllBeta: false,
  CompactHashCheck: false,
  InitialCorruptCheck: false,
  LeaseCheckpoint: false,
  LeaseCheckpointPersist: false,
  SetMemberLocalAddr: false,
  StopGRPCServiceOnDefrag: false,
  TxnModeWriteWithSharedBuffer: true,
};

const M = 'Member';
const C = 'Clustering';
const S = 'Security';
const A = 'Auth';
const P = 'Profiling and Monitoring';
const L = 'Logging';
const T = 'Experimental distributed tracing';
const X = 'Experimental feature';
const XD = 'Deprecated experimental names';
const U = 'Unsafe feature';

const tracing = 'distributed tracing (OpenTelemetry) is not implemented; no result depends on it';
const noCheck = 'a consistency check etcd-node does not run; with healthy data it changes nothing';

const spec = (
  kind: Kind,
  def: string | undefined,
  group: string,
  state: FlagState,
  help: string,
  note?: string,
  extra: Partial<FlagSpec> = {},
): FlagSpec => ({ kind, def, group, state, help, note, ...extra });

/** A deprecated `--experimental-*` flag standing for its 3.6 name. */
const experimental = (name: string, base: FlagSpec): FlagSpec => ({
  ...base,
  group: XD,
  replacedBy: name,
  help: `${base.help} Deprecated in v3.6 and will be decommissioned in v3.7. Use '--${name}' instead.`,
});

/** A deprecated `--experimental-*` bool standing for a feature gate. */
const gateFlag = (gate: string, help: string, state: FlagState, note?: string): FlagSpec => ({
  kind: 'bool',
  def: String(FEATURE_GATES[gate]),
  group: XD,
  state,
  note,
  gate,
  help: `${help} Deprecated in v3.6 and will be decommissioned in v3.7. Use '--feature-gates=${gate}=true' instead.`,
});

const base: Record<string, FlagSpec> = {
  // ---- Member
  name: spec('string', 'default', M, 'honoured', 'Human-readable name for this member.'),
  'data-dir': spec('string', undefined, M, 'honoured', 'Path to the data directory (default "${name}.etcd").'),
  'wal-dir': spec('string', undefined, M, 'honoured', 'Path to the dedicated wal directory.'),
  'snapshot-count': spec('uint', '10000', M, 'honoured', 'Number of committed transactions to trigger a snapshot.'),
  'heartbeat-interval': spec('uint', '100', M, 'honoured', 'Time (in milliseconds) of a heartbeat interval.'),
  'election-timeout': spec('uint', '1000', M, 'honoured', 'Time (in milliseconds) for an election to timeout.'),
  'initial-election-tick-advance': spec('bool', 'true', M, 'warn', 'Whether to fast-forward initial election ticks on boot for faster election.', 'election timing only; etcd-node does not fast-forward ticks (a lone member campaigns at once either way)'),
  'listen-peer-urls': spec('urls', 'http://localhost:2380', M, 'honoured', 'List of URLs to listen on for peer traffic.'),
  'listen-client-urls': spec('urls', 'http://localhost:2379', M, 'honoured', 'List of URLs to listen on for client grpc traffic and http as long as --listen-client-http-urls is not specified.'),
  'listen-client-http-urls': spec('urls', '', M, 'honoured', 'List of URLs to listen on for http only client traffic. Enabling this flag removes http services from --listen-client-urls.'),
  'max-snapshots': spec('uint', '5', M, 'warn', 'Maximum number of snapshot files to retain (0 is unlimited). Deprecated in v3.6 and will be decommissioned in v3.8.', 'file retention only; etcd-node keeps its own snapshot files'),
  'max-wals': spec('uint', '5', M, 'warn', 'Maximum number of wal files to retain (0 is unlimited).', 'file retention only; etcd-node releases WAL segments once a snapshot covers them'),
  'memory-mlock': spec('bool', 'false', M, 'warn', 'Enable to enforce etcd pages (in particular bbolt) to stay in RAM.', 'a paging knob; etcd-node does not mlock'),
  'quota-backend-bytes': spec('int', '0', M, 'honoured', 'Sets the maximum size (in bytes) that the etcd backend database may consume. Set to 0 to use the default 2GiB limit.'),
  'backend-bbolt-freelist-type': spec('string', 'map', M, 'warn', 'BackendFreelistType specifies the type of freelist that boltdb backend uses (array and map are supported types).', 'bbolt-only; the backend is lmdb'),
  'backend-batch-interval': spec('duration', undefined, M, 'warn', 'BackendBatchInterval is the maximum time before commit the backend transaction.', 'a backend batching knob; etcd-node batches per Ready'),
  'backend-batch-limit': spec('int', '0', M, 'warn', 'BackendBatchLimit is the maximum operations before commit the backend transaction.', 'a backend batching knob; etcd-node batches per Ready'),
  'max-txn-ops': spec('uint', '128', M, 'honoured', 'Maximum number of operations permitted in a transaction.'),
  'max-request-bytes': spec('uint', '1572864', M, 'honoured', 'Maximum client request size in bytes the server will accept.'),
  'max-concurrent-streams': spec('uint32', '4294967295', M, 'honoured', 'Maximum concurrent streams that each client can open at a time.'),
  'grpc-keepalive-min-time': spec('duration', '5s', M, 'honoured', 'Minimum duration interval that a client should wait before pinging server.'),
  'grpc-keepalive-interval': spec('duration', '2h', M, 'honoured', 'Frequency duration of server-to-client ping to check if a connection is alive (0 to disable).'),
  'grpc-keepalive-timeout': spec('duration', '20s', M, 'honoured', 'Additional duration of wait before closing a non-responsive connection (0 to disable).'),
  'socket-reuse-port': spec('bool', 'false', M, 'warn', 'Enable to set socket option SO_REUSEPORT on listeners allowing rebinding of a port already in use.', 'Node.js 20 cannot set SO_REUSEPORT on a listener'),
  'socket-reuse-address': spec('bool', 'false', M, 'noop', 'Enable to set socket option SO_REUSEADDR on listeners allowing binding to an address in TIME_WAIT state.', 'Node.js always sets SO_REUSEADDR on listening sockets'),
  'enable-grpc-gateway': spec('bool', 'true', M, 'honoured', 'Enable GRPC gateway.', 'false: /v3/* answers 404; /health, /version, /metrics stay'),
  'raft-read-timeout': spec('duration', '5s', M, 'warn', 'Read timeout set on each rafthttp connection', 'peer connection timing; etcd-node peers use their own stream timeouts'),
  'raft-write-timeout': spec('duration', '5s', M, 'warn', 'Write timeout set on each rafthttp connection', 'peer connection timing; etcd-node peers use their own stream timeouts'),
  'feature-gates': spec('gates', '', M, 'honoured', 'A set of key=value pairs that describe server level feature gates for alpha/experimental features.', 'names and values checked as etcd checks them; see the gate rows'),
  // ---- Clustering
  'initial-advertise-peer-urls': spec('urls', 'http://localhost:2380', C, 'honoured', "List of this member's peer URLs to advertise to the rest of the cluster."),
  'initial-cluster': spec('string', 'default=http://localhost:2380', C, 'honoured', 'Initial cluster configuration for bootstrapping (default "${name}=${initial-advertise-peer-urls}").'),
  'initial-cluster-state': spec('enum', 'new', C, 'honoured', "Initial cluster state ('new' or 'existing').", undefined, { values: ['new', 'existing'] }),
  'initial-cluster-token': spec('string', 'etcd-cluster', C, 'honoured', 'Initial cluster token for the etcd cluster during bootstrap.'),
  'advertise-client-urls': spec('urls', 'http://localhost:2379', C, 'honoured', "List of this member's client URLs to advertise to the public."),
  discovery: spec('string', '', C, 'refused', 'Discovery URL used to bootstrap the cluster for v2 discovery.', 'discovery is not implemented: bootstrap with --initial-cluster'),
  'discovery-token': spec('string', '', C, 'refused', 'V3 discovery: discovery token for the etcd cluster to be bootstrapped.', 'discovery is not implemented: bootstrap with --initial-cluster'),
  'discovery-endpoints': spec('string', '', C, 'refused', 'V3 discovery: List of gRPC endpoints of the discovery service.', 'discovery is not implemented: bootstrap with --initial-cluster'),
  'discovery-dial-timeout': spec('duration', '2s', C, 'noop', 'V3 discovery: dial timeout for client connections.', 'used only with --discovery-endpoints (refused)'),
  'discovery-request-timeout': spec('duration', '5s', C, 'noop', 'V3 discovery: timeout for discovery requests (excluding dial timeout).', 'used only with --discovery-endpoints (refused)'),
  'discovery-keepalive-time': spec('duration', '2s', C, 'noop', 'V3 discovery: keepalive time for client connections.', 'used only with --discovery-endpoints (refused)'),
  'discovery-keepalive-timeout': spec('duration', '6s', C, 'noop', 'V3 discovery: keepalive timeout for client connections.', 'used only with --discovery-endpoints (refused)'),
  'discovery-insecure-transport': spec('bool', 'true', C, 'noop', 'V3 discovery: disable transport security for client connections.', 'used only with --discovery-endpoints (refused)'),
  'discovery-insecure-skip-tls-verify': spec('bool', 'false', C, 'noop', 'V3 discovery: skip server certificate verification.', 'used only with --discovery-endpoints (refused)'),
  'discovery-cert': spec('string', '', C, 'noop', 'V3 discovery: identify secure client using this TLS certificate file.', 'used only with --discovery-endpoints (refused)'),
  'discovery-key': spec('string', '', C, 'noop', 'V3 discovery: identify secure client using this TLS key file.', 'used only with --discovery-endpoints (refused)'),
  'discovery-cacert': spec('string', '', C, 'noop', 'V3 discovery: verify certificates of TLS-enabled secure servers using this CA bundle.', 'used only with --discovery-endpoints (refused)'),
  'discovery-user': spec('string', '', C, 'noop', 'V3 discovery: username[:password] for authentication.', 'used only with --discovery-endpoints (refused)'),
  'discovery-password': spec('string', '', C, 'noop', 'V3 discovery: password for authentication.', 'used only with --discovery-endpoints (refused)'),
  'discovery-fallback': spec('enum', 'exit', C, 'honoured', "Expected behavior ('exit') when discovery services fails. Note that v2 proxy is removed.", "'proxy' is refused as etcd 3.6 refuses it", { values: ['exit', 'proxy'] }),
  'discovery-proxy': spec('string', '', C, 'noop', 'HTTP proxy to use for traffic to discovery service.', 'used only with --discovery (refused)'),
  'discovery-srv': spec('string', '', C, 'refused', 'DNS srv domain used to bootstrap the cluster.', 'DNS SRV bootstrap is not implemented: bootstrap with --initial-cluster'),
  'discovery-srv-name': spec('string', '', C, 'noop', 'Suffix to the dns srv name queried when bootstrapping.', 'used only with --discovery-srv (refused)'),
  'strict-reconfig-check': spec('bool', 'true', C, 'honoured', 'Reject reconfiguration requests that would cause quorum loss.'),
  'pre-vote': spec('bool', 'true', C, 'honoured', 'Enable the raft Pre-Vote algorithm to prevent disruption when a node that has been partitioned away rejoins the cluster.'),
  'auto-compaction-retention': spec('string', '0', C, 'honoured', 'Auto compaction retention length. 0 means disable auto compaction.'),
  'auto-compaction-mode': spec('string', 'periodic', C, 'honoured', "Interpret 'auto-compaction-retention' one of: periodic|revision."),
  'v2-deprecation': spec('enum', 'write-only', C, 'noop', 'Phase of v2store deprecation. The default value is enforced, ignoring user input.', 'etcd-node has no v2 store; etcd 3.6 also enforces the default', { values: ['not-yet', 'write-only', 'write-only-skip-check', 'write-only-drop-data', 'gone'] }),
  // ---- Security
  'cert-file': spec('string', '', S, 'honoured', 'Path to the client server TLS cert file.'),
  'key-file': spec('string', '', S, 'honoured', 'Path to the client server TLS key file.'),
  'client-cert-auth': spec('bool', 'false', S, 'honoured', 'Enable client cert authentication.'),
  'client-cert-file': spec('string', '', S, 'noop', 'Path to an explicit peer client TLS cert file otherwise cert file will be used when client auth is required.', "etcd presents it from its gRPC gateway to its own gRPC server; etcd-node's gateway calls the services in-process"),
  'client-key-file': spec('string', '', S, 'noop', 'Path to an explicit peer client TLS key file otherwise key file will be used when client auth is required.', "as --client-cert-file"),
  'client-crl-file': spec('string', '', S, 'honoured', 'Path to the client certificate revocation list file.'),
  'client-cert-allowed-hostname': spec('string', '', S, 'honoured', 'Comma-separated list of SAN hostnames for client cert authentication.'),
  'trusted-ca-file': spec('string', '', S, 'honoured', 'Path to the client server TLS trusted CA cert file.'),
  'auto-tls': spec('bool', 'false', S, 'honoured', 'Client TLS using generated certificates.', 'a self-signed ECDSA P-256 certificate for the listen URLs\' hosts in <data-dir>/fixtures/client (made by etcd-node itself, reused when present), used when --cert-file/--key-file are not given'),
  'peer-cert-file': spec('string', '', S, 'honoured', 'Path to the peer server TLS cert file.'),
  'peer-key-file': spec('string', '', S, 'honoured', 'Path to the peer server TLS key file.'),
  'peer-client-cert-auth': spec('bool', 'false', S, 'honoured', 'Enable peer client cert authentication.'),
  'peer-client-cert-file': spec('string', '', S, 'honoured', 'Path to an explicit peer client TLS cert file otherwise peer cert file will be used when client auth is required.'),
  'peer-client-key-file': spec('string', '', S, 'honoured', 'Path to an explicit peer client TLS key file otherwise peer key file will be used when client auth is required.'),
  'peer-trusted-ca-file': spec('string', '', S, 'honoured', 'Path to the peer server TLS trusted CA file.'),
  'peer-cert-allowed-cn': spec('string', '', S, 'honoured', 'Comma-separated list of allowed CNs for inter-peer TLS authentication.'),
  'peer-cert-allowed-hostname': spec('string', '', S, 'honoured', 'Comma-separated list of allowed SAN hostnames for inter-peer TLS authentication.'),
  'peer-auto-tls': spec('bool', 'false', S, 'honoured', 'Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided.', 'as --auto-tls, in <data-dir>/fixtures/peer; members then do not verify each other\'s certificates (as etcd)'),
  'self-signed-cert-validity': spec('uint', '1', S, 'honoured', 'The validity period of the client and peer certificates that are automatically generated by etcd, in years.', 'for --auto-tls/--peer-auto-tls'),
  'peer-crl-file': spec('string', '', S, 'honoured', 'Path to the peer certificate revocation list file.'),
  'cipher-suites': spec('string', '', S, 'honoured', 'Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated).', "Go's names, mapped to OpenSSL's (RC4 and 3DES suites are refused)"),
  cors: spec('origins', '*', S, 'honoured', 'Comma-separated whitelist of origins for CORS, or cross-origin resource sharing, (empty or * means allow all).'),
  'host-whitelist': spec('string', '*', S, 'honoured', 'Acceptable hostnames from HTTP client requests, if server is not secure (empty or * means allow all).'),
  'tls-min-version': spec('string', 'TLS1.2', S, 'honoured', 'Minimum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3.'),
  'tls-max-version': spec('string', '', S, 'honoured', 'Maximum TLS version supported by etcd. Possible values: TLS1.2, TLS1.3 (empty will be auto-populated).'),
  // ---- Auth
  'auth-token': spec('string', 'simple', A, 'honoured', "Specify a v3 authentication token type and its options ('simple' or 'jwt').", "'jwt' is refused (not supported yet)"),
  'bcrypt-cost': spec('uint', '10', A, 'warn', 'Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31.', 'etcd-node hashes passwords with scrypt at its own cost'),
  'auth-token-ttl': spec('uint', '300', A, 'honoured', 'Time (in seconds) of the auth-token-ttl.'),
  // ---- Profiling and Monitoring
  'enable-pprof': spec('bool', 'false', P, 'warn', 'Enable runtime profiling data via HTTP server.', 'Go runtime profiles do not exist in Node.js (use node --inspect / --cpu-prof)'),
  metrics: spec('string', 'basic', P, 'warn', "Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics.", "etcd-node exports one metric set ('basic'-like)"),
  'listen-metrics-urls': spec('urls', '', P, 'honoured', 'List of URLs to listen on for the /metrics and /health endpoints.'),
  // ---- Logging
  logger: spec('string', 'zap', L, 'honoured', "Currently only supports 'zap' for structured logging."),
  'log-outputs': spec('string', 'default', L, 'honoured', "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets.", "'default' is stderr (etcd-node does not log to journald); file paths are appended to"),
  'log-level': spec('string', 'info', L, 'honoured', 'Configures log level. Only supports debug, info, warn, error, panic, or fatal.'),
  'log-format': spec('string', 'json', L, 'warn', 'Configures log format. Only supports json, console.', "etcd-node logs JSON; 'console' is logged as JSON with a warning"),
  'enable-log-rotation': spec('bool', 'false', L, 'warn', 'Enable log rotation of a single log-outputs file target.', 'etcd-node does not write log files'),
  'log-rotation-config-json': spec('string', '{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}', L, 'warn', 'Configures log rotation if enabled with a JSON logger config.', 'etcd-node does not write log files'),
  'warning-unary-request-duration': spec('duration', '300ms', L, 'warn', 'Set time duration after which a warning is logged if a unary request takes more than this duration.', 'a log threshold; etcd-node logs no slow-request warnings'),
  // ---- tracing
  'enable-distributed-tracing': spec('bool', 'false', T, 'warn', 'Enable distributed tracing.', tracing),
  'distributed-tracing-address': spec('string', 'localhost:4317', T, 'warn', 'Distributed tracing collector address.', tracing),
  'distributed-tracing-service-name': spec('string', 'etcd', T, 'warn', 'Distributed tracing service name, must be same across all etcd instances.', tracing),
  'distributed-tracing-instance-id': spec('string', '', T, 'warn', 'Distributed tracing instance ID, must be unique per each etcd instance.', tracing),
  'distributed-tracing-sampling-rate': spec('int', '0', T, 'warn', 'Number of samples to collect per million spans for distributed tracing.', tracing),
  // ---- Experimental feature (3.6 names)
  'corrupt-check-time': spec('duration', '0s', X, 'warn', 'Duration of time between cluster corruption check passes.', noCheck),
  'compact-hash-check-time': spec('duration', '1m', X, 'warn', 'Duration of time between leader checks followers compaction hashes.', noCheck),
  'compaction-batch-limit': spec('int', '1000', X, 'warn', 'CompactionBatchLimit sets the maximum revisions deleted in each compaction batch.', 'a compaction pacing knob; etcd-node compacts in its own batches'),
  'peer-skip-client-san-verification': spec('bool', 'false', X, 'honoured', 'Skip verification of SAN field in client certificate for peer connections.', 'etcd-node never checks a peer client certificate\'s SAN against the connection\'s address, so true is what it does; false (etcd\'s check) is not done'),
  'watch-progress-notify-interval': spec('duration', '10m', X, 'honoured', 'Duration of periodical watch progress notification.'),
  'warning-apply-duration': spec('duration', '100ms', X, 'warn', 'Warning is generated if requests take more than this duration.', 'a log threshold; etcd-node logs no slow-apply warnings'),
  'bootstrap-defrag-threshold-megabytes': spec('uint', '0', X, 'warn', 'Enable the defrag during etcd server bootstrap on condition that it will free at least the provided threshold of disk space.', 'a start-time defragmentation; etcd-node does not defragment at start'),
  'max-learners': spec('int', '1', X, 'honoured', 'Set the max number of learner members allowed in the cluster membership.'),
  'compaction-sleep-interval': spec('duration', '10ms', X, 'warn', 'Sets the sleep interval between each compaction batch.', 'a compaction pacing knob'),
  'downgrade-check-time': spec('duration', '5s', X, 'warn', 'Duration of time between two downgrade status checks.', 'etcd-node has no downgrade'),
  'snapshot-catchup-entries': spec('uint', '5000', X, 'honoured', 'Number of entries for a slow follower to catch up after compacting the raft storage entries.'),
  // ---- Unsafe feature
  'force-new-cluster': spec('bool', 'false', U, 'honoured', 'Force to create a new one-member cluster.', 'on a restart: the log is cut at the commit index and conf changes removing every other member are appended, as etcd does; the data and cluster id stay'),
  'unsafe-no-fsync': spec('bool', 'false', U, 'warn', 'Disables fsync, unsafe, will cause data loss.', 'etcd-node keeps fsync on (safer; no result changes)'),
  // ---- the configuration file
  'config-file': spec('string', '', 'Config file', 'refused', 'Path to the server configuration file. If given, other command line flags and environment variables are ignored.', 'YAML configuration files are not supported yet: give flags or ETCD_* variables'),
};

const experimentalNames: Record<string, string> = {
  'experimental-distributed-tracing-address': 'distributed-tracing-address',
  'experimental-distributed-tracing-service-name': 'distributed-tracing-service-name',
  'experimental-distributed-tracing-instance-id': 'distributed-tracing-instance-id',
  'experimental-distributed-tracing-sampling-rate': 'distributed-tracing-sampling-rate',
  'experimental-enable-distributed-tracing': 'enable-distributed-tracing',
  'experimental-corrupt-check-time': 'corrupt-check-time',
  'experimental-compact-hash-check-time': 'compact-hash-check-time',
  'experimental-compaction-batch-limit': 'compaction-batch-limit',
  'experimental-peer-skip-client-san-verification': 'peer-skip-client-san-verification',
  'experimental-watch-progress-notify-interval': 'watch-progress-notify-interval',
  'experimental-warning-apply-duration': 'warning-apply-duration',
  'experimental-bootstrap-defrag-threshold-megabytes': 'bootstrap-defrag-threshold-megabytes',
  'experimental-warning-unary-request-duration': 'warning-unary-request-duration',
  'experimental-compaction-sleep-interval': 'compaction-sleep-interval',
  'experimental-downgrade-check-time': 'downgrade-check-time',
  'experimental-memory-mlock': 'memory-mlock',
  'experimental-snapshot-catchup-entries': 'snapshot-catchup-entries',
};

const gateFlags: Record<string, FlagSpec> = {
  'experimental-initial-corrupt-check': gateFlag('InitialCorruptCheck', 'Enable to check data corruption before serving any client/peer traffic.', 'warn', noCheck),
  'experimental-compact-hash-check-enabled': gateFlag('CompactHashCheck', 'Enable leader to periodically check followers compaction hashes.', 'warn', noCheck),
  'experimental-enable-lease-checkpoint': gateFlag('LeaseCheckpoint', 'Enable primary lessor to persist lease remainingTTL to prevent indefinite auto-renewal of long lived leases.', 'refused', 'lease checkpoints are not implemented yet: a leader change gives every lease its full TTL again'),
  'experimental-enable-lease-checkpoint-persist': gateFlag('LeaseCheckpointPersist', 'Enable persisting remainingTTL to prevent indefinite auto-renewal of long lived leases.', 'refused', 'lease checkpoints are not implemented yet'),
  'experimental-txn-mode-write-with-shared-buffer': gateFlag('TxnModeWriteWithSharedBuffer', 'Enable the write transaction to use a shared buffer in its readonly check operations.', 'noop', 'a bbolt buffering choice; no result depends on it'),
  'experimental-stop-grpc-service-on-defrag': gateFlag('StopGRPCServiceOnDefrag', 'Enable etcd gRPC service to stop serving client requests on defragmentation.', 'warn', 'etcd-node keeps serving during a defragmentation (health-check behaviour only)'),
};

/** What each feature gate does in etcd-node (state as for flags). */
export const GATE_STATES: Readonly<Record<string, { state: FlagState; note: string }>> = {
  AllAlpha: { state: 'warn', note: 'turns on every alpha gate: each is handled as its own row' },
  AllBeta: { state: 'warn', note: 'turns on every beta gate: each is handled as its own row' },
  CompactHashCheck: { state: 'warn', note: noCheck },
  InitialCorruptCheck: { state: 'warn', note: noCheck },
  LeaseCheckpoint: { state: 'refused', note: 'lease checkpoints are not implemented yet: a leader change gives every lease its full TTL again' },
  LeaseCheckpointPersist: { state: 'refused', note: 'lease checkpoints are not implemented yet' },
  SetMemberLocalAddr: { state: 'noop', note: 'etcd-node already dials its peers from its own peer address when that is an IP' },
  StopGRPCServiceOnDefrag: { state: 'warn', note: 'etcd-node keeps serving during a defragmentation (health-check behaviour only)' },
  TxnModeWriteWithSharedBuffer: { state: 'noop', note: 'a bbolt buffering choice; no result depends on it' },
};

function withExperimental(): Record<string, FlagSpec> {
  const out: Record<string, FlagSpec> = { ...base };
  for (const [old, name] of Object.entries(experimentalNames)) out[old] = experimental(name, base[name]!);
  Object.assign(out, gateFlags);
  return out;
}

/** Every flag etcd-node takes: etcd 3.6's, by name. */
export const FLAGS: Readonly<Record<string, FlagSpec>> = withExperimental();
