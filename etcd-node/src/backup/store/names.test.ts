// The names both stores accept, and their byte order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkName, checkPrefix, compareNames } from './names.js';
import { StoreError } from './store.js';

const refused = (f: () => void): boolean => {
  try {
    f();
    return false;
  } catch (err) {
    return err instanceof StoreError && err.code === 'InvalidConfig';
  }
};

describe('object names', () => {
  it('are relative paths of real file names, not reserved ones', () => {
    for (const ok of ['a', 'a/b/c', 'cluster/2026-01-01T00:00:00Z.snap', '.hidden', 'a/..b', 'a/b..', 'é/😀', 'x'.repeat(255)]) {
      assert.ok(!refused(() => checkName(ok)), ok);
    }
    for (const bad of ['', '/a', 'a/', 'a//b', '.', '..', 'a/./b', 'a/../b', '../a', '.tmp-1', 'a/.tmp-1', 'a\0b', 'x'.repeat(256), `${'a/'.repeat(512)}b`]) {
      assert.ok(refused(() => checkName(bad)), JSON.stringify(bad));
    }
  });

  it('prefixes are complete segments and the start of a last one', () => {
    for (const ok of ['', 'a/', 'a/b', 'a/b-', 'a/.h', 'a/..x']) assert.ok(!refused(() => checkPrefix(ok)), ok);
    for (const bad of ['/', '/a', 'a//', '../', 'a/../', 'a/.', 'a/..', '.tmp-', 'a/.tmp-x', 'a\0']) assert.ok(refused(() => checkPrefix(bad)), bad);
  });

  it('sort in the byte order of their UTF-8, as S3 lists them', () => {
    const names = ['b', 'a', 'B', 'a/b', 'a-b', '\uFFFD', '\u{1F600}', 'é'];
    assert.deepEqual([...names].sort(compareNames), ['B', 'a', 'a-b', 'a/b', 'b', 'é', '\uFFFD', '\u{1F600}']);
  });
});
