// Reading a put's body (a Buffer, a Readable or any async iterable of bytes) chunk by chunk, such that an
// abort is noticed even while the source is stalled: waiting for the next chunk races the signal, and
// releasing the body destroys a Readable at once instead of waiting for it to produce.
import { Readable } from 'node:stream';
import type { Body } from './store.js';
import { StoreError } from './store.js';

/** The body's chunks as Buffers, and a way to let go of the source early. */
export interface BodyReader {
  /** The next chunk, undefined at the end; rejects with StoreError Aborted once `signal` aborts. */
  next(): Promise<Buffer | undefined>;
  /** Stops reading: destroys a Readable, ends an iterator (without waiting for it). Idempotent. */
  release(): void;
}

/** A chunk of a stream as a Buffer (no copy); strings come from streams with an encoding set. */
function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`a put body yielded a ${typeof chunk}, not bytes`);
}

export function abortedError(signal: AbortSignal, what: string): StoreError {
  return new StoreError('Aborted', `${what}: aborted`, { cause: signal.reason });
}

export function readBody(body: Body, what: string, signal?: AbortSignal): BodyReader {
  if (Buffer.isBuffer(body)) {
    let given = false;
    return {
      next: async () => {
        if (signal?.aborted === true) throw abortedError(signal, what);
        if (given) return undefined;
        given = true;
        return body;
      },
      release: () => {},
    };
  }
  const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let released = false;
  let ended = false;
  const release = (): void => {
    if (released) return;
    released = true;
    if (body instanceof Readable) {
      body.destroy();
    } else if (!ended && iterator.return !== undefined) {
      // an async generator runs its `finally` once its pending step settles: do not wait for that
      iterator.return().catch(() => {});
    }
  };
  return {
    next: async () => {
      if (signal?.aborted === true) throw abortedError(signal, what);
      if (ended) return undefined;
      const step = iterator.next();
      let result: IteratorResult<unknown>;
      if (signal === undefined) {
        result = await step;
      } else {
        // the source may still fail after an abort made us stop waiting for it: nobody cares then
        step.catch(() => {});
        let onAbort: (() => void) | undefined;
        const aborted = new Promise<never>((_res, rej) => {
          onAbort = () => rej(abortedError(signal, what));
          signal.addEventListener('abort', onAbort, { once: true });
        });
        try {
          result = await Promise.race([step, aborted]);
        } finally {
          if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
        }
      }
      if (result.done === true) {
        ended = true;
        return undefined;
      }
      return toBuffer(result.value);
    },
    release,
  };
}
