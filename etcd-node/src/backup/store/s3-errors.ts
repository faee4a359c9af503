// How a failure of the AWS SDK (a service error, or a Node network or TLS error it passes through after
// its retries) becomes a StoreError: by the error's name, its HTTP status, or Node's error code, never
// by its message. The message says which bucket, endpoint and object, and never holds a secret.
import type { StoreErrorCode } from './store.js';
import { StoreError } from './store.js';

/** What a 404 without a specific error name (HeadBucket and HeadObject have no error body) means. */
export type NotFoundMeans = 'object' | 'bucket';

const accessDeniedNames = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
]);

/** Answers of a server that says the configuration points at the wrong place. */
const invalidConfigNames = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'InvalidBucketName']);

/** Node's codes for "could not talk to the server at all". */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EPROTO',
  'UND_ERR_SOCKET',
]);

/** OpenSSL's and Node's codes for a certificate or handshake that failed. */
function isTlsCode(code: string): boolean {
  return /^(ERR_TLS_|ERR_SSL_)/.test(code) || /CERT|_SIGNATURE|_ISSUER|SELF_SIGNED/.test(code);
}

interface ErrorFields {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $fault?: unknown;
}

function fields(err: unknown): ErrorFields {
  return typeof err === 'object' && err !== null ? err : {};
}

/** The store's code for an SDK failure; `notFound` says what a bare 404 refers to. */
export function codeOf(err: unknown, notFound: NotFoundMeans): { code: StoreErrorCode; detail: string } {
  const e = fields(err);
  const name = typeof e.name === 'string' ? e.name : '';
  const nodeCode = typeof e.code === 'string' ? e.code : '';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const statusText = status !== undefined ? ` (HTTP ${status})` : '';

  // a Node error (connection, name lookup, TLS, timeout) carries a code and no answer from the server
  if (nodeCode !== '' && (networkCodes.has(nodeCode) || isTlsCode(nodeCode))) {
    const tls = isTlsCode(nodeCode) ? ' (TLS: is the server certificate trusted, e.g. through the configured CA?)' : '';
    return { code: 'Unreachable', detail: `${nodeCode}: ${message}${tls}` };
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || nodeCode === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { code: 'Unreachable', detail: `timed out: ${message}` };
  }
  if (nodeCode === 'ERR_INVALID_URL') return { code: 'InvalidConfig', detail: `${nodeCode}: ${message}` };

  const detail = `${name !== '' ? name : 'error'}${statusText}: ${message}`;
  if (name === 'NoSuchBucket') return { code: 'NoSuchBucket', detail };
  if (name === 'NoSuchKey') return { code: 'NotFound', detail };
  if (accessDeniedNames.has(name) || status === 403) return { code: 'AccessDenied', detail };
  if (invalidConfigNames.has(name) || status === 301) return { code: 'InvalidConfig', detail };
  if (name === 'NotFound' || status === 404) return { code: notFound === 'bucket' ? 'NoSuchBucket' : 'NotFound', detail };
  return { code: 'Failed', detail };
}

/** Removes any of `secrets` from a message: servers may echo what they were sent. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  return out;
}

/** A StoreError for `err` (passed through when it already is one). */
export function storeErrorOf(err: unknown, context: string, notFound: NotFoundMeans, secrets: readonly string[]): StoreError {
  if (err instanceof StoreError) return err;
  const { code, detail } = codeOf(err, notFound);
  return new StoreError(code, redact(`${context}: ${detail}`, secrets), { cause: err });
}
