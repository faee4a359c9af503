// What Go's encoding/json Decoder does when it reads one value from a stream, for the JSON gateway
// (etcd's grpc-gateway reads each request that way before it maps it to protobuf): the value's
// bytes, or the end of the input, or the syntax error Go reports, with Go's text ("invalid character
// 'b' looking for beginning of object key string", "unexpected EOF"). The grammar is JSON's (RFC 8259);
// the state names follow the grammar, the messages are Go's documented error texts.
import { goQuoteChar } from './go-quote.js';

/** A body that is not JSON; `message` is encoding/json's error text. */
export class GoJsonSyntaxError extends Error {
  constructor(
    message: string,
    /** offset of the offending byte (the input's length for an unexpected end) */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'GoJsonSyntaxError';
  }
}

/** encoding/json's limit on nested objects and arrays. */
const MAX_DEPTH = 10_000;

const enum S {
  Value, // a value must start here
  ValueOrEnd, // after '[': a value or ']'
  Key, // after ',' in an object: a key string
  KeyOrEnd, // after '{': a key string or '}'
  AfterValue, // a value ended: ':' ',' '}' ']' or the end of the top-level value
  Str,
  StrEsc,
  StrHex, // in the 4 hex digits of \u
  Neg, // after '-'
  Int, // in 1-9 digits
  Zero, // after a leading 0
  Dot, // after '.'
  Frac, // in fraction digits
  Exp, // after 'e'
  ExpSign, // after 'e+' / 'e-'
  ExpDigits,
  Lit, // in true / false / null
}

