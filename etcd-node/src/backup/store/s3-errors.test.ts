// How SDK and Node failures become StoreError codes, without a server: the same names, statuses and
// codes the SDK passes on (test/backup/s3-store.test.ts sees the real ones from MinIO).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { codeOf, redact, storeErrorOf } from './s3-errors.js';
import { StoreError } from './store.js';

const service = (name: string, status: number): Error => Object.assign(new Error(`${name} said the server`), { name, $metadata: { httpStatusCode: status }, $fault: 'client' });
const node = (code: string): Error => Object.assign(new Error(`${code} said Node`), { code });

describe('S3 errors as StoreError codes', () => {
  it('by the service error name and the HTTP status', () => {
    const cases: [Error, 'object' | 'bucket', string][] = [
      [service('NoSuchKey', 404), 'object', 'NotFound'],
      [service('NotFound', 404), 'object', 'NotFound'],
      [service('NotFound', 404), 'bucket', 'NoSuchBucket'],
      [service('NoSuchBucket', 404), 'object', 'NoSuchBucket'],
      [service('InvalidAccessKeyId', 403), 'object', 'AccessDenied'],
      [service('SignatureDoesNotMatch', 403), 'bucket', 'AccessDenied'],
      [service('AccessDenied', 403), 'object', 'AccessDenied'],
      [service('Forbidden', 403), 'bucket', 'AccessDenied'],
      [service('Unknown', 403), 'bucket', 'AccessDenied'],
      [service('PermanentRedirect', 301), 'bucket', 'InvalidConfig'],
      [service('AuthorizationHeaderMalformed', 400), 'bucket', 'InvalidConfig'],
      [service('InternalError', 500), 'object', 'Failed'],
      [service('SlowDown', 503), 'object', 'Failed'],
    ];
    for (const [err, notFound, code] of cases) assert.equal(codeOf(err, notFound).code, code, `${err.name} ${notFound}`);
  });

  it('by the Node error code: connection, name lookup, timeouts and certificates are Unreachable', () => {
    for (const c of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPROTO']) {
      assert.equal(codeOf(node(c), 'object').code, 'Unreachable', c);
    }
    for (const c of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      const { code, detail } = codeOf(node(c), 'bucket');
      assert.equal(code, 'Unreachable', c);
      assert.match(detail, /TLS/);
    }
    assert.equal(codeOf(Object.assign(new Error('slow'), { name: 'TimeoutError' }), 'object').code, 'Unreachable');
    assert.equal(codeOf(node('ERR_INVALID_URL'), 'object').code, 'InvalidConfig');
    assert.equal(codeOf(node('EWHATEVER'), 'object').code, 'Failed');
    assert.equal(codeOf('a string', 'object').code, 'Failed');
  });

  it('messages name the context, keep the cause and never hold a secret', () => {
    const secret = 'very-secret-key';
    const err = storeErrorOf(service('SignatureDoesNotMatch', 403), `s3://b at http://h:9000: get ${secret}/x`, 'object', [secret]);
    assert.ok(err instanceof StoreError);
    assert.equal(err.code, 'AccessDenied');
    assert.match(err.message, /^s3:\/\/b at http:\/\/h:9000: get <redacted>\/x: SignatureDoesNotMatch \(HTTP 403\)/);
    assert.ok(err.cause instanceof Error);
    const already = new StoreError('Aborted', 'x');
    assert.equal(storeErrorOf(already, 'ctx', 'object', []), already);
    assert.equal(redact('abc', ['']), 'abc', 'an empty secret redacts nothing');
  });
});
