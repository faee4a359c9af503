import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from './crc32c.js';

test('crc32c matches the published check values', () => {
  // RFC 3720 (iSCSI) appendix B.4 test vectors and the standard "123456789" check value.
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const inc = new Uint8Array(32).map((_, i) => i);
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('crc32c continues across pieces', () => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog, twice over and again');
  for (let cut = 0; cut <= data.length; cut++) {
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), crc32c(data));
  }
});
