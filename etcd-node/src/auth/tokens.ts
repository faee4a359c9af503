// etcd's "simple" tokens: an opaque string ("<16 random letters>.<log index of the Authenticate entry>")
// mapped to a user name in memory on every member (the Authenticate request goes through the log, so
// each member assigns the same token). A token lives for --auth-token-ttl after its last use (each use
// extends it), and dies with the process, when its user is deleted or changes password, and when auth
// is disabled: clients authenticate again on `invalid auth token`, as etcd's clients do.
import { randomInt } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const PREFIX_LEN = 16;

/** A fresh random token prefix, chosen by the proposer of an Authenticate request. */
export function newTokenPrefix(): string {
  let s = '';
  for (let i = 0; i < PREFIX_LEN; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

/** The log index a simple token names, or undefined when the token is not of the simple form. */
export function tokenIndex(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 2 || !/^\d+$/.test(parts[1]!)) return undefined;
  const n = Number(parts[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

interface Entry {
  readonly user: string;
  expiresAt: number;
}

export class SimpleTokens {
  private readonly tokens = new Map<string, Entry>();
  private lastSweep = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  assign(token: string, user: string): void {
    this.sweep();
    this.tokens.set(token, { user, expiresAt: this.now() + this.ttlMs });
  }

  /** The user a live token belongs to (and the token's life extended), or undefined. */
  lookup(token: string): string | undefined {
    const e = this.tokens.get(token);
    if (!e) return undefined;
    const now = this.now();
    if (e.expiresAt <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    e.expiresAt = now + this.ttlMs;
    return e.user;
  }

  invalidateUser(user: string): void {
    for (const [t, e] of this.tokens) if (e.user === user) this.tokens.delete(t);
  }

  clear(): void {
    this.tokens.clear();
  }

  get size(): number {
    return this.tokens.size;
  }

  /** Drops expired tokens at most once per TTL, so unused tokens do not pile up. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < this.ttlMs) return;
    this.lastSweep = now;
    for (const [t, e] of this.tokens) if (e.expiresAt <= now) this.tokens.delete(t);
  }
}
