// The JSON gateway reads request bodies as etcd 3.6's does (grpc-gateway v2: Go's encoding/json reads
// one value, protojson maps it to the message), side by side with a real etcd 3.6 (the release that
// scripts/build-tools.sh builds into .tools/):
//   - 64-bit integers sent as bare JSON numbers are exact (a lease id above 2^53 through
//     /v3/lease/timetolive, /v3/kv/put, a txn's compare and op, a watch's create request);
//   - a body that is not a request gets etcd's status, code and text, case by case.
// Where etcd 3.4 (Debian's) says something else, etcd-node says what 3.6 says; the cases note it.
//
//   npm run build && node --import tsx --test test/compat/gateway-json.test.ts
// Needs Debian's etcdctl (the readiness probe) and .tools/etcd-v3.6.*/etcd. COMPAT_SELF_CHECK=1 runs a
// second etcd 3.6 in etcd-node's place.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { etcdRelease } from '../support/etcd-tools.js';
import { selfCheck, skipUnless, startServer, type RunningServer } from '../support/servers.js';

const inCI = process.env['CI'] === 'true';
const etcd36 = etcdRelease('3.6').path('etcd');
const skip =
  skipUnless('etcd', 'etcdctl').skip ??
  (!existsSync(etcd36) && !inCI ? `skipped: ${etcd36} is missing (build it with \`bash scripts/build-tools.sh etcd\`)` : undefined);

/** The lease id: above 2^53, so a float64 would make it …496. */
const BIG_ID = '2743433482471274497';

interface Answer {
  status: number;
  body: string;
}

async function post(s: RunningServer, path: string, body: string | Buffer): Promise<Answer> {
  const r = await fetch(`${s.clientUrl}/v3/${path}`, { method: 'POST', body });
  return { status: r.status, body: await r.text() };
}

/** An answer with what honestly differs hidden: cluster and member ids, and the revision's history. */
function normalized(a: Answer): string {
  return `${a.status} ${a.body.replace(/"(cluster_id|member_id)":\s*"\d+"/g, '"$1":"<ID>"').replace(/",\s+"/g, '","').replace(/,\s+"/g, ',"')}`;
}

/** status, code and text of an error answer; etcd 3.6 writes {"code","message"}, etcd-node also etcd 3.4's "error". */
function errorOf(a: Answer): string {
  const j = JSON.parse(a.body) as { code?: number; message?: string; error?: string; header?: unknown };
  if (j.header !== undefined) return `${a.status} OK`;
  if (j.error !== undefined) assert.equal(j.error, j.message, `"error" and "message" say the same: ${a.body}`);
  // protobuf-go puts a space or a no-break space after "proto:" (chosen per binary, to discourage
  // comparing error texts); etcd-node writes a plain space
  return `${a.status} ${j.code} ${(j.message ?? '').replace(/^proto:\u00a0/, 'proto: ')}`;
}

/**
 * [route, body, what etcd 3.6 answers]. The expected texts were recorded from etcd v3.6.16; the test
 * also asks the running etcd, so a case that stops being etcd's fails here.
 */
