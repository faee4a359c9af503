// What one case against one server yields, whichever client produced it.
import type { Latencies } from './latencies.js';

export interface CaseResult {
  /** requests (or events) completed */
  readonly requests: number;
  readonly opsPerSec: number;
  /** milliseconds; undefined when the client does not report it */
  readonly p50?: number;
  readonly p99?: number;
  readonly p999?: number;
  readonly errors: number;
  /** the first error seen, or why the case stopped early */
  readonly note?: string;
}

export function resultOf(lat: Latencies, seconds: number, errors: number, note?: string): CaseResult {
  const p = lat.percentiles();
  return { requests: lat.count, opsPerSec: seconds > 0 ? lat.count / seconds : 0, ...p, errors, ...(note === undefined ? {} : { note }) };
}

/** A case that could not run at all against a server (it did not start, a tool failed…). */
export const failedResult = (note: string): CaseResult => ({ requests: 0, opsPerSec: 0, errors: 0, note });

/** The message of an error, for a note in the table. */
export function describeError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 120 ? `${msg.slice(0, 117)}…` : msg;
}
