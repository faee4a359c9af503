// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of WAL records and of HashKV
// (etcd hashes with the same polynomial, so equal data gives equal hashes across implementations).
// Slicing-by-8 tables: eight bytes per step, about 4x the byte-at-a-time speed on the WAL hot path.

const POLY = 0x82f63b78;

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  const t0 = t[0]!;
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = t0[i]!;
    for (let k = 1; k < 8; k++) {
      c = (c >>> 8) ^ t0[c & 0xff]!;
      t[k]![i] = c >>> 0;
    }
  }
  return t;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/**
 * Continues a CRC-32C over `data`. Start with `crc = 0`; feed the previous result to hash data in pieces:
 * `crc32c(b, crc32c(a))` equals `crc32c(a ++ b)`.
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = (c >>> 8) ^ T0[(c ^ data[i++]!) & 0xff]!;
  return ~c >>> 0;
}
