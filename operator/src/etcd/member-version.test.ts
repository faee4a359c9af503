import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildVersionIn } from './member-version.js';

describe('buildVersionIn', () => {
  it('reads the version label, in either label order, not node_version', () => {
    assert.equal(buildVersionIn('# HELP x\netcd_node_build_info{version="0.2.0",node_version="v20.19.0"} 1\n'), '0.2.0');
    assert.equal(buildVersionIn('etcd_node_build_info{node_version="v20.19.0",version="0.3.1-rc.1"} 1\n'), '0.3.1-rc.1');
  });
  it('a member without the metric (real etcd) reports nothing', () => {
    assert.equal(buildVersionIn('etcd_server_version{server_version="3.6.0"} 1\n'), undefined);
    assert.equal(buildVersionIn(''), undefined);
  });
});
