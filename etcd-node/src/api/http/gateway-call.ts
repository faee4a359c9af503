// A gRPC server call made by the JSON gateway instead of a network peer: the service handlers run
// unchanged (same validation, auth checks and errors as over gRPC). Requests are pushed in by the
// gateway as the HTTP body is parsed; what a handler writes goes to `onMessage`, its end to `onEnd`,
// and an error it emits (streaming handlers report errors that way) to `onError`.
import { Duplex } from 'node:stream';
import type { Deadline, Metadata, ServerDuplexStream, ServerUnaryCall } from '@grpc/grpc-js';

type SurfaceCall = ServerUnaryCall<unknown, unknown>;
type AuthContext = ReturnType<SurfaceCall['getAuthContext']>;
type PerRequestMetricRecorder = ReturnType<SurfaceCall['getMetricsRecorder']>;

export interface GatewayCallSink<Res> {
  onMessage(res: Res): void;
  onEnd(): void;
  onError(err: unknown): void;
}

export class GatewayCall<Req, Res> extends Duplex {
  cancelled = false;
  /** the request of a unary or server-streaming call */
  request: Req;

  constructor(
    readonly metadata: Metadata,
    private readonly path: string,
    request: Req,
    private readonly peer: string,
    private readonly sink: GatewayCallSink<Res>,
  ) {
    super({ objectMode: true });
    this.request = request;
    this.on('error', (err: unknown) => {
      if (!this.cancelled) sink.onError(err);
    });
  }

  /** The HTTP client went away: what a gRPC handler sees as a cancelled call. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
    this.destroy();
  }

  override _read(): void {
    // requests are pushed by the gateway as it parses the body
  }

  override _write(chunk: Res, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.cancelled) this.sink.onMessage(chunk);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.cancelled) this.sink.onEnd();
    cb();
  }

  getPeer(): string {
    return this.peer;
  }
  sendMetadata(): void {
    // HTTP headers are written by the gateway
  }
  getDeadline(): Deadline {
    return Infinity;
  }
  getPath(): string {
    return this.path;
  }
  getHost(): string {
    return 'gateway';
  }
  getAuthContext(): AuthContext {
    return {};
  }
  getMetricsRecorder(): PerRequestMetricRecorder {
    throw new Error('gateway calls record no per-request metrics');
  }

  /** This object as the duplex call a streaming handler takes. */
  asDuplex(): ServerDuplexStream<Req, Res> {
    return this;
  }
}
