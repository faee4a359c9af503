// The etcd3 client for the kill -9 suites: every call is sent once and its outcome recorded as it is.
// etcd3's default fault handling retries a failed call (and a circuit breaker may refuse calls), which
// would hide exactly what those suites check. Only `execute` of a policy is used by etcd3.
import type { IOptions } from 'etcd3';

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

const sendOnce = {
  execute: async <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> =>
    fn({ signal: new AbortController().signal }),
} as unknown as Policy;

/** `faultHandling` for `new Etcd3({...})`: no retries, no circuit breaker. */
export const sendOnceFaultHandling: NonNullable<IOptions['faultHandling']> = { host: () => sendOnce, global: sendOnce };
