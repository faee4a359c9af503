// The tokens of one JSON value as Go's protojson reads them (etcd 3.6's gateway maps each request with
// protojson after encoding/json has read it): positions as "line L:C" (columns count runes), strings
// checked for UTF-8 and their \u escapes for surrogate pairs, numbers kept as their text so that 64-bit
// integers stay exact. The value's syntax was checked before (util/go-json-scan.ts), so the lexer only
// splits it; the errors here are the ones protojson adds, in its words.
import { decodeRune, goQuoteBytes } from '../../util/go-quote.js';

/** A request the gateway cannot map to its message; the text is protojson's ("proto: (line 1:8): …"). */
export class ProtoJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoJsonError';
  }
}

export type TokenKind = '{' | '}' | '[' | ']' | 'name' | 'string' | 'number' | 'bool' | 'null' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** byte offset in the value */
  readonly pos: number;
  readonly end: number;
  /** the decoded text of a name or string */
  readonly str: string;
  readonly bool: boolean;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const ESCAPES: Readonly<Record<number, string>> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
const lossy = new TextDecoder('utf-8');

export class ProtoJsonLexer {
  private at = 0;
  private peeked: Token | undefined;

  constructor(private readonly buf: Uint8Array) {}

  /** The token's bytes as written (protojson's RawString), e.g. `"%%%"` with its quotes, `12`, `{`. */
  raw(t: Token): string {
    return lossy.decode(this.buf.subarray(t.pos, t.end));
  }

  /** "line L:C" of a byte offset: lines count '\n', columns count runes, both from 1. */
  position(pos: number): string {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < pos; i++) {
      if (this.buf[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    let col = 1;
    for (let i = lineStart; i < pos; i += decodeRune(this.buf, i)[1]) col++;
    return `line ${line}:${col}`;
  }

  /** protojson's error at a token: "proto: (line 1:8): …" */
  error(t: Token, message: string): ProtoJsonError {
    return new ProtoJsonError(`proto: (${this.position(t.pos)}): ${message}`);
  }

  syntaxError(pos: number, message: string): ProtoJsonError {
    return new ProtoJsonError(`proto: syntax error (${this.position(pos)}): ${message}`);
  }

  unexpectedToken(t: Token): ProtoJsonError {
    return this.syntaxError(t.pos, `unexpected token ${this.raw(t)}`);
  }

  peek(): Token {
    this.peeked ??= this.next();
    return this.peeked;
  }

  read(): Token {
    const t = this.peek();
    this.peeked = undefined;
    return t;
  }

  private token(kind: TokenKind, pos: number, end: number, str = '', bool = false): Token {
    this.at = end;
    return { kind, pos, end, str, bool };
  }

  private next(): Token {
    const b = this.buf;
    let i = this.at;
    while (i < b.length && (isSpace(b[i]!) || b[i] === 0x2c || b[i] === 0x3a)) i++;
    if (i >= b.length) return this.token('eof', i, i);
    const c = b[i]!;
    switch (c) {
      case 0x7b:
        return this.token('{', i, i + 1);
      case 0x7d:
        return this.token('}', i, i + 1);
      case 0x5b:
        return this.token('[', i, i + 1);
      case 0x5d:
        return this.token(']', i, i + 1);
      case 0x74:
        return this.token('bool', i, i + 4, '', true);
      case 0x66:
        return this.token('bool', i, i + 5, '', false);
      case 0x6e:
        return this.token('null', i, i + 4);
      case 0x22: {
        const [str, end] = this.string(i);
        let j = end;
        while (j < b.length && isSpace(b[j]!)) j++;
        return this.token(b[j] === 0x3a ? 'name' : 'string', i, end, str);
      }
      default: {
        let j = i + 1;
        while (j < b.length && /[0-9.eE+-]/.test(String.fromCharCode(b[j]!))) j++;
        return this.token('number', i, j);
      }
    }
  }

  /** The string starting at `start` (its opening quote): its text and the offset after its closing quote. */
  private string(start: number): [string, number] {
    const b = this.buf;
    let out = '';
    let run = start + 1; // start of the bytes not yet added to `out`
    let i = run;
    const hex4 = (k: number): number => {
      const h = lossy.decode(b.subarray(k, k + 4));
      return /^[0-9a-fA-F]{4}$/.test(h) ? parseInt(h, 16) : -1;
    };
    for (;;) {
      if (i >= b.length) throw new ProtoJsonError('proto: unexpected EOF');
      const c = b[i]!;
      if (c === 0x22) return [out + lossy.decode(b.subarray(run, i)), i + 1];
      if (c !== 0x5c) {
        if (c < 0x80) i++;
        else {
          const [r, size] = decodeRune(b, i);
          if (r < 0) throw this.syntaxError(start, 'invalid UTF-8 in string');
          i += size;
        }
        continue;
      }
      out += lossy.decode(b.subarray(run, i));
      const simple = ESCAPES[b[i + 1]!];
      if (simple !== undefined) {
        out += simple;
        i += 2;
      } else {
        // \uXXXX (the scanner let nothing else through); a surrogate must be followed by its pair
        let r = hex4(i + 2);
        i += 6;
        if (r >= 0xd800 && r <= 0xdfff) {
          if (b.length - i < 6) throw new ProtoJsonError('proto: unexpected EOF');
          const lo = b[i] === 0x5c && b[i + 1] === 0x75 ? hex4(i + 2) : -1;
          if (r > 0xdbff || lo < 0xdc00 || lo > 0xdfff) {
            throw this.syntaxError(start, `invalid escape code ${goQuoteBytes(b.subarray(i, i + 6))} in string`);
          }
          r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
          i += 6;
        }
        out += String.fromCodePoint(r);
      }
      run = i;
    }
  }
}
