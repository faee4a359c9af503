// Request bodies → messages with protojson's rules (etcd 3.6's gateway): exact 64-bit integers however
// they are written, protojson's texts and positions, and how a body's values become requests. The
// expected texts were recorded from etcd v3.6.16's gateway (test/compat/gateway-json.test.ts asks a
// running one).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RangeRequest } from '../../gen/etcdserverpb/rpc.js';
import { messageDesc, readRequests } from './json-codec.js';
import { decodeProtoJson } from './proto-json-decode.js';
import { ProtoJsonError } from './proto-json-lexer.js';
import { base64Value, INT_RANGES, integerText, integerValue } from './proto-json-scalars.js';

const RANGE = messageDesc('etcdserverpb.RangeRequest');
const TXN = messageDesc('etcdserverpb.TxnRequest');
const TTL = messageDesc('etcdserverpb.LeaseTimeToLiveRequest');
const ALARM = messageDesc('etcdserverpb.AlarmRequest');
const WATCH = messageDesc('etcdserverpb.WatchRequest');

const decode = (desc: typeof RANGE, s: string | Buffer): unknown => decodeProtoJson(desc, typeof s === 'string' ? Buffer.from(s) : s);

function errorOf(desc: typeof RANGE, s: string | Buffer): string {
  try {
    decode(desc, s);
  } catch (err) {
    assert.ok(err instanceof ProtoJsonError, String(err));
    return err.message;
  }
  return 'no error';
}

test('64-bit integers are exact as numbers and as strings, in nested messages too', () => {
  assert.deepEqual(decode(TTL, '{"ID":2743433482471274497,"keys":true}'), { ID: '2743433482471274497', keys: true });
  assert.deepEqual(decode(TTL, '{"ID":"2743433482471274497"}'), { ID: '2743433482471274497' });
  assert.deepEqual(decode(ALARM, '{"memberID":18446744073709551615}'), { memberID: '18446744073709551615' });
  assert.deepEqual(decode(TXN, '{"compare":[{"target":"LEASE","key":"Zm9v","lease":9007199254740993}],"success":[{"request_put":{"key":"Zm9v","lease":9007199254740993}}]}'), {
    compare: [{ target: 'LEASE', key: 'Zm9v', lease: '9007199254740993' }],
    success: [{ requestPut: { key: 'Zm9v', lease: '9007199254740993' } }],
  });
  assert.deepEqual(decode(WATCH, '{"create_request":{"key":"Zm9v","start_revision":9007199254740993,"watch_id":9007199254740995}}'), {
    createRequest: { key: 'Zm9v', startRevision: '9007199254740993', watchId: '9007199254740995' },
  });
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.boolean(), (n, quoted) => {
      const text = quoted ? `"${n}"` : `${n}`;
      assert.deepEqual(decode(RANGE, `{"limit":${text}}`), n === 0n ? { limit: '0' } : { limit: n.toString() });
    }),
  );
});

test('integers as protojson reads them', () => {
  const int64 = (s: string, fromString = false): string | undefined => integerValue(s, fromString, INT_RANGES.int64)?.toString();
  assert.equal(int64('1e3'), '1000');
  assert.equal(int64('1.0'), '1');
  assert.equal(int64('10E-1'), '1');
  assert.equal(int64('100e-2'), '1');
  assert.equal(int64('-0'), '0');
  assert.equal(int64('1E+2'), '100');
  assert.equal(int64('0.00000000000000000001e20'), '1');
  assert.equal(int64('0.000000000000000000001e21'), undefined); // exponent above 20
  assert.equal(int64('1.5'), undefined);
  assert.equal(int64('9223372036854775808'), undefined);
  assert.equal(int64('-9223372036854775808'), '-9223372036854775808');
  assert.equal(int64('1 2', true), '1'); // protojson reads the string's first token only
  assert.equal(int64('1,', true), '1');
  assert.equal(int64(' 1', true), undefined);
  assert.equal(int64('1\u00a0', true), undefined);
  assert.equal(int64('01', true), undefined);
  assert.equal(int64('+1', true), undefined);
  assert.equal(int64('1x', true), undefined);
  assert.equal(int64('0x10', true), undefined);
  assert.equal(int64('', true), undefined);
  assert.equal(integerValue('-1', false, INT_RANGES.uint64), undefined);
  assert.equal(integerValue('-0', true, INT_RANGES.uint64), 0n);
  assert.equal(integerText('1.'), undefined);
});

test('base64 as protojson reads it (Go: std or URL alphabet, padding optional, CR/LF ignored)', () => {
  const b = (s: string): string | undefined => base64Value(s)?.toString('latin1');
  assert.equal(b('Zm9v'), 'foo');
  assert.equal(b('Zm8'), 'fo');
  assert.equal(b('Zm8='), 'fo');
  assert.equal(b('Zg=='), 'f');
  assert.equal(b('Zg'), 'f');
  assert.equal(b('Zm9v\n'), 'foo');
  assert.equal(b(''), '');
  assert.equal(b('-_8'), Buffer.from([0xfb, 0xff]).toString('latin1'));
  assert.equal(b('+/8'), Buffer.from([0xfb, 0xff]).toString('latin1'));
  for (const bad of ['Z', 'Zm9v=', 'Zm9=v', '%%%', 'Zm-/', 'Zg=', 'Z===', '====', 'éé', 'Zm8=\n']) assert.equal(b(bad), undefined, bad);
});

