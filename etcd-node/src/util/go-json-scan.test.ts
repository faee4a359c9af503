// The scanner reads one JSON value as Go's json.Decoder does: where it ends, where the input ends, and
// Go's syntax error texts (recorded from etcd's gateway, whose texts are encoding/json's).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GoJsonSyntaxError, scanGoJsonValue } from './go-json-scan.js';
import { goQuoteBytes, goQuoteChar } from './go-quote.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

function errorOf(s: string | Buffer): string {
  try {
    scanGoJsonValue(typeof s === 'string' ? bytes(s) : s, 0);
  } catch (err) {
    assert.ok(err instanceof GoJsonSyntaxError);
    return err.message;
  }
  return 'no error';
}

test('Go syntax error texts', () => {
  const cases: Array<[string, string]> = [
    ['{b', "invalid character 'b' looking for beginning of object key string"],
    ['{"key":', 'unexpected EOF'],
    ['{', 'unexpected EOF'],
    ['"abc', 'unexpected EOF'],
    ['tru', 'unexpected EOF'],
    ['-', 'unexpected EOF'],
    ['1.5e', 'unexpected EOF'],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{"key":"Zm9v" "limit":1}', `invalid character '"' after object key:value pair`],
    ['{"key" "Zm9v"}', `invalid character '"' after object key`],
    ['{"key":"Zm9v",}', "invalid character '}' looking for beginning of object key string"],
    ['{"key":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['nulL', "invalid character 'L' in literal null (expecting 'l')"],
    ['fa', 'unexpected EOF'],
    ['fx', "invalid character 'x' in literal false (expecting 'a')"],
    ['{"key":-}', "invalid character '}' in numeric literal"],
    ['{"key":01}', "invalid character '1' after object key:value pair"],
    ['{"key":"\\q"}', "invalid character 'q' in string escape code"],
    ['{"key":"\\u12"}', `invalid character '"' in \\u hexadecimal character escape`],
    ['{"key":"a\tb"}', "invalid character '\\t' in string literal"],
    ['"\n"', "invalid character '\\n' in string literal"],
    ['"\u0001"', "invalid character '\\x01' in string literal"],
    ['{"key":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"key":1e}', "invalid character '}' in exponent of numeric literal"],
    ['{"key":1e+}', "invalid character '}' in exponent of numeric literal"],
    ['{"key":[1,]}', "invalid character ']' looking for beginning of value"],
    ['[1}', "invalid character '}' after array element"],
    ['{"a":1]', "invalid character ']' after object key:value pair"],
    ["{'key':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['\u007f', "invalid character '\\x7f' looking for beginning of value"],
  ];
  for (const [input, want] of cases) assert.equal(errorOf(input), want, JSON.stringify(input));
  // a byte is quoted as the rune of its value: 0xff is 'ÿ', 0x80 is not printable
  assert.equal(errorOf(Buffer.from([0xff])), "invalid character 'ÿ' looking for beginning of value");
  assert.equal(errorOf(Buffer.from([0x80])), "invalid character '\\u0080' looking for beginning of value");
});

test('nesting deeper than 10000 is refused as Go refuses it', () => {
  assert.equal(errorOf('['.repeat(10_001)), "invalid character '[' exceeded max depth");
  assert.equal(errorOf('['.repeat(10_000)), 'unexpected EOF');
  assert.deepEqual(scanGoJsonValue(bytes(`${'['.repeat(10_000)}${']'.repeat(10_000)}`), 0), { start: 0, end: 20_000 });
});

test('one value at a time: leading whitespace skipped, the rest left, only whitespace is the end', () => {
  const b = bytes(' \n {"a":[1,{"b":null}]} 12 "x"true  ');
  const first = scanGoJsonValue(b, 0)!;
  assert.equal(b.subarray(first.start, first.end).toString(), '{"a":[1,{"b":null}]}');
  const second = scanGoJsonValue(b, first.end)!;
  assert.equal(b.subarray(second.start, second.end).toString(), '12');
  const third = scanGoJsonValue(b, second.end)!;
  assert.equal(b.subarray(third.start, third.end).toString(), '"x"');
  const fourth = scanGoJsonValue(b, third.end)!;
  assert.equal(b.subarray(fourth.start, fourth.end).toString(), 'true');
  assert.equal(scanGoJsonValue(b, fourth.end), undefined);
  assert.equal(scanGoJsonValue(bytes(''), 0), undefined);
  // a top-level number ends at the first byte that cannot continue it (Go complains only on the next read)
  const n = scanGoJsonValue(bytes('-12.5e3x'), 0)!;
  assert.deepEqual(n, { start: 0, end: 7 });
  assert.equal(errorOf('-12.5e3x'), 'no error');
});

test('what JSON.parse takes, the scanner takes whole; what it reads whole, JSON.parse takes', () => {
  fc.assert(
    fc.property(fc.json(), (text) => {
      const b = bytes(` ${text} `);
      assert.deepEqual(scanGoJsonValue(b, 0), { start: 1, end: b.length - 1 });
    }),
  );
  const alphabet = fc.constantFrom(...'{}[]:,"\\ 0123456789.eE+-truefalsnu\tx'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 24 }).map((cs) => cs.join('')), (text) => {
      let parsed = true;
      try {
        JSON.parse(text);
      } catch {
        parsed = false;
      }
      const b = bytes(text);
      let whole = false;
      try {
        const v = scanGoJsonValue(b, 0);
        whole = v !== undefined && b.subarray(v.end).toString().trim() === '';
      } catch (err) {
        assert.ok(err instanceof GoJsonSyntaxError);
      }
      assert.equal(whole, parsed, JSON.stringify(text));
    }),
    { numRuns: 5000 },
  );
});

test('Go quoting', () => {
  assert.equal(goQuoteChar(0x27), "'\\''");
  assert.equal(goQuoteChar(0x22), `'"'`);
  assert.equal(goQuoteChar(0x5c), "'\\\\'");
  assert.equal(goQuoteChar(0x0d), "'\\r'");
  assert.equal(goQuoteBytes(bytes('\\u0041')), '"\\\\u0041"');
  assert.equal(goQuoteBytes(Buffer.from([0x61, 0xff, 0xc3, 0xa9, 0x0a, 0x22])), '"a\\xffé\\n\\""');
  assert.equal(goQuoteBytes(bytes('\u00a0\u{1f600}')), '"\\u00a0😀"');
});
