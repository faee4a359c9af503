// etcd's client-visible errors: gRPC status code plus the exact message text. Clients (etcdctl, clientv3,
// etcd3, kube-apiserver) map errors by message, so these strings are a wire contract.
import { status } from '@grpc/grpc-js';

export class EtcdError extends Error {
  constructor(
    readonly grpcCode: status,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

const e = (code: status, msg: string): EtcdError => new EtcdError(code, `etcdserver: ${msg}`);

/** The catalogue, keyed by a stable name; compare errors with `===` against these instances or by `grpcCode`. */
export const Errors = {
  EmptyKey: e(status.INVALID_ARGUMENT, 'key is not provided'),
  KeyNotFound: e(status.INVALID_ARGUMENT, 'key not found'),
  ValueProvided: e(status.INVALID_ARGUMENT, 'value is provided'),
  LeaseProvided: e(status.INVALID_ARGUMENT, 'lease is provided'),
  TooManyOps: e(status.INVALID_ARGUMENT, 'too many operations in txn request'),
  DuplicateKey: e(status.INVALID_ARGUMENT, 'duplicate key given in txn request'),
  InvalidSortOption: e(status.INVALID_ARGUMENT, 'invalid sort option'),
  Compacted: e(status.OUT_OF_RANGE, 'mvcc: required revision has been compacted'),
  FutureRev: e(status.OUT_OF_RANGE, 'mvcc: required revision is a future revision'),
  NoSpace: e(status.RESOURCE_EXHAUSTED, 'mvcc: database space exceeded'),
  LeaseNotFound: e(status.NOT_FOUND, 'requested lease not found'),
  LeaseExist: e(status.FAILED_PRECONDITION, 'lease already exists'),
  LeaseTTLTooLarge: e(status.OUT_OF_RANGE, 'too large lease TTL'),
  MemberExist: e(status.FAILED_PRECONDITION, 'member ID already exist'),
  PeerURLExist: e(status.FAILED_PRECONDITION, 'Peer URLs already exists'),
  MemberNotEnoughStarted: e(status.FAILED_PRECONDITION, 're-configuration failed due to not enough started members'),
  MemberBadURLs: e(status.INVALID_ARGUMENT, 'given member URLs are invalid'),
  MemberNotFound: e(status.NOT_FOUND, 'member not found'),
  MemberNotLearner: e(status.FAILED_PRECONDITION, 'can only promote a learner member'),
  LearnerNotReady: e(status.FAILED_PRECONDITION, 'can only promote a learner member which is in sync with leader'),
  TooManyLearners: e(status.FAILED_PRECONDITION, 'too many learner members in cluster'),
  RequestTooLarge: e(status.INVALID_ARGUMENT, 'request is too large'),
  TooManyRequests: e(status.RESOURCE_EXHAUSTED, 'too many requests'),
  RootUserNotExist: e(status.FAILED_PRECONDITION, 'root user does not exist'),
  RootRoleNotExist: e(status.FAILED_PRECONDITION, 'root user does not have root role'),
  UserAlreadyExist: e(status.FAILED_PRECONDITION, 'user name already exists'),
  UserEmpty: e(status.INVALID_ARGUMENT, 'user name is empty'),
  UserNotFound: e(status.FAILED_PRECONDITION, 'user name not found'),
  RoleAlreadyExist: e(status.FAILED_PRECONDITION, 'role name already exists'),
  RoleNotFound: e(status.FAILED_PRECONDITION, 'role name not found'),
  RoleEmpty: e(status.INVALID_ARGUMENT, 'role name is empty'),
  AuthFailed: e(status.INVALID_ARGUMENT, 'authentication failed, invalid user ID or password'),
  PermissionDenied: e(status.PERMISSION_DENIED, 'permission denied'),
  RoleNotGranted: e(status.FAILED_PRECONDITION, 'role is not granted to the user'),
  PermissionNotGranted: e(status.FAILED_PRECONDITION, 'permission is not granted to the role'),
  AuthNotEnabled: e(status.FAILED_PRECONDITION, 'authentication is not enabled'),
  InvalidAuthToken: e(status.UNAUTHENTICATED, 'invalid auth token'),
  InvalidAuthMgmt: e(status.INVALID_ARGUMENT, 'invalid auth management'),
  AuthOldRevision: e(status.INVALID_ARGUMENT, 'revision of auth store is old'),
  // etcd 3.4 returns this one unmapped: gRPC Unknown with its auth package's text
  AuthNoPasswordUser: new EtcdError(status.UNKNOWN, 'auth: authentication failed, password was given for no password user'),
  NoLeader: e(status.UNAVAILABLE, 'no leader'),
  NotLeader: e(status.FAILED_PRECONDITION, 'not leader'),
  LeaderChanged: e(status.UNAVAILABLE, 'leader changed'),
  NotCapable: e(status.UNAVAILABLE, 'not capable'),
  Stopped: e(status.UNAVAILABLE, 'server stopped'),
  Timeout: e(status.UNAVAILABLE, 'request timed out'),
  Unhealthy: e(status.UNAVAILABLE, 'unhealthy cluster'),
  Corrupt: e(status.DATA_LOSS, 'corrupt cluster'),
  NotSupportedForLearner: e(status.UNAVAILABLE, 'rpc not supported for learner'),
  BadLeaderTransferee: e(status.FAILED_PRECONDITION, 'bad leader transferee'),
  TimeoutLeaderTransfer: e(status.UNAVAILABLE, 'request timed out, leader transfer took too long'),
  // etcd-io/raft's ErrProposalDropped, which etcd hands to the client unmapped
  ProposalDropped: new EtcdError(status.UNKNOWN, 'raft proposal dropped'),
  // the Election service answers with its recipe's plain errors: gRPC Unknown and these texts
  ElectionNoLeader: new EtcdError(status.UNKNOWN, 'election: no leader'),
  ElectionNotLeader: new EtcdError(status.UNKNOWN, 'election: not leader'),
  ElectionMissingLeaderKey: new EtcdError(status.UNKNOWN, '"leader" field must be provided'),
} as const;

export type ErrorName = keyof typeof Errors;
