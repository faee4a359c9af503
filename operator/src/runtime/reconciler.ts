// The contract every controller keeps with the workqueue (controller-runtime's, in small):
// - `reconcile(key)` is level-triggered and idempotent: it looks at the world for that key and takes at
//   most one step towards the spec; it may run any number of times for one change.
// - It resolves with a Result: `{}` is done until the next event or resync; `requeueAfterMs: n` looks
//   again after n ms (a step in flight, a wait), with the key's failure backoff reset.
// - It rejects with an error to be retried with exponential backoff (the API server or a member did not
//   answer: a later try may work), or with a TerminalError when trying again cannot help until something
//   changes (the spec or the world: a request the API server refuses as invalid). A terminal error is
//   logged and counted, not retried; the next event or resync for the key runs it again.
export interface Result {
  /** look at the key again after this many milliseconds (0: at once, behind other keys) */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(namespace: string, name: string): Promise<Result>;
}

/** A failure that a retry of the same reconcile cannot fix. */
export class TerminalError extends Error {
  readonly code = 'TERMINAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminal(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}
