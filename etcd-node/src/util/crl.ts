// A certificate revocation list file as Node's TLS wants it (PEM). etcd 3.6 reads --client-crl-file and
// --peer-crl-file as DER (x509.ParseRevocationList); PEM files are taken as they are.
import { readFileSync } from 'node:fs';

export function readCrl(file: string): Buffer {
  const data = readFileSync(file);
  if (data.subarray(0, 64).toString('latin1').includes('-----BEGIN')) return data;
  const b64 = data.toString('base64').replace(/(.{64})/g, '$1\n');
  return Buffer.from(`-----BEGIN X509 CRL-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END X509 CRL-----\n`);
}
