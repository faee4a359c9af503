// The normalization used by the etcdctl comparisons hides only what may honestly differ between two
// servers (ids, own ports, raft term/index, version, db size, timing) and nothing else. Fixtures are
// real etcd 3.4 / etcdctl 3.4 outputs. No server needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalize, normalizeExcept, normalizeRules, type NormalizeContext } from '../support/etcdctl.js';

const A: NormalizeContext = { clientPort: 23791, peerPort: 23801, paths: [['/tmp/etcd-ts-compat-node-AAAA', '<WORKDIR>']] };
const B: NormalizeContext = { clientPort: 41234, peerPort: 41235, paths: [['/tmp/etcd-ts-compat-etcd-BBBB', '<WORKDIR>']] };

/** [output of server A, the same output from server B] — equal after normalizing. */
const SAME: ReadonlyArray<readonly [string, string, string]> = [
  [
    'get -w json',
    '{"header":{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"revision":3,"raft_term":2},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":3,"version":2,"value":"Mg=="}],"count":1}\n',
    '{"header":{"cluster_id":2037210783374497686,"member_id":9372538179322589801,"revision":3,"raft_term":3},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":3,"version":2,"value":"Mg=="}],"count":1}\n',
  ],
  [
    'get -w fields',
    '"ClusterID" : 15118495548433857066\n"MemberID" : 13668033151171901709\n"Revision" : 6\n"RaftTerm" : 2\n"Key" : "a"\n',
    '"ClusterID" : 2037210783374497686\n"MemberID" : 9372538179322589801\n"Revision" : 6\n"RaftTerm" : 4\n"Key" : "a"\n',
  ],
  [
    'endpoint status',
    '127.0.0.1:23791, bdae9bbc11dd390d, 3.4.23, 25 kB, true, false, 2, 6, 6, \n',
    '127.0.0.1:41234, 8211f1d0f64f3269, 3.6.0, 1.2 MB, true, false, 3, 11, 11, \n',
  ],
  [
    'endpoint status -w json',
    '[{"Endpoint":"127.0.0.1:23791","Status":{"header":{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"revision":3,"raft_term":2},"version":"3.4.23","dbSize":24576,"leader":13668033151171901709,"raftIndex":6,"raftTerm":2,"raftAppliedIndex":6,"dbSizeInUse":16384}}]\n',
    '[{"Endpoint":"127.0.0.1:41234","Status":{"header":{"cluster_id":77,"member_id":88,"revision":3,"raft_term":5},"version":"3.6.0","dbSize":4096,"leader":88,"raftIndex":9,"raftTerm":5,"raftAppliedIndex":9,"dbSizeInUse":4096}}]\n',
  ],
  [
    'endpoint status -w table',
    '+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+\n' +
      '|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |\n' +
      '+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+\n' +
      '| 127.0.0.1:23791 | bdae9bbc11dd390d |  3.4.23 |   20 kB |      true |      false |         2 |         14 |                 14 |        |\n' +
      '+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+\n',
    '+-----------------+------+---------+--------+-----------+------------+-----------+------------+--------------------+--------+\n' +
      '|    ENDPOINT     |  ID  | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |\n' +
      '+-----------------+------+---------+--------+-----------+------------+-----------+------------+--------------------+--------+\n' +
      '| 127.0.0.1:41234 | 2a1f |  3.6.0 |   8 kB |      true |      false |         7 |          3 |                  3 |        |\n' +
      '+-----------------+------+---------+--------+-----------+------------+-----------+------------+--------------------+--------+\n',
  ],
  [
    'endpoint status -w fields',
    '"Version" : "3.4.23"\n"DBSize" : 20480\n"Leader" : 13668033151171901709\n"IsLearner" : false\n"RaftIndex" : 14\n"RaftTerm" : 2\n"RaftAppliedIndex" : 14\n"Errors" : []\n"Endpoint" : "127.0.0.1:23791"\n',
    '"Version" : "3.6.0"\n"DBSize" : 8192\n"Leader" : 99\n"IsLearner" : false\n"RaftIndex" : 4\n"RaftTerm" : 3\n"RaftAppliedIndex" : 4\n"Errors" : []\n"Endpoint" : "127.0.0.1:41234"\n',
  ],
  [
    'member list',
    'bdae9bbc11dd390d, started, n1, http://127.0.0.1:23801, http://127.0.0.1:23791, false\n',
    '8211f1d0f64f3269, started, n1, http://127.0.0.1:41235, http://127.0.0.1:41234, false\n',
  ],
  [
    'member list -w json',
    '{"header":{"cluster_id":15118495548433857066,"member_id":13668033151171901709,"raft_term":2},"members":[{"ID":13668033151171901709,"name":"n1","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]}]}\n',
    '{"header":{"cluster_id":1,"member_id":2,"raft_term":3},"members":[{"ID":2,"name":"n1","peerURLs":["http://127.0.0.1:41235"],"clientURLs":["http://127.0.0.1:41234"]}]}\n',
  ],
  [
    'member list -w fields',
    '"ID" : 13668033151171901709\n"Name" : "n1"\n',
    '"ID" : 2\n"Name" : "n1"\n',
  ],
  [
    'endpoint health',
    '127.0.0.1:23791 is healthy: successfully committed proposal: took = 3.030475ms\n',
    '127.0.0.1:41234 is healthy: successfully committed proposal: took = 950.1µs\n',
  ],
  [
    'endpoint health -w json',
    '[{"endpoint":"127.0.0.1:23791","health":true,"took":"1.5746ms"}]\n',
    '[{"endpoint":"127.0.0.1:41234","health":true,"took":"1.2s"}]\n',
  ],
  [
    'endpoint health -w table',
    '| 127.0.0.1:23791 |   true | 1.559411ms |       |\n',
    '| 127.0.0.1:41234 |   true | 12.3ms |       |\n',
  ],
  [
    'error (stderr)',
    '{"level":"warn","ts":"2026-11-23T19:38:08.489Z","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-7d28f043-8997-4e4c-8ab5-3669237d4b5e/127.0.0.1:23791","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: key is not provided"}\nError: etcdserver: key is not provided\n',
    '{"level":"warn","ts":"2026-11-23T19:39:01.001Z","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-14c81c19-f317-45df-8d89-2bbe1d97393f/127.0.0.1:41234","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: key is not provided"}\nError: etcdserver: key is not provided\n',
  ],
  [
    'snapshot save (stderr)',
    '{"level":"info","ts":1795462684.0482037,"caller":"snapshot/v3_snapshot.go:119","msg":"created temporary db file","path":"/tmp/etcd-ts-compat-node-AAAA/snap.db.part"}\n' +
      '{"level":"info","ts":1795462684.0514185,"caller":"snapshot/v3_snapshot.go:142","msg":"fetched snapshot","endpoint":"127.0.0.1:23791","size":"20 kB","took":0.00311501}\n',
    '{"level":"info","ts":1795462690.1,"caller":"snapshot/v3_snapshot.go:119","msg":"created temporary db file","path":"/tmp/etcd-ts-compat-etcd-BBBB/snap.db.part"}\n' +
      '{"level":"info","ts":1795462690.2,"caller":"snapshot/v3_snapshot.go:142","msg":"fetched snapshot","endpoint":"127.0.0.1:41234","size":"1.1 MB","took":1.5}\n',
  ],
];

