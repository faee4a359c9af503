// Self-signed certificates for --auto-tls and --peer-auto-tls, made with node:crypto alone (no openssl
// binary): an ECDSA P-256 key and an X.509 v3 certificate written with a minimal DER encoder. The shape
// is etcd's (transport.SelfCert): subject O=etcd, the listen URLs' hosts as subject alternative names,
// key usage digitalSignature + keyEncipherment, extended key usage serverAuth (+ clientAuth for peers),
// basic constraints present with CA false, valid for --self-signed-cert-validity years. As etcd does, the
// files go to <dir>/cert.pem and <dir>/key.pem and are reused when both exist.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';

// ---- DER

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const explicit = (n: number, c: Buffer): Buffer => tlv(0xa0 + n, c);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const b: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::"
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => Buffer.from([parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

export interface SelfCertOptions {
  /** host names and IPs the certificate is for */
  hosts: readonly string[];
  /** --self-signed-cert-validity */
  validityYears: number;
  /** add clientAuth to the extended key usage (peer certificates: members dial each other with them) */
  clientAuth?: boolean;
  now?: Date;
}

/** A new key and self-signed certificate, both PEM. */
export function makeSelfCert(o: SelfCertOptions): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = selfSignedCertificate(privateKey, publicKey, o);
  const b64 = cert.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
  };
}

export function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject, o: SelfCertOptions): Buffer {
  const now = o.now ?? new Date();
  const notAfter = new Date(now.getTime() + o.validityYears * 365 * 24 * 3600 * 1000);
  const name = seq(set(seq(oid('2.5.4.10'), utf8('etcd'))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const names = [...new Set(o.hosts.map((h) => h.replace(/^\[|\]$/g, '')))].map((h) =>
    isIP(h) !== 0 ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii')),
  );
  const usages = [oid('1.3.6.1.5.5.7.3.1'), ...(o.clientAuth ? [oid('1.3.6.1.5.5.7.3.2')] : [])];
  const extensions = [
    // digitalSignature (bit 0) + keyEncipherment (bit 2): 1010 0000, 5 unused bits
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([5, 0xa0]))),
    extension('2.5.29.37', false, seq(...usages)),
    extension('2.5.29.19', true, seq()),
    ...(names.length > 0 ? [extension('2.5.29.17', false, seq(...names))] : []),
  ];
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ECDSA_SHA256,
    name,
    seq(time(now), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, privateKey);
  return seq(tbs, ECDSA_SHA256, bits(signature));
}

/** <dir>/cert.pem and <dir>/key.pem: reused when both exist, else made (as etcd's SelfCert does). */
export function ensureSelfCert(dir: string, o: SelfCertOptions): { certFile: string; keyFile: string; created: boolean } {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { cert, key } = makeSelfCert(o);
  writeFileSync(keyFile, key, { mode: 0o600 });
  writeFileSync(certFile, cert, { mode: 0o600 });
  return { certFile, keyFile, created: true };
}
