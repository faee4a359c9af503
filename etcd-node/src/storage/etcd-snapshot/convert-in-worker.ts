// Runs convertBackendFile (convert.ts) on a worker thread: the conversion reads and writes the whole
// database synchronously, which on the main thread would stall the apply loop for as long as a
// multi-GB database takes. An abort signal terminates the worker and removes the partial output.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BboltError, type BboltErrorCode } from '../bbolt/errors.js';
import type { ConvertOptions, ConvertResult } from './convert.js';
import type { ConvertJob, ConvertReply } from './convert-worker.js';

const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCES ? './convert-worker.ts' : './convert-worker.js', import.meta.url);

/**
 * From dist/ the worker runs the compiled entry. From the sources (the unit tests, run with
 * `--import tsx`) Node 20 does not apply the parent's tsx hooks to a worker's entry, so a small
 * bootstrap registers tsx in the worker first and then imports the .ts entry.
 */
function startWorker(job: ConvertJob): Worker {
  if (!FROM_SOURCES) return new Worker(WORKER_URL, { workerData: job });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true, workerData: job });
}

export function convertInWorker(lmdbFile: string, outFile: string, opts: ConvertOptions, signal?: AbortSignal): Promise<ConvertResult> {
  return new Promise<ConvertResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const job: ConvertJob = { lmdbFile, outFile, opts };
    const worker = startWorker(job);
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (err: Error): void =>
      finish(() => {
        fs.rmSync(outFile, { force: true });
        reject(err);
      });
    const onAbort = (): void => {
      // terminate first: the worker may still be writing outFile
      worker.terminate().then(
        () => fail(abortError(signal!)),
        () => fail(abortError(signal!)),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (reply: ConvertReply) => {
      if (reply.ok) finish(() => resolve(reply.result));
      else fail(toError(reply.error));
    });
    worker.once('error', (err) => fail(err));
    worker.once('exit', (code) => {
      if (!settled && !signal?.aborted) fail(new Error(`snapshot conversion: the worker exited with code ${code} before answering`));
    });
  });
}

function toError(e: Extract<ConvertReply, { ok: false }>['error']): Error {
  const err = e.name === 'BboltError' && e.code !== undefined ? new BboltError(e.code as BboltErrorCode, e.message) : new Error(e.message);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('snapshot conversion: aborted');
}
