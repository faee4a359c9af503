// Latency samples of one case. Samples go into a preallocated Float64Array (no allocation per
// request: the generator shares the machine's cores with the servers it measures).
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

export class Latencies {
  private samples: Float64Array;
  count = 0;

  constructor(expected: number) {
    this.samples = new Float64Array(Math.max(16, expected));
  }

  add(ms: number): void {
    if (this.count === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.count++] = ms;
  }

  /** Nearest-rank percentiles in milliseconds (0 when there is no sample). */
  percentiles(): Percentiles {
    const sorted = this.samples.subarray(0, this.count).sort();
    const at = (p: number): number => (this.count === 0 ? 0 : sorted[Math.min(this.count - 1, Math.ceil(this.count * p) - 1)]!);
    return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
  }
}
