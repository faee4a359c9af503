// etcd's require-leader contract. A client that sets the gRPC metadata `hasleader: true` (Go's
// clientv3.WithRequireLeader, which kube-apiserver uses for its watches) wants an error instead of a call
// that waits on a member cut off from its cluster: a call made while the member knows no leader is refused
// at once with `etcdserver: no leader` (Unavailable), and the streams it holds (Watch, LeaseKeepAlive, …)
// are ended with that error once the member has known no leader for three election timeouts in a row
// (etcd checks once per election timeout and gives up after 3 misses), so the client moves to another
// member. Calls without the metadata are not affected.
import { status, type Metadata, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

export const REQUIRE_LEADER_KEY = 'hasleader';
/** etcd's maxNoLeaderCnt: leaderless checks in a row before require-leader streams are ended */
const MISSES_BEFORE_CANCEL = 3;

const noLeader = (): { code: status; details: string } => ({ code: status.UNAVAILABLE, details: 'etcdserver: no leader' });

export function requiresLeader(md: Metadata | undefined): boolean {
  return md?.get(REQUIRE_LEADER_KEY).some((v) => v.toString() === 'true') ?? false;
}

/** What the guard needs of the server: the leader it knows now (0n: none). */
export interface LeaderView {
  leaderId(): bigint;
}

interface GuardedStream {
  readonly metadata: Metadata;
  emit(event: 'error', err: { code: status; details: string }): boolean;
  once(event: string, fn: () => void): unknown;
}
type Handler = (call: GuardedStream, callback?: (err: { code: status; details: string } | null) => void) => void;

export class RequireLeaderGuard {
  private readonly streams = new Set<GuardedStream>();
  private misses = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly view: LeaderView,
    electionTimeoutMs: number,
  ) {
    this.timer = setInterval(() => this.check(), electionTimeoutMs);
    this.timer.unref();
  }

  /** One check (the timer's): after MISSES_BEFORE_CANCEL leaderless checks, every guarded stream ends. */
  check(): void {
    if (this.view.leaderId() !== 0n) {
      this.misses = 0;
      return;
    }
    if (++this.misses < MISSES_BEFORE_CANCEL) return;
    const streams = [...this.streams];
    this.streams.clear();
    for (const s of streams) s.emit('error', noLeader());
  }

  /** The service's handlers with the contract in front (the definition says which methods stream). */
  wrap(definition: ServiceDefinition, impl: UntypedServiceImplementation): UntypedServiceImplementation {
    const out: UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(impl)) {
      const d = (definition as Record<string, { responseStream?: boolean; requestStream?: boolean } | undefined>)[method];
      const h = handler as unknown as Handler;
      const streaming = d?.responseStream === true;
      const wrapped: Handler = streaming
        ? (call) => {
            if (requiresLeader(call.metadata)) {
              if (this.view.leaderId() === 0n) {
                call.emit('error', noLeader());
                return;
              }
              this.streams.add(call);
              const drop = (): void => {
                this.streams.delete(call);
              };
              for (const e of ['close', 'cancelled', 'finish', 'error']) call.once(e, drop);
            }
            h(call);
          }
        : (call, callback) => {
            // the leader first: a field read, where the metadata is a lookup on every call
            if (this.view.leaderId() === 0n && requiresLeader(call.metadata)) {
              callback?.(noLeader());
              return;
            }
            h(call, callback);
          };
      out[method] = wrapped;
    }
    return out;
  }

  close(): void {
    clearInterval(this.timer);
    this.streams.clear();
  }
}