const enum Ctx {
  ObjectKey,
  ObjectValue,
  Array,
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

const LITERALS: Readonly<Record<number, string>> = { 0x74: 'true', 0x66: 'false', 0x6e: 'null' };

/**
 * Reads one JSON value from `buf` at `from`, as Go's json.Decoder.Decode does: leading whitespace is
 * skipped, the value ends at its last byte (what follows is left for the next read). Returns the value's
 * [start, end), or undefined when only whitespace is left (Go's io.EOF). Throws GoJsonSyntaxError.
 */
export function scanGoJsonValue(buf: Uint8Array, from: number): { start: number; end: number } | undefined {
  let i = from;
  while (i < buf.length && isSpace(buf[i]!)) i++;
  if (i >= buf.length) return undefined;
  const start = i;
  const stack: Ctx[] = [];
  let state = S.Value as S; // (as S: the closures below change it too)
  let lit = '';
  let litAt = 0;
  const fail = (c: number, context: string): never => {
    throw new GoJsonSyntaxError(`invalid character ${goQuoteChar(c)} ${context}`, i);
  };
  const push = (c: number, ctx: Ctx): void => {
    stack.push(ctx);
    if (stack.length > MAX_DEPTH) fail(c, 'exceeded max depth');
  };

  let hexLeft = 0;
  const beginValue = (c: number): void => {
    if (c === 0x7b) {
      push(c, Ctx.ObjectKey);
      state = S.KeyOrEnd;
    } else if (c === 0x5b) {
      push(c, Ctx.Array);
      state = S.ValueOrEnd;
    } else if (c === 0x22) state = S.Str;
    else if (c === 0x2d) state = S.Neg;
    else if (c === 0x30) state = S.Zero;
    else if (c >= 0x31 && c <= 0x39) state = S.Int;
    else if (LITERALS[c] !== undefined) {
      lit = LITERALS[c];
      litAt = 1;
      state = S.Lit;
    } else fail(c, 'looking for beginning of value');
  };
  const beginKey = (c: number): void => {
    if (c !== 0x22) fail(c, 'looking for beginning of object key string');
    state = S.Str;
  };
  /** A value ended with byte i: true when it was the top-level one. */
  const ended = (): boolean => {
    state = S.AfterValue;
    return stack.length === 0;
  };
  /** '}' or ']' closes the innermost container: true when that was the top-level value. */
  const close = (): boolean => {
    stack.pop();
    return ended();
  };

  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (isSpace(c) && (state === S.Value || state === S.ValueOrEnd || state === S.Key || state === S.KeyOrEnd || state === S.AfterValue)) continue;
    switch (state) {
      case S.ValueOrEnd:
        if (c === 0x5d) {
          if (close()) return { start, end: i + 1 };
        } else beginValue(c);
        break;
      case S.Value:
        beginValue(c);
        break;
      case S.KeyOrEnd:
        if (c === 0x7d) {
          if (close()) return { start, end: i + 1 };
        } else beginKey(c);
        break;
      case S.Key:
        beginKey(c);
        break;
      case S.Str:
        if (c === 0x22) {
          if (ended()) return { start, end: i + 1 };
        } else if (c === 0x5c) state = S.StrEsc;
        else if (c < 0x20) fail(c, 'in string literal');
        break;
      case S.StrEsc:
        if (c === 0x75) {
          state = S.StrHex;
          hexLeft = 4;
        } else if ('bfnrt\\/"'.includes(String.fromCharCode(c))) state = S.Str;
        else fail(c, 'in string escape code');
        break;
      case S.StrHex:
        if (!isHex(c)) fail(c, 'in \\u hexadecimal character escape');
        if (--hexLeft === 0) state = S.Str;
        break;
      case S.Neg:
        if (c === 0x30) state = S.Zero;
        else if (c >= 0x31 && c <= 0x39) state = S.Int;
        else fail(c, 'in numeric literal');
        break;
      case S.Int:
      case S.Zero:
        if (state === S.Int && isDigit(c)) break;
        if (c === 0x2e) state = S.Dot;
        else if (c === 0x65 || c === 0x45) state = S.Exp;
        else if (ended()) return { start, end: i };
        else i--; // the byte after a number is read again
        break;
      case S.Dot:
        if (!isDigit(c)) fail(c, 'after decimal point in numeric literal');
        state = S.Frac;
        break;
      case S.Frac:
        if (isDigit(c)) break;
        if (c === 0x65 || c === 0x45) state = S.Exp;
        else if (ended()) return { start, end: i };
        else i--;
        break;
      case S.Exp:
      case S.ExpSign:
        if (state === S.Exp && (c === 0x2b || c === 0x2d)) state = S.ExpSign;
        else if (!isDigit(c)) fail(c, 'in exponent of numeric literal');
        else state = S.ExpDigits;
        break;
      case S.ExpDigits:
        if (isDigit(c)) break;
        if (ended()) return { start, end: i };
        i--;
        break;
      case S.Lit:
        if (c !== lit.charCodeAt(litAt)) fail(c, `in literal ${lit} (expecting ${goQuoteChar(lit.charCodeAt(litAt))})`);
        if (++litAt === lit.length && ended()) return { start, end: i + 1 };
        break;
      case S.AfterValue: {
        const top = stack[stack.length - 1];
        if (top === Ctx.ObjectKey) {
          if (c !== 0x3a) fail(c, 'after object key');
          stack[stack.length - 1] = Ctx.ObjectValue;
          state = S.Value;
        } else if (top === Ctx.ObjectValue) {
          if (c === 0x2c) {
            stack[stack.length - 1] = Ctx.ObjectKey;
            state = S.Key;
          } else if (c !== 0x7d) fail(c, 'after object key:value pair');
          else if (close()) return { start, end: i + 1 };
        } else if (c === 0x2c) state = S.Value;
        else if (c !== 0x5d) fail(c, 'after array element');
        else if (close()) return { start, end: i + 1 };
        break;
      }
    }
  }
  // the input ended inside the value; a top-level number may end there
  if (stack.length === 0 && (state === S.Int || state === S.Zero || state === S.Frac || state === S.ExpDigits)) return { start, end: i };
  throw new GoJsonSyntaxError('unexpected EOF', buf.length);
}
