// Ids a member makes up on its own (lease ids, proposal ids), shaped as etcd shapes its request ids: the low
// 16 bits of the member id on top (ids from different members cannot collide), then 40 bits of the
// millisecond clock at start, then a counter. The counter carries into the time bits, so ids only grow
// while the process runs, and a restart starts above the previous run's ids unless the clock went back.

const SUFFIX_BITS = 48n;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;
const POSITIVE_INT64 = (1n << 63n) - 1n;

export class IdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  constructor(memberId: bigint, nowMs: number = Date.now()) {
    this.prefix = (memberId & 0xffffn) << SUFFIX_BITS;
    this.suffix = (BigInt(nowMs) << 8n) & SUFFIX_MASK;
  }

  /** The next id: positive as an int64, never 0 (0 means "no lease"). */
  next(): bigint {
    for (;;) {
      this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
      const id = (this.prefix | this.suffix) & POSITIVE_INT64;
      if (id !== 0n) return id;
    }
  }
}
