// Turns what a handler threw into a gRPC status: etcd's errors keep their code and exact text; anything
// else is an internal fault, logged here and answered as etcd answers unknown failures.
import { status, type ServiceError } from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';
import { EtcdError } from '../../server/errors.js';
import type { Logger } from '../../util/logger.js';

export function toServiceError(err: unknown, log: Logger, method: string): Partial<ServiceError> {
  if (err instanceof EtcdError) return { code: err.grpcCode, details: err.message, metadata: new Metadata() };
  log.error('request failed', { method, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { code: status.UNKNOWN, details: err instanceof Error ? err.message : String(err), metadata: new Metadata() };
}
