// Go's strconv.Quote and encoding/json's quoteChar, for error texts that must read as a Go program's
// (the JSON gateway answers with etcd's messages). Printable runes stay as they are, the rest are
// escaped as Go escapes them: \a \b \f \n \r \t \v, \xNN below U+0080 and for bytes that are not
// UTF-8, \uNNNN and \UNNNNNNNN above.

const SHORT_ESCAPES: Readonly<Record<number, string>> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };

/** Go's unicode.IsPrint, close enough for error texts: letters, marks, numbers, punctuation, symbols and ASCII space. */
function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(r));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** One rune inside a Go quoted string whose quote character is `quote`. */
function quoteRune(r: number, quote: string): string {
  if (r === quote.charCodeAt(0) || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (isPrint(r)) return String.fromCodePoint(r);
  const short = SHORT_ESCAPES[r];
  if (short !== undefined) return short;
  if (r < 0x80) return `\\x${hex(r, 2)}`;
  if (r < 0x10000) return `\\u${hex(r, 4)}`;
  return `\\U${hex(r, 8)}`;
}

/**
 * encoding/json's quoteChar(c): the byte as a rune (so 0xff is 'ÿ') in single quotes, e.g. 'b', '\'',
 * '"', '\t', '\x01'.
 */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  return `'${quoteRune(c, '"')}'`;
}

/** strconv.Quote of a byte string (bytes that are not UTF-8 become \xNN). */
export function goQuoteBytes(b: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < b.length) {
    const [r, size] = decodeRune(b, i);
    out += r < 0 ? `\\x${hex(b[i]!, 2)}` : quoteRune(r, '"');
    i += size;
  }
  return `${out}"`;
}

/**
 * The rune at b[i] and its length in bytes, as Go's utf8.DecodeRune: [-1, 1] for a byte that does not
 * start a valid, shortest-form sequence (surrogates included).
 */
export function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const cont = (k: number): number => {
    const c = b[i + k];
    return c !== undefined && (c & 0xc0) === 0x80 ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(1);
    return c1 < 0 ? [-1, 1] : [((c0 & 0x1f) << 6) | c1, 2];
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 < 0 || c2 < 0) return [-1, 1];
    const r = ((c0 & 0x0f) << 12) | (c1 << 6) | c2;
    return r < 0x800 || (r >= 0xd800 && r <= 0xdfff) ? [-1, 1] : [r, 3];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 < 0 || c2 < 0 || c3 < 0) return [-1, 1];
    const r = ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
    return r < 0x10000 || r > 0x10ffff ? [-1, 1] : [r, 4];
  }
  return [-1, 1];
}
