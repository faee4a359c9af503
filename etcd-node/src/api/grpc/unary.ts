// Adapts an async function to a grpc-js unary handler, mapping thrown errors to etcd's statuses.
import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from '../../util/logger.js';
import { toServiceError } from './errors.js';

export function unary<Req, Res>(
  log: Logger,
  method: string,
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    let result: Res | Promise<Res>;
    try {
      result = fn(call.request, call);
    } catch (err) {
      callback(toServiceError(err, log, method));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err, log, method)),
      );
    } else {
      callback(null, result);
    }
  };
}

/** A handler for an RPC this build does not serve yet: gRPC Unimplemented, never a hang. */
export function unimplemented<Req, Res>(method: string): handleUnaryCall<Req, Res> {
  return (_call, callback) =>
    callback({ code: status.UNIMPLEMENTED, details: `etcd-node does not implement ${method} yet` });
}
