// The worker thread's side of convertInWorker (convert-in-worker.ts): converts the files named in
// workerData and posts the result, or the error, back. Loaded only as a worker's entry module.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { convertBackendFile, type ConvertOptions } from './convert.js';

export interface ConvertJob {
  readonly lmdbFile: string;
  readonly outFile: string;
  readonly opts: ConvertOptions;
}

export type ConvertReply =
  | { readonly ok: true; readonly result: Awaited<ReturnType<typeof convertBackendFile>> }
  | { readonly ok: false; readonly error: { readonly name: string; readonly message: string; readonly code?: string; readonly stack?: string } };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const job = workerData as ConvertJob;
  convertBackendFile(job.lmdbFile, job.outFile, job.opts).then(
    (result) => port.postMessage({ ok: true, result } satisfies ConvertReply),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      port.postMessage({
        ok: false,
        error: { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}), ...(e.stack !== undefined ? { stack: e.stack } : {}) },
      } satisfies ConvertReply);
    },
  );
}