const CASES: ReadonlyArray<readonly [string, string, string]> = [
  // not JSON: encoding/json's words (3.4 says the same)
  ['kv/range', '{b', "400 3 invalid character 'b' looking for beginning of object key string"],
  ['kv/range', '{"key":', '400 3 unexpected EOF'],
  ['kv/range', '{"key":"Zm9v",', '400 3 unexpected EOF'],
  ['kv/range', 'x', "400 3 invalid character 'x' looking for beginning of value"],
  ['kv/range', '{"key":"Zm9v" "limit":1}', `400 3 invalid character '"' after object key:value pair`],
  ['kv/range', '{"key" "Zm9v"}', `400 3 invalid character '"' after object key`],
  ['kv/range', '{"key":"Zm9v",}', "400 3 invalid character '}' looking for beginning of object key string"],
  ['kv/range', '{"key":tru}', "400 3 invalid character '}' in literal true (expecting 'e')"],
  ['kv/range', '{"key":01}', "400 3 invalid character '1' after object key:value pair"],
  ['kv/range', '{"key":"\\q"}', "400 3 invalid character 'q' in string escape code"],
  ['kv/range', '{"key":"\\u12"}', `400 3 invalid character '"' in \\u hexadecimal character escape`],
  ['kv/range', '{"key":"a\tb"}', "400 3 invalid character '\\t' in string literal"],
  ['kv/range', '{"key":1.}', "400 3 invalid character '}' after decimal point in numeric literal"],
  ['kv/range', '{"key":1e}', "400 3 invalid character '}' in exponent of numeric literal"],
  ['kv/range', '{"key":[1,]}', "400 3 invalid character ']' looking for beginning of value"],
  ['kv/range', "{'key':1}", "400 3 invalid character '\\'' looking for beginning of object key string"],
  // only the first value of a unary call's body is read; an empty body is an empty request
  ['kv/range', '{"key":"Zm9v"} x', '200 OK'],
  ['kv/range', '', '400 3 etcdserver: key is not provided'],
  // null: etcd 3.4 takes it as an empty request ("etcdserver: key is not provided"); 3.6 refuses it
  ['kv/range', 'null', '400 3 proto: syntax error (line 1:1): unexpected token null'],
  // not an object (3.4: "json: cannot unmarshal array into Go value of type map[string]json.RawMessage" …)
  ['kv/range', '[]', '400 3 proto: syntax error (line 1:1): unexpected token ['],
  ['kv/range', '"x"', '400 3 proto: syntax error (line 1:1): unexpected token "x"'],
  // a wrong type for a field (3.4: "json: cannot unmarshal number into Go value of type []uint8")
  ['kv/range', '{"key":12}', '400 3 proto: (line 1:8): invalid value for bytes field key: 12'],
  ['kv/range', '  \n {"key":\n  12}', '400 3 proto: (line 2:3): invalid value for bytes field key: 12'],
  ['kv/range', '{"k\u00e9y":1, "limit":true}', '400 3 proto: (line 1:19): invalid value for int64 field limit: true'],
  ['kv/range', '{"key":"Zm9v","limit":1.5}', '400 3 proto: (line 1:23): invalid value for int64 field limit: 1.5'],
  ['kv/range', '{"key":"Zm9v","limit":"abc"}', '400 3 proto: (line 1:23): invalid value for int64 field limit: "abc"'],
  ['kv/range', '{"key":"Zm9v","limit":9223372036854775808}', '400 3 proto: (line 1:23): invalid value for int64 field limit: 9223372036854775808'],
  ['kv/range', '{"key":"Zm9v","limit":" 1"}', '400 3 proto: (line 1:23): invalid value for int64 field limit: " 1"'],
  ['maintenance/alarm', '{"memberID":-1}', '400 3 proto: (line 1:13): invalid value for uint64 field memberID: -1'],
  ['cluster/member/add', '{"peerURLs":["http://a:1", 2]}', '400 3 proto: (line 1:28): invalid value for string field peerURLs: 2'],
  ['cluster/member/add', '{"peerURLs":"http://a:1"}', '400 3 proto: syntax error (line 1:13): unexpected token "http://a:1"'],
  // integers as protojson takes them: exponents and ".0" (3.4 refuses these), strings holding a number
  ['kv/range', '{"key":"Zm9v","limit":1e3}', '200 OK'],
  ['kv/range', '{"key":"Zm9v","limit":"10E-1"}', '200 OK'],
  ['kv/range', '{"key":"Zm9v","limit":"9223372036854775807"}', '200 OK'],
  // a boolean given as a string (3.4: "json: cannot unmarshal string into Go value of type bool")
  ['kv/range', '{"key":"Zm9v","keys_only":"true"}', '400 3 proto: (line 1:27): invalid value for bool field keysOnly: "true"'],
  ['kv/put', '{"key":"Zm9v","value":"YmFy","prev_kv":"true"}', '400 3 proto: (line 1:40): invalid value for bool field prevKv: "true"'],
  // bad base64 (3.4: "illegal base64 data at input byte 0"); unpadded and URL-safe base64 are taken
  ['kv/range', '{"key":"%%%"}', '400 3 proto: (line 1:8): invalid value for bytes field key: "%%%"'],
  ['kv/range', '{"key":"Zm9v="}', '400 3 proto: (line 1:8): invalid value for bytes field key: "Zm9v="'],
  ['kv/range', '{"key":"Zm9"}', '200 OK'],
  ['kv/range', '{"key":"Zm-_"}', '200 OK'],
  // strings protojson checks
  ['kv/range', '{"key":"Zm9v","x":"\udcff"}', '400 3 proto: syntax error (line 1:19): invalid UTF-8 in string'],
  ['kv/range', '{"key":"\\ud800\\u0041"}', '400 3 proto: syntax error (line 1:8): invalid escape code "\\\\u0041" in string'],
  ['kv/range', '{"key":"\\ud800"}', '400 3 proto: unexpected EOF'],
  // fields twice, two members of a oneof (3.4 takes both), unknown fields and enum names (ignored; 3.4
  // refuses an unknown enum name)
  ['kv/range', '{"key":"Zm9v","key":"Zm9v"}', '400 3 proto: (line 1:15): duplicate field "key"'],
  ['kv/range', '{"key":"Zm9v","keys_only":true,"keysOnly":true}', '400 3 proto: (line 1:32): duplicate field "keysOnly"'],
  ['kv/txn', '{"compare":[{"key":"Zm9v","version":"1","mod_revision":"2"}]}', '400 3 proto: (line 1:41): error parsing "mod_revision", oneof etcdserverpb.Compare.target_union is already set'],
  ['kv/txn', '{"success":[{"request_put":{"key":"Zm9v"},"request_range":{"key":"Zm9v"}}]}', '400 3 proto: (line 1:43): error parsing "request_range", oneof etcdserverpb.RequestOp.request is already set'],
  ['kv/txn', '{"success":[{"request_put":null,"request_range":{"key":"Zm9v"}}]}', '200 OK'],
  ['kv/range', '{"key":"Zm9v","nope":{"a":[1,2]},"sort_order":"NOPE"}', '200 OK'],
  // nested messages
  ['kv/txn', '{"compare":{"key":"Zm9v"}}', '400 3 proto: syntax error (line 1:12): unexpected token {'],
  ['kv/txn', '{"compare":[null]}', '400 3 proto: syntax error (line 1:13): unexpected token null'],
  ['kv/txn', '{"compare":[{"key":"Zm9v","version":1.5}]}', '400 3 proto: (line 1:37): invalid value for int64 field version: 1.5'],
  ['kv/txn', '{"success":[{"request_put":{"key":"Zm9v","lease":"x"}}]}', '400 3 proto: (line 1:50): invalid value for int64 field lease: "x"'],
  ['lease/grant', '{"TTL":"x"}', '400 3 proto: (line 1:8): invalid value for int64 field TTL: "x"'],
  ['auth/user/add', '{"name":"x","options":{"no_password":"yes"}}', '400 3 proto: (line 1:38): invalid value for bool field noPassword: "yes"'],
];

