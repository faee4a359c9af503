import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseVersion, versionChangeRefusal } from './version-policy.js';

describe('version policy', () => {
  it('one minor at a time, either way; patches freely', () => {
    assert.equal(versionChangeRefusal(['0.1.0'], '0.2.0'), undefined);
    assert.equal(versionChangeRefusal(['0.2.3'], '0.1.9'), undefined);
    assert.equal(versionChangeRefusal(['0.1.0'], '0.1.7'), undefined);
    assert.equal(versionChangeRefusal(['0.1.0', '0.2.0'], '0.2.0'), undefined, 'a roll-out half done');
  });

  it('a skipped minor or a major change is refused, saying what to do', () => {
    assert.match(versionChangeRefusal(['0.1.0'], '0.3.0') ?? '', /0\.1\.0 → 0\.3\.0 skips a minor version: .*upgrade to 0\.2\.x first/);
    assert.match(versionChangeRefusal(['0.4.1'], 'v0.2.0') ?? '', /downgrade to 0\.3\.x first/);
    assert.match(versionChangeRefusal(['0.1.0'], '1.1.0') ?? '', /changes the major version/);
    assert.match(versionChangeRefusal(['0.2.0', '0.1.0'], '0.3.0') ?? '', /0\.1\.0 → 0\.3\.0/, 'every member counts');
  });

  it('what is not a semantic version is not judged', () => {
    assert.equal(versionChangeRefusal(['etcd-node@sha256:abc'], '0.9.0'), undefined);
    assert.equal(versionChangeRefusal(['0.1.0'], undefined), undefined);
    assert.equal(parseVersion('latest'), undefined);
    assert.deepEqual(parseVersion('v1.2.3-rc.1+b5'), { major: 1, minor: 2, patch: 3 });
  });
});