/** Outputs that differ in something real: normalizing must keep them different. */
const DIFFERENT: ReadonlyArray<readonly [string, string, string]> = [
  ['revision', '{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":2}}', '{"header":{"cluster_id":1,"member_id":2,"revision":4,"raft_term":2}}'],
  ['fields revision', '"Revision" : 6\n', '"Revision" : 7\n'],
  ['value', '{"kvs":[{"key":"YQ==","value":"Mg=="}]}', '{"kvs":[{"key":"YQ==","value":"Mw=="}]}'],
  ['mod_revision', '{"kvs":[{"key":"YQ==","mod_revision":3}]}', '{"kvs":[{"key":"YQ==","mod_revision":4}]}'],
  ['version of a key', '"Version" : 2\n', '"Version" : 3\n'],
  ['count', '"count":2}', '"count":3}'],
  ['more', '"more":true,"count":3}', '"count":3}'],
  ['simple get', 'a\n1\n', 'a\n2\n'],
  ['empty nested txn header stays empty', '{"Response":{"ResponsePut":{"header":{"revision":5}}}}', '{"Response":{"ResponsePut":{"header":{"cluster_id":5,"revision":5}}}}'],
  ['zero ids in fields stay zero', '"ClusterID" : 0\n', '"ClusterID" : 77\n'],
  ['zero raft term stays zero', '"RaftTerm" : 0\n', '"RaftTerm" : 2\n'],
  ['error message', 'Error: etcdserver: key is not provided\n', 'Error: etcdserver: key not found\n'],
  ['grpc code', '"error":"rpc error: code = InvalidArgument desc = x"', '"error":"rpc error: code = OutOfRange desc = x"'],
  ['hash', '127.0.0.1:23791, 535221974\n', '127.0.0.1:41234, 535221975\n'],
  ['compact revision', '"hash":1,"compact_revision":-1}', '"hash":1,"compact_revision":4}'],
  ['is leader', '127.0.0.1:23791, 1a, 3.4.23, 25 kB, true, false, 2, 6, 6, \n', '127.0.0.1:41234, 1a, 3.4.23, 25 kB, false, false, 2, 6, 6, \n'],
  ['is learner', '127.0.0.1:23791, 1a, 3.4.23, 25 kB, true, false, 2, 6, 6, \n', '127.0.0.1:41234, 1a, 3.4.23, 25 kB, true, true, 2, 6, 6, \n'],
  ['status errors', '127.0.0.1:23791, 1a, 3.4.23, 25 kB, true, false, 2, 6, 6, \n', '127.0.0.1:41234, 1a, 3.4.23, 25 kB, true, false, 2, 6, 6, NOSPACE\n'],
  ['a port that is not the server\'s own', 'http://127.0.0.1:23791', 'http://127.0.0.1:41299'],
  ['client port where the peer port belongs', 'peerURLs":["http://127.0.0.1:23801"]', 'peerURLs":["http://127.0.0.1:41234"]'],
  ['member name', 'bdae9bbc11dd390d, started, n1, http://127.0.0.1:23801', '8211f1d0f64f3269, started, n2, http://127.0.0.1:41235'],
  ['member status', 'bdae9bbc11dd390d, started, n1', '8211f1d0f64f3269, unstarted, n1'],
  ['health', '[{"endpoint":"127.0.0.1:23791","health":true,"took":"1ms"}]', '[{"endpoint":"127.0.0.1:41234","health":false,"took":"1ms"}]'],
  ['table cell', '| a | b |', '| a | c |'],
  ['a blank line', 'OK\n\na\n', 'OK\na\n'],
  ['a number that looks like a size', '"size":"20 kB"', '"size":"20 kB","extra":1'],
];

describe('normalize', () => {
  for (const [name, a, b] of SAME) {
    it(`hides what honestly differs: ${name}`, () => {
      assert.notEqual(a, b);
      assert.equal(normalize(a, A), normalize(b, B));
    });
  }

  for (const [name, a, b] of DIFFERENT) {
    it(`keeps a real difference visible: ${name}`, () => {
      assert.notEqual(normalize(a, A), normalize(b, B));
    });
  }

  it('every rule is needed: without it, some pair of real outputs would differ', () => {
    normalizeRules.forEach((rule, i) => {
      const needed = SAME.some(([, a, b]) => normalizeExcept(a, A, i) !== normalizeExcept(b, B, i));
      assert.ok(needed, `rule #${i} (${rule.why}) changes nothing in the fixtures: add a fixture or drop the rule`);
    });
  });
});
