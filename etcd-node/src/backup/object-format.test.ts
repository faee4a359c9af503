import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { keyringFrom, newKeyEntries, parseKey, KeyError } from './keys.js';
import { BackupObjectError, decodeObject, decodeObjectStream, encodeObject, encodeObjectStream, type HeaderFields } from './object-format.js';

const fields: HeaderFields = { kind: 'delta', clusterId: '00000000000000ab', fromRevision: 5, toRevision: 9, time: 1_700_000_000_000, firstTime: 1_699_999_999_000 };
const ring = keyringFrom(newKeyEntries(), 'test key');

function collect(): { sink: Writable; data: () => Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  return { sink, data: () => Buffer.concat(chunks) };
}

async function readAll(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('backup objects', () => {
  it('round-trip in memory and as streams, every compression and with or without a key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200_000 }), fc.constantFrom('gzip' as const, 'none' as const), fc.boolean(), async (data, compression, encrypted) => {
        const plaintext = Buffer.from(data);
        const key = encrypted ? ring.active : undefined;
        const { header, bytes } = encodeObject(fields, plaintext, { compression, key });
        assert.equal(header.plaintextBytes, plaintext.length);
        assert.equal(header.encryption?.keyId, key?.id);
        assert.deepEqual(decodeObject(bytes, ring, 'o').plaintext, plaintext);
        // the stream form writes an object the other decoder reads, and the other way round
        const { createHash } = await import('node:crypto');
        const sha = createHash('sha256').update(plaintext).digest('hex');
        const s = encodeObjectStream(fields, () => Readable.from([plaintext.subarray(0, 7), plaintext.subarray(7)]), sha, plaintext.length, { compression, key });
        const streamed = await readAll(s.stream);
        assert.deepEqual(decodeObject(streamed, ring, 'o').plaintext, plaintext);
        const c = collect();
        const h = await decodeObjectStream(Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 40), bytes.subarray(40)]), c.sink, ring, 'o');
        assert.equal(h.plaintextSha256, sha);
        assert.deepEqual(c.data(), plaintext);
      }),
      { numRuns: 40 },
    );
  });

  it('an encrypted object holds no plaintext and names its key', () => {
    const secret = Buffer.from('the-secret-value-'.repeat(100));
    const { bytes, header } = encodeObject(fields, secret, { compression: 'none', key: ring.active });
    assert.equal(bytes.indexOf('the-secret-value'), -1);
    assert.equal(header.encryption?.algorithm, 'AES-256-GCM');
    assert.match(bytes.toString('latin1'), new RegExp(`"keyId":"${ring.active.id}"`));
  });

  it('refuses a wrong key, an unknown key, a missing key, a changed body or header, a truncation and garbage', async () => {
    const plaintext = randomBytes(5000);
    const { bytes } = encodeObject(fields, plaintext, { compression: 'gzip', key: ring.active });
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof BackupObjectError, String(err));
        return err.code;
      }
      return 'none';
    };
    const other = keyringFrom(newKeyEntries(), 'other');
    assert.equal(code(() => decodeObject(bytes, other, 'o')), 'UnknownKey');
    assert.equal(code(() => decodeObject(bytes, undefined, 'o')), 'KeyRequired');
    // the same id with other key bytes: a key that is wrong although its id matches (a forged header)
    const forged = { active: { id: ring.active.id, key: randomBytes(32) }, byId: new Map([[ring.active.id, { id: ring.active.id, key: randomBytes(32) }]]) };
    assert.equal(code(() => decodeObject(bytes, forged, 'o')), 'DecryptFailed');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40]! ^= 1;
    assert.equal(code(() => decodeObject(flipped, ring, 'o')), 'DecryptFailed');
    const header = Buffer.from(bytes);
    const at = header.indexOf('"toRevision":9');
    header.write('"toRevision":8', at);
    assert.equal(code(() => decodeObject(header, ring, 'o')), 'DecryptFailed');
    assert.equal(code(() => decodeObject(bytes.subarray(0, 30), ring, 'o')), 'Corrupt');
    assert.equal(code(() => decodeObject(Buffer.from('hello world, not a backup'), ring, 'o')), 'NotABackupObject');
    // plaintext objects are checked by their SHA-256
    const plain = encodeObject(fields, plaintext, { compression: 'none', key: undefined }).bytes;
    const damaged = Buffer.from(plain);
    damaged[damaged.length - 1]! ^= 1;
    assert.equal(code(() => decodeObject(damaged, undefined, 'o')), 'Corrupt');
    // and the stream decoder says the same
    await assert.rejects(decodeObjectStream(Readable.from([flipped]), collect().sink, ring, 'o'), (e: unknown) => e instanceof BackupObjectError && e.code === 'DecryptFailed');
    await assert.rejects(decodeObjectStream(Readable.from([bytes.subarray(0, bytes.length - 20)]), collect().sink, ring, 'o'), (e: unknown) => e instanceof BackupObjectError);
    await assert.rejects(decodeObjectStream(Readable.from([damaged]), collect().sink, undefined, 'o'), (e: unknown) => e instanceof BackupObjectError && e.code === 'Corrupt');
  });

  it('reads keys as bytes, hex or base64, and keeps older keys for decryption', () => {
    const raw = randomBytes(32);
    const a = parseKey(raw, 'k');
    assert.equal(parseKey(Buffer.from(raw.toString('hex')), 'k').id, a.id);
    assert.equal(parseKey(Buffer.from(`${raw.toString('base64')}\n`), 'k').id, a.id);
    assert.throws(() => parseKey(Buffer.from('too short'), 'Secret db/k, entry key'), (e: unknown) => e instanceof KeyError && /Secret db\/k, entry key: not an AES-256 key/.test(e.message));
    const old = randomBytes(32);
    const r = keyringFrom({ key: raw, 'key.2026-01': old }, 'Secret db/k');
    assert.equal(r.active.id, a.id);
    assert.equal(r.byId.size, 2);
    const { bytes } = encodeObject(fields, Buffer.from('x'), { compression: 'none', key: parseKey(old, 'old') });
    assert.deepEqual(decodeObject(bytes, r, 'o').plaintext, Buffer.from('x'));
    assert.throws(() => keyringFrom({ 'key.old': old }, 'Secret db/k'), /Secret db\/k: no entry "key"/);
  });
});
