// The scalar values protojson takes for a field, decided as it decides them: integers from a JSON
// number or a string holding one (1e3, 10E-1, "1.0" are integers; exactly, never through a float),
// bytes from standard or URL-safe base64 with or without padding (Go's decoder: CR and LF ignored).
// Each function answers undefined for a value protojson refuses.

/** protojson's delimiter test after a number: anything but a letter, digit, '-', '+', '.', '_'. */
const isDelim = (c: string | undefined): boolean => c === undefined || !/[A-Za-z0-9_.+-]/.test(c);

/**
 * The integer a JSON number's text stands for (digits, with '-' when negative), or undefined when it is
 * not an integer, not a number, or not followed by a delimiter. Follows protojson's number grammar:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, trailing zeros of the fraction dropped, an exponent
 * above 20 refused.
 */
export function integerText(text: string): string | undefined {
  const m = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?/.exec(text);
  if (!m || !isDelim(text[m[0].length])) return undefined;
  const neg = m[1] === '-';
  const intp = m[2] === '0' ? '' : m[2]!;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  if (intp === '' && frac === '') return '0';
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 0x7fffffff) return undefined;
  let digits: string;
  if (exp >= 0) {
    if (frac.length > exp || exp > 20) return undefined;
    digits = intp + frac + '0'.repeat(exp - frac.length);
  } else {
    if (frac.length > 0) return undefined;
    const point = intp.length + exp;
    if (point < 0 || /[^0]/.test(intp.slice(point))) return undefined;
    digits = intp.slice(0, point);
  }
  return neg ? `-${digits}` : digits;
}

/** Go's strings.TrimSpace set (unicode.IsSpace). */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

export interface IntRange {
  readonly min: bigint;
  readonly max: bigint;
}

export const INT_RANGES: Readonly<Record<'int32' | 'uint32' | 'int64' | 'uint64', IntRange>> = {
  int32: { min: -(2n ** 31n), max: 2n ** 31n - 1n },
  uint32: { min: 0n, max: 2n ** 32n - 1n },
  int64: { min: -(2n ** 63n), max: 2n ** 63n - 1n },
  uint64: { min: 0n, max: 2n ** 64n - 1n },
};

/**
 * An integer field's value from a JSON number's text (`fromString` false) or from a JSON string's
 * content (protojson reads the first token of the string, which must be a number; surrounding
 * whitespace is refused, what follows the number after a delimiter is not read).
 */
export function integerValue(text: string, fromString: boolean, range: IntRange): bigint | undefined {
  if (fromString && GO_SPACE.test(text)) return undefined;
  const digits = integerText(text);
  if (digits === undefined) return undefined;
  if (range.min === 0n && digits.startsWith('-')) return undefined; // ParseUint takes no sign
  const v = BigInt(digits);
  return v < range.min || v > range.max ? undefined : v;
}

const STD = /^[A-Za-z0-9+/]*$/;
const URL = /^[A-Za-z0-9_-]*$/;

/** Bytes from base64 as protojson takes them, or undefined. */
export function base64Value(s: string): Buffer | undefined {
  const url = /[-_]/.test(s);
  const padded = s.length % 4 === 0; // Go counts the string's bytes; any non-ASCII fails either way
  const t = s.replace(/[\r\n]/g, '');
  let body = t;
  if (padded) {
    if (t.length % 4 !== 0) return undefined;
    body = t.endsWith('==') ? t.slice(0, -2) : t.endsWith('=') ? t.slice(0, -1) : t;
    if (t.length - body.length > 0 && body.length % 4 < 2) return undefined;
  } else if (t.length % 4 === 1) return undefined;
  if (!(url ? URL : STD).test(body)) return undefined;
  return Buffer.from(body, url ? 'base64url' : 'base64');
}
