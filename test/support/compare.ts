// Side-by-side comparison: the same etcdctl command against etcd-node and against a real etcd, and the
// normalized stdout, stderr and exit code must be identical.
//
// Both servers receive exactly the same sequence of commands, so their revisions stay equal and
// nothing but what `normalize` hides may differ. A mismatch does not stop the sequence (that would
// leave the two servers with different histories for the next test): it is recorded, and the test
// that produced it fails at its end with every mismatch it saw (`compatTest`).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { etcdctl, normalize, type CtlOptions, type CtlResult, type NormalizeContext } from './etcdctl.js';
import { startServer, type RunningServer, type ServerOptions } from './servers.js';

export interface Side {
  /** 'node' (etcd-node, or a second real etcd under COMPAT_SELF_CHECK=1) or 'etcd'. */
  readonly label: 'node' | 'etcd';
  readonly server: RunningServer;
  /** A scratch directory of this side (snapshot files…), shown as <WORKDIR> after normalizing. */
  readonly workDir: string;
  ctx: NormalizeContext;
}

export interface SameOptions {
  /** stdin for both sides. */
  stdin?: string | Buffer;
  /**
   * The exit code the real etcd must give: checks that the test exercises what it means to (an error
   * case really errors). A wrong code on the etcd side fails the test at once: the test is wrong.
   */
  expectCode?: number;
  timeoutMs?: number;
  /** The signal that ends the command at `timeoutMs` (default SIGKILL). */
  killSignal?: NodeJS.Signals;
  /**
   * Ids a server makes up on its own (the lease of an etcdctl lock session): every distinct value the
   * regex's first group captures in a side's output reads as <ID1>, <ID2>… in order of first appearance.
   * The shape and the order stay compared. The regex must have the g flag.
   */
  hideIds?: RegExp;
  /**
   * etcdctl logs some errors from two goroutines (the client's retry warning and the command's own
   * error) in either order: compare stderr as a set of lines.
   */
  stderrUnordered?: boolean;
  /** A further rewrite of both sides' normalized output, for an order the server leaves undefined. */
  canonical?: (text: string) => string;
}

export interface Pair {
  node: CtlResult;
  etcd: CtlResult;
}

function render(r: CtlResult, ctx: NormalizeContext, raw: boolean, opts: SameOptions = {}): string {
  const ids = new Map<string, string>();
  const hide = (s: string): string =>
    opts.hideIds === undefined
      ? s
      : s.replace(opts.hideIds, (m: string, id: string) => {
          if (!ids.has(id)) ids.set(id, `<ID${ids.size + 1}>`);
          return m.replace(id, ids.get(id)!);
        });
  const canon = opts.canonical ?? ((x: string): string => x);
  const f = (s: string): string => (raw ? s : canon(hide(normalize(s, ctx))));
  let err = f(r.stderr);
  if (!raw && opts.stderrUnordered) err = err.split('\n').sort().join('\n');
  return `exit code: ${String(r.code)}\n--- stdout ---\n${f(r.stdout)}\n--- stderr ---\n${err}`;
}

function display(args: readonly string[], stdin: string | Buffer | undefined): string {
  const q = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a));
  let s = `etcdctl ${args.map(q).join(' ')}`;
  if (stdin !== undefined) {
    const text = typeof stdin === 'string' ? stdin : stdin.toString('latin1');
    s += text.length > 400 ? `  <<< (${text.length} bytes of stdin)` : `  <<< ${JSON.stringify(text)}`;
  }
  return s;
}

export class Compat {
  /** Mismatches recorded since the last `takeMismatches()`. */
  private mismatches: assert.AssertionError[] = [];

  private constructor(
    readonly node: Side,
    readonly etcd: Side,
  ) {}

  /** Start etcd-node and a real etcd side by side (in parallel), each on its own ports and dirs. */
  static async start(opts: Omit<ServerOptions, 'kind'> = {}): Promise<Compat> {
    const make = async (label: 'node' | 'etcd'): Promise<Side> => {
      const workDir = mkdtempSync(join(tmpdir(), `etcd-ts-compat-${label}-`));
      try {
        const server = await startServer({ ...opts, kind: label });
        return {
          label,
          server,
          workDir,
          ctx: {
            clientPort: server.clientPort,
            peerPort: server.peerPort,
            paths: [
              [workDir, '<WORKDIR>'],
              [server.dataDir, '<DATA_DIR>'],
            ],
          },
        };
      } catch (err) {
        rmSync(workDir, { recursive: true, force: true });
        throw err;
      }
    };
    const [node, etcd] = await Promise.allSettled([make('node'), make('etcd')]);
    if (node.status === 'fulfilled' && etcd.status === 'fulfilled') return new Compat(node.value, etcd.value);
    // one failed: stop the other, report the failure(s)
    for (const r of [node, etcd]) if (r.status === 'fulfilled') await stopSide(r.value);
    const reasons = [node, etcd].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw reasons[0]?.reason instanceof Error ? reasons[0].reason : new Error(String(reasons[0]?.reason));
  }

  async stop(): Promise<void> {
    await Promise.all([stopSide(this.node), stopSide(this.etcd)]);
  }

  /** Run etcdctl on one side only (setup that need not be compared, or a check of one side's state). */
  async ctl(side: Side, args: readonly string[], opts: CtlOptions = {}): Promise<CtlResult> {
    return etcdctl(side.server.endpoint, args, { cwd: side.workDir, ...opts });
  }

