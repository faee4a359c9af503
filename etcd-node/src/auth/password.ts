// Password hashing: scrypt with a random salt, off the event loop (crypto.scrypt runs in libuv's pool).
// Hashing happens in the API layer before a request is proposed, so plain passwords never reach the
// WAL or the backend; checking happens in the API layer before Authenticate is proposed (as etcd does).
// The stored form is internal: "scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>".
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;
const SALT_LEN = 16;

function scryptAsync(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_LEN);
  const key = await scryptAsync(password, salt, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Whether `password` matches `stored` (a hashPassword result); a malformed stored value never matches. */
export async function verifyPassword(password: string, stored: Buffer | string): Promise<boolean> {
  const parts = stored.toString().split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0)) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  if (want.length !== KEY_LEN) return false;
  const got = await scryptAsync(password, salt, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  return timingSafeEqual(got, want);
}

/** Whether a value is in our stored form (a client-supplied pre-hashed password must be). */
export function isStoredHash(v: string): boolean {
  return /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(v);
}