test("protojson's texts and positions", () => {
  const cases: Array<[typeof RANGE, string | Buffer, string]> = [
    [RANGE, 'null', 'proto: syntax error (line 1:1): unexpected token null'],
    [RANGE, '[]', 'proto: syntax error (line 1:1): unexpected token ['],
    [RANGE, '{"key":12}', 'proto: (line 1:8): invalid value for bytes field key: 12'],
    [RANGE, '{"key":\n  12}', 'proto: (line 2:3): invalid value for bytes field key: 12'],
    [RANGE, '{"k\u00e9y":1, "limit":true}', 'proto: (line 1:19): invalid value for int64 field limit: true'],
    [RANGE, '{"key":"Zm9v","keys_only":"true"}', 'proto: (line 1:27): invalid value for bool field keysOnly: "true"'],
    [RANGE, '{"key":"%%%"}', 'proto: (line 1:8): invalid value for bytes field key: "%%%"'],
    [RANGE, '{"key":"\\ud83d\\ude00x"}', 'proto: (line 1:8): invalid value for bytes field key: "\\ud83d\\ude00x"'],
    [RANGE, '{"key":"Zm9v","sort_order":1.5}', 'proto: (line 1:28): invalid value for enum field sortOrder: 1.5'],
    [RANGE, '{"key":"Zm9v","key":"Zm9v"}', 'proto: (line 1:15): duplicate field "key"'],
    [RANGE, Buffer.from([...Buffer.from('{"key":"'), 0xff, ...Buffer.from('"}')]), 'proto: syntax error (line 1:8): invalid UTF-8 in string'],
    [RANGE, Buffer.from([...Buffer.from('{"k'), 0xff, ...Buffer.from('y":1}')]), 'proto: syntax error (line 1:2): invalid UTF-8 in string'],
    [RANGE, Buffer.from([...Buffer.from('{"key":"'), 0xed, 0xa0, 0x80, ...Buffer.from('"}')]), 'proto: syntax error (line 1:8): invalid UTF-8 in string'],
    [RANGE, '{"key":"\\ud800"}', 'proto: unexpected EOF'],
    [RANGE, '{"key":"\\udc00"}', 'proto: unexpected EOF'],
    [RANGE, '{"key":"\\ud800\\u0041"}', 'proto: syntax error (line 1:8): invalid escape code "\\\\u0041" in string'],
    [RANGE, '{"key":"\\ud800\\ud800"}', 'proto: syntax error (line 1:8): invalid escape code "\\\\ud800" in string'],
    [TXN, '{"compare":[{"key":"Zm9v","version":"1","mod_revision":"2"}]}', 'proto: (line 1:41): error parsing "mod_revision", oneof etcdserverpb.Compare.target_union is already set'],
    [TXN, '{"compare":{"key":"Zm9v"}}', 'proto: syntax error (line 1:12): unexpected token {'],
    [TXN, '{"compare":[12]}', 'proto: syntax error (line 1:13): unexpected token 12'],
    [TXN, '{"success":[{"request_put":{"key":"Zm9v","lease":"x"}}]}', 'proto: (line 1:50): invalid value for int64 field lease: "x"'],
  ];
  for (const [desc, body, want] of cases) assert.equal(errorOf(desc, body), want, String(body));
});

test('null is an absent field, unknown fields and enum names are dropped, JSON and .proto names both work', () => {
  assert.deepEqual(decode(RANGE, '{"key":null,"limit":null,"sort_order":"NOPE","nope":{"a":[1,{"b":"c"}]},"keysOnly":true}'), { keysOnly: true });
  assert.deepEqual(decode(RANGE, '{"sort_order":1,"sort_target":"MOD"}'), { sortOrder: 1, sortTarget: 'MOD' });
  assert.deepEqual(decode(TXN, '{"success":[{"request_put":null,"request_range":{"key":"Zm9v"}}]}'), { success: [{ requestRange: { key: 'Zm9v' } }] });
  assert.deepEqual(decode(WATCH, '{"create_request":{"filters":["NOPUT","NOPE",1]}}'), { createRequest: { filters: ['NOPUT', 1] } });
  // an unknown field's strings are still checked
  assert.equal(errorOf(RANGE, Buffer.from([...Buffer.from('{"x":"'), 0xff, ...Buffer.from('"}')])), 'proto: syntax error (line 1:6): invalid UTF-8 in string');
});

test('a body: a unary call reads its first value (none: an empty request), a stream reads up to a bad one', () => {
  const key = (b: Uint8Array): string => Buffer.from(RangeRequest.decode(b).key).toString();
  const one = readRequests(RANGE, Buffer.from('{"key":"Zm9v"} {"key":"YmFy"} garbage'), false);
  assert.equal(one.error, undefined);
  assert.deepEqual(one.requests.map(key), ['foo']);
  const empty = readRequests(RANGE, Buffer.from(' \n'), false);
  assert.deepEqual(empty.requests.map(key), ['']);
  const bad = readRequests(RANGE, Buffer.from('{"key":'), false);
  assert.equal(bad.error?.message, 'unexpected EOF');
  const stream = readRequests(RANGE, Buffer.from('{"key":"Zm9v"}\n{"key":"YmFy"} {"key":12} {"key":"YmF6"}'), true);
  assert.deepEqual(stream.requests.map(key), ['foo', 'bar']);
  assert.equal(stream.error?.message, 'proto: (line 1:8): invalid value for bytes field key: 12');
  assert.deepEqual(readRequests(RANGE, Buffer.alloc(0), true).requests, []);
  // txns nested as deep as encoding/json allows: refused with an error (the stack or protobuf-es's
  // recursion limit ends it), not thrown
  const deep = readRequests(TXN, Buffer.from(`${'{"success":[{"request_txn":'.repeat(3300)}{}${'}]}'.repeat(3300)}`), false);
  assert.match(deep.error?.message ?? '', /recursion depth/);
});