  /**
   * Run the same command on both sides (concurrently: the servers are independent) and compare the
   * normalized exit code, stdout and stderr. `args` may be a function of the side, for arguments
   * that must differ (a file in the side's work dir); they are shown normalized.
   */
  async same(args: readonly string[] | ((side: Side) => readonly string[]), opts: SameOptions = {}): Promise<Pair> {
    const argsOf = (side: Side): readonly string[] => (typeof args === 'function' ? args(side) : args);
    const ctlOpts: CtlOptions = {};
    if (opts.stdin !== undefined) ctlOpts.stdin = opts.stdin;
    if (opts.timeoutMs !== undefined) ctlOpts.timeoutMs = opts.timeoutMs;
    if (opts.killSignal !== undefined) ctlOpts.killSignal = opts.killSignal;
    const [node, etcd] = await Promise.all([
      this.ctl(this.node, argsOf(this.node), ctlOpts),
      this.ctl(this.etcd, argsOf(this.etcd), ctlOpts),
    ]);
    const shown = display(argsOf(this.etcd).map((a) => normalize(a, this.etcd.ctx)), opts.stdin);
    if (opts.expectCode !== undefined && etcd.code !== opts.expectCode) {
      assert.fail(
        `test bug: real etcd exited ${String(etcd.code)}, expected ${opts.expectCode}, for\n  ${shown}\n` +
          render(etcd, this.etcd.ctx, true),
      );
    }
    const got = render(node, this.node.ctx, false, opts);
    const want = render(etcd, this.etcd.ctx, false, opts);
    if (got !== want) {
      const nodeName = this.node.server.binary === 'etcd' ? 'second real etcd (self-check)' : 'etcd-node';
      this.mismatches.push(
        new assert.AssertionError({
          message:
            `${shown}\n` +
            `normalized output differs: actual = ${nodeName}, expected = real etcd\n` +
            `===== ${nodeName}, raw =====\n${render(node, {}, true)}\n` +
            `===== real etcd, raw =====\n${render(etcd, {}, true)}\n` +
            `===== normalized: ${nodeName} =====\n${got}\n` +
            `===== normalized: real etcd =====\n${want}\n`,
          actual: got,
          expected: want,
          operator: 'strictEqual',
        }),
      );
    }
    return { node, etcd };
  }

  /**
   * From now on, `value` in `side`'s output reads as `placeholder`: for ids a server chose on its own
   * (a granted lease), which the test learned from that side's output.
   */
  alias(side: Side, value: string, placeholder: string): void {
    side.ctx.paths = [...(side.ctx.paths ?? []), [value, placeholder]];
  }

  private leases = 0;

  /**
   * `etcdctl [...before] lease grant <ttl>` on both sides; each side's lease id (hex and decimal) reads
   * as <LEASEn> on that side from then on. Returns the id (hex) per side, for per-side arguments.
   */
  async grantLease(ttl: number, before: readonly string[] = []): Promise<Map<Side, string>> {
    const r = await this.same([...before, 'lease', 'grant', String(ttl)], { expectCode: 0, hideIds: /^lease ([0-9a-f]{16})/gm });
    const name = `<LEASE${++this.leases}>`;
    const ids = new Map<Side, string>();
    for (const [side, out] of [
      [this.node, r.node.stdout],
      [this.etcd, r.etcd.stdout],
    ] as const) {
      const m = /^lease ([0-9a-f]{16}) granted/.exec(out);
      if (!m?.[1]) throw new Error(`${side.label}: lease grant printed ${out}`);
      this.alias(side, m[1], name);
      this.alias(side, BigInt(`0x${m[1]}`).toString(), name);
      ids.set(side, m[1]);
    }
    return ids;
  }

  /** The mismatches recorded so far, clearing the list. */
  takeMismatches(): assert.AssertionError[] {
    const m = this.mismatches;
    this.mismatches = [];
    return m;
  }

  /** Throw if any mismatch was recorded (one: that one, with its diff; several: all of them). */
  assertNoMismatch(): void {
    const m = this.takeMismatches();
    if (m.length === 1 && m[0] !== undefined) throw m[0];
    if (m.length > 1) {
      assert.fail(`${m.length} commands printed differently:\n\n${m.map((e, i) => `#${i + 1} ${e.message}`).join('\n')}`);
    }
  }
}

async function stopSide(side: Side): Promise<void> {
  try {
    await side.server.stop();
  } finally {
    rmSync(side.workDir, { recursive: true, force: true });
  }
}

/**
 * A test whose `same()` calls are all compared: it runs to the end even after a mismatch (so both
 * servers keep the same history) and then fails with every mismatch it recorded.
 */
export function compatTest(name: string, compat: () => Compat | undefined, fn: (c: Compat) => Promise<void>): void {
  it(name, async () => {
    const c = compat();
    if (c === undefined) throw new Error('servers did not start (see the before hook)');
    c.takeMismatches();
    try {
      await fn(c);
    } catch (err) {
      // a test bug or an unexpected exception: report it, and the mismatches seen before it
      const before = c.takeMismatches();
      if (before.length === 0) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      assert.fail(`${msg}\n\nand before that:\n\n${before.map((e) => e.message).join('\n')}`);
    }
    c.assertNoMismatch();
  });
}

/** The header revision in a `-w json` output of etcdctl (of the real etcd side: the reference). */
export function etcdRevision(r: CtlResult): number {
  const m = /"header":\{[^}]*"revision":(\d+)/.exec(r.stdout);
  if (m?.[1] === undefined) throw new Error(`no header revision in etcdctl output: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}
