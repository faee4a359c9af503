import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureSelfCert, makeSelfCert } from './self-cert.js';

test("a self-signed certificate of etcd's shape: O=etcd, the hosts as SANs, verified by its own key", () => {
  const now = new Date('2026-01-02T03:04:05Z');
  const { cert, key } = makeSelfCert({ hosts: ['127.0.0.1', 'localhost', '[::1]', 'etcd-0.svc'], validityYears: 2, clientAuth: true, now });
  const x = new X509Certificate(cert);
  assert.equal(x.subject, 'O=etcd');
  assert.equal(x.issuer, 'O=etcd');
  assert.equal(x.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1, DNS:etcd-0.svc');
  assert.equal(new Date(x.validFrom).toISOString(), '2026-01-02T03:04:05.000Z');
  assert.equal(new Date(x.validTo).toISOString(), '2028-01-02T03:04:05.000Z');
  assert.ok(x.verify(x.publicKey), 'self-signed');
  assert.ok(x.checkPrivateKey(createPrivateKey(key)));
  assert.equal(x.ca, false);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkHost('localhost'), 'localhost');
  // serverAuth only without clientAuth; GeneralizedTime past 2049
  const late = new X509Certificate(makeSelfCert({ hosts: ['a'], validityYears: 30, now }).cert);
  assert.deepEqual(late.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(new Date(late.validTo).toISOString().slice(0, 10), '2055-12-26'); // 30 × 365 days, as etcd counts them
});

test('the files are made once (key 0600) and reused, as etcd does', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'etcd-ts-selfcert-'));
  try {
    const a = ensureSelfCert(path.join(dir, 'fixtures', 'client'), { hosts: ['127.0.0.1'], validityYears: 1 });
    assert.equal(a.created, true);
    assert.equal(statSync(a.keyFile).mode & 0o777, 0o600);
    const first = readFileSync(a.certFile, 'utf8');
    const b = ensureSelfCert(path.join(dir, 'fixtures', 'client'), { hosts: ['127.0.0.1'], validityYears: 1 });
    assert.equal(b.created, false);
    assert.equal(readFileSync(b.certFile, 'utf8'), first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
