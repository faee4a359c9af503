// Per-method gRPC counters, for the grpc_server_* metrics etcd exports (go-grpc-prometheus's names),
// etcd_server_client_requests_total and the client message bytes: started, handled by status code,
// messages received and sent. The
// handlers are wrapped once at registration; a call pays a few increments and, for unary calls, one
// closure. Read by api/http/metrics.ts when Prometheus scrapes.
import { status, type Metadata, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

export interface MethodStats {
  readonly service: string;
  readonly method: string;
  readonly type: GrpcType;
  started: number;
  received: number;
  sent: number;
  /** status code → calls that ended with it */
  readonly handled: Map<number, number>;
}

/** The metadata key etcd's clients send their API version in (etcd_server_client_requests_total's label). */
const API_VERSION_KEY = 'client-api-version';

interface StreamLike {
  readonly metadata: Metadata;
  write?: (...args: never[]) => boolean;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  once(event: string, fn: (...args: unknown[]) => void): unknown;
}
type UnaryCallback = (err: { code?: number } | null, value?: unknown, trailer?: unknown, flags?: unknown) => void;
type Handler = (call: StreamLike, callback?: UnaryCallback) => void;

export class GrpcCallStats {
  readonly methods: MethodStats[] = [];
  /** `${version} ${unary|stream}` → requests (etcd_server_client_requests_total) */
  readonly clientRequests = new Map<string, number>();
  /** bytes of request and response messages (etcd_network_client_grpc_{received,sent}_bytes_total) */
  receivedBytes = 0;
  sentBytes = 0;

  /** `definition` with its (de)serializers counting message bytes. */
  countBytes<D extends ServiceDefinition>(definition: D): D {
    const out: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(definition)) {
      out[name] = {
        ...m,
        requestDeserialize: (buf: Buffer): unknown => {
          this.receivedBytes += buf.length;
          return m.requestDeserialize(buf);
        },
        responseSerialize: (value: unknown): Buffer => {
          const buf = m.responseSerialize(value);
          this.sentBytes += buf.length;
          return buf;
        },
      };
    }
    return out as D;
  }

  private countClient(md: Metadata, type: 'unary' | 'stream'): void {
    const v = md.get(API_VERSION_KEY)[0];
    const key = `${typeof v === 'string' ? v : 'unknown'} ${type}`;
    this.clientRequests.set(key, (this.clientRequests.get(key) ?? 0) + 1);
  }

  /** `impl` with every handler counted; `service` is the full name (e.g. etcdserverpb.KV). */
  wrap(service: string, definition: ServiceDefinition, impl: UntypedServiceImplementation): UntypedServiceImplementation {
    const out: UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(impl)) {
      const d = (definition as Record<string, { path?: string; requestStream?: boolean; responseStream?: boolean } | undefined>)[name];
      const type: GrpcType = d?.requestStream ? (d.responseStream ? 'bidi_stream' : 'client_stream') : d?.responseStream ? 'server_stream' : 'unary';
      const method = d?.path?.split('/').pop() ?? name;
      const s: MethodStats = { service, method, type, started: 0, received: 0, sent: 0, handled: new Map() };
      this.methods.push(s);
      const done = (code: number): void => {
        s.handled.set(code, (s.handled.get(code) ?? 0) + 1);
      };
      const h = handler as unknown as Handler;
      const wrapped: Handler =
        type === 'unary'
          ? (call, callback) => {
              s.started++;
              s.received++;
              this.countClient(call.metadata, 'unary');
              h(call, (err, value, trailer, flags) => {
                if (err) done(err.code ?? status.UNKNOWN);
                else {
                  s.sent++;
                  done(status.OK);
                }
                callback?.(err, value, trailer, flags);
              });
            }
          : (call) => {
              s.started++;
              this.countClient(call.metadata, 'stream');
              if (type === 'server_stream') s.received++;
              else call.on('data', () => void s.received++);
              const write = call.write;
              if (write) {
                call.write = (...args: never[]) => {
                  s.sent++;
                  return write.apply(call, args);
                };
              }
              let ended = false;
              const end = (code: number): void => {
                if (ended) return;
                ended = true;
                done(code);
              };
              call.once('error', (e) => end((e as { code?: number } | undefined)?.code ?? status.UNKNOWN));
              call.once('cancelled', () => end(status.CANCELLED));
              call.once('finish', () => end(status.OK));
              h(call);
            };
      out[name] = wrapped;
    }
    return out;
  }
}
