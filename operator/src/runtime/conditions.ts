// Conditions as Kubernetes keeps them: a condition's lastTransitionTime moves only when its status
// changes, so writing the same conditions again is no change (and no status write).
import type { Condition } from '../api/etcd-cluster.js';

/** Now, as the API's timestamps are written (RFC 3339, whole seconds, Z). */
export const nowRfc3339 = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** `next` with the transition times of `old` kept where a condition's status did not change. */
export function settleConditions(next: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>, old: readonly Condition[], observedGeneration?: number): Condition[] {
  const now = nowRfc3339();
  return next.map((c) => {
    const prev = old.find((x) => x.type === c.type);
    return { ...c, ...(observedGeneration !== undefined ? { observedGeneration } : {}), lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now };
  });
}
