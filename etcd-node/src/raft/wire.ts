// A tiny binary writer/reader for the raft codecs: unsigned varints (LEB128, up to 2^53 − 1), fixed
// 8-byte big-endian uint64 ids, bytes with a varint length. The reader checks every bound and throws
// MalformedError instead of reading past the end.

export class MalformedError extends Error {
  readonly code = 'RAFT_MALFORMED';
}

// Encoding is synchronous and never nested, so every Writer starts on one shared scratch buffer (grown
// as needed) and finish() copies the result out: no allocation per message but the result.
let scratch = new Uint8Array(4096);
let scratchView = new DataView(scratch.buffer);

export class Writer {
  private buf = scratch;
  private view = scratchView;
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
    scratch = next;
    scratchView = this.view;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** a non-negative safe integer */
  uvarint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`raft: cannot encode ${v} as an unsigned varint`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new RangeError(`raft: id ${v} is not a uint64`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(why: string): never {
    throw new MalformedError(`raft: malformed ${this.what}: ${why} at byte ${this.pos}`);
  }

  u8(): number {
    if (this.pos >= this.buf.length) this.fail('unexpected end');
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) this.fail('integer out of range');
        return result;
      }
      mul *= 0x80;
    }
    return this.fail('varint too long');
  }

  u64(): bigint {
    if (this.pos + 8 > this.buf.length) this.fail('unexpected end');
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.uvarint();
    if (this.pos + n > this.buf.length) this.fail(`length ${n} past the end`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** a count of items that each take at least `minItemBytes`; refuses counts the input cannot hold */
  count(minItemBytes: number): number {
    const n = this.uvarint();
    if (n * minItemBytes > this.buf.length - this.pos) this.fail(`count ${n} larger than the input`);
    return n;
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}
