import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRfc3339 } from './rfc3339.js';

test('any offset names the same instant as its Z form', () => {
  const z = Date.UTC(2026, 11, 2, 15, 30, 0);
  assert.equal(parseRfc3339('2026-12-02T15:30:00Z'), z);
  assert.equal(parseRfc3339('2026-12-02T16:30:00+01:00'), z);
  assert.equal(parseRfc3339('2026-12-02T10:00:00-05:30'), z);
  assert.equal(parseRfc3339('2026-12-02t15:30:00z'), z);
  assert.equal(parseRfc3339('2026-12-02 15:30:00+00:00'), z);
  assert.equal(parseRfc3339('2026-12-02T15:30:00.250Z'), z + 250);
  assert.equal(parseRfc3339('2026-12-02T15:30:00.123456789+00:00'), z + 123);
});

test('what names no instant is refused', () => {
  for (const s of ['2026-12-02', '2026-12-02T15:30:00', '2026-12-02T15:30Z', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-12-02T24:00:00Z', '2026-12-02T15:30:00+1:00', 'yesterday', '']) {
    assert.equal(parseRfc3339(s), undefined, s);
  }
});