describe('the JSON gateway reads bodies as etcd 3.6 does', { skip }, () => {
  let node: RunningServer | undefined;
  let etcd: RunningServer | undefined;
  before(async () => {
    if (!existsSync(etcd36)) throw new Error(`${etcd36} is missing (CI=true: CI must run \`bash scripts/build-tools.sh etcd\`)`);
    [node, etcd] = await Promise.all([
      selfCheck ? startServer({ kind: 'etcd', etcdBinary: etcd36 }) : startServer({ kind: 'node' }),
      startServer({ kind: 'etcd', etcdBinary: etcd36 }),
    ]);
  });
  after(async () => {
    await Promise.all([node?.stop(), etcd?.stop()]);
  });

  it('a lease id above 2^53 sent as a JSON number is exact: timetolive, put, txn', async () => {
    for (const s of [node!, etcd!]) {
      const grant = JSON.parse((await post(s, 'lease/grant', `{"TTL":"60","ID":"${BIG_ID}"}`)).body) as { ID?: string };
      assert.equal(grant.ID, BIG_ID, `${s.binary} grants the lease`);
      const put = await post(s, 'kv/put', `{"key":"bGs=","value":"YmFy","lease":${BIG_ID}}`);
      assert.equal(put.status, 200, `${s.binary}: ${put.body}`);
      const ttl = JSON.parse((await post(s, 'lease/timetolive', `{"ID":${BIG_ID},"keys":true}`)).body) as { ID: string; TTL: string; keys?: string[] };
      assert.equal(ttl.ID, BIG_ID);
      assert.ok(Number(ttl.TTL) > 0, `${s.binary}: TTL ${ttl.TTL}`);
      assert.deepEqual(ttl.keys, ['bGs=']);
      const txn = await post(s, 'kv/txn', `{"compare":[{"target":"LEASE","key":"bGs=","lease":${BIG_ID}}],"success":[{"request_put":{"key":"bDI=","value":"eA==","lease":${BIG_ID}}}]}`);
      assert.match(txn.body, /"succeeded":true/, `${s.binary}: ${txn.body}`);
      const range = JSON.parse((await post(s, 'kv/range', '{"key":"bA==","range_end":"bQ=="}')).body) as { kvs: Array<{ lease: string }> };
      assert.deepEqual(range.kvs.map((kv) => kv.lease), [BIG_ID, BIG_ID]);
    }
  });

  it('a lease id the server chose, used as a bare number: the same answers as etcd', async () => {
    const answers: string[][] = [];
    for (const s of [node!, etcd!]) {
      const grant = JSON.parse((await post(s, 'lease/grant', '{"TTL":"60"}')).body) as { ID: string };
      const id = grant.ID;
      const out = [
        normalized(await post(s, 'kv/put', `{"key":"Y2hvc2Vu","value":"eQ==","lease":${id}}`)).replace(/"revision":"\d+"/, '"revision":"<REV>"'),
        normalized(await post(s, 'lease/timetolive', `{"ID":${id},"keys":true}`)).replace(/"revision":"\d+"/, '"revision":"<REV>"').replaceAll(id, '<LEASE>').replace(/"TTL":"(59|60)"/, '"TTL":"<TTL>"'),
        normalized(await post(s, 'lease/revoke', `{"ID":${id}}`)).replace(/"revision":"\d+"/, '"revision":"<REV>"'),
        normalized(await post(s, 'lease/timetolive', `{"ID":${id}}`)).replace(/"revision":"\d+"/, '"revision":"<REV>"').replaceAll(id, '<LEASE>'),
      ];
      assert.match(out[1]!, /"keys":\["Y2hvc2Vu"\]/, `${s.binary}: the lease is found by its id`);
      answers.push(out);
    }
    assert.deepEqual(answers[0], answers[1]);
  });

  // (a watch_id above 2^53 is read exactly too, but the watch service keeps ids as JS numbers: not shown here)
  it('a watch body: a create request with bare numbers, then one that is not a request', async () => {
    const lines: string[] = [];
    for (const s of [node!, etcd!]) {
      const put = JSON.parse((await post(s, 'kv/put', '{"key":"dw==","value":"MQ=="}')).body) as { header: { revision: string } };
      const rev = put.header.revision;
      const ac = new AbortController();
      const r = await fetch(`${s.clientUrl}/v3/watch`, { method: 'POST', body: `{"create_request":{"key":"dw==","start_revision":${rev}}} {"create_request":{"key":12}}`, signal: ac.signal });
      const reader = r.body!.getReader();
      let text = '';
      while (text.split('\n').length < 3) {
        const { value, done } = (await reader.read()) as { value?: Uint8Array; done: boolean };
        if (done || !value) break;
        text += Buffer.from(value).toString();
      }
      ac.abort();
      lines.push(text.split('\n').slice(0, 2).map((l) => normalized({ status: r.status, body: l }).replaceAll(`"${rev}"`, '"<REV>"')).join('\n'));
    }
    assert.match(lines[1]!, /"events":\[\{"kv":\{"key":"dw=="/);
    assert.equal(lines[0], lines[1]);
  });

  it("a streaming call's bad request: the ones before it are sent, the stream is closed on our side", async () => {
    for (const body of ['{"ID":1.5}', '{"ID":"1"} x']) {
      const [got, want] = await Promise.all([post(node!, 'lease/keepalive', body), post(etcd!, 'lease/keepalive', body)]);
      assert.equal(normalized(got), normalized(want), body);
    }
  });

  for (const [path, body, want36] of CASES) {
    it(`${path} ${JSON.stringify(body)} → ${want36}`, async () => {
      const bytes = Buffer.from(body.replace(/\udcff/g, '\u0000'), 'utf8');
      if (body.includes('\udcff')) bytes[bytes.indexOf(0)] = 0xff; // one byte that is not UTF-8
      const [got, want] = await Promise.all([post(node!, path, bytes), post(etcd!, path, bytes)]);
      assert.equal(errorOf(want), want36, 'what etcd 3.6 answers');
      assert.equal(errorOf(got), errorOf(want));
    });
  }
});
