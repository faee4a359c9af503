// Polling until a condition holds, for tests that wait on a process or an agent.
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Calls fn every `everyMs` until it returns something other than undefined; fails after `ms`, naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
