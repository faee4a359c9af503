// VolumeStore (etcd-node/src/backup/store/volume-store.ts) on temporary folders: the shared store
// contract, then what only a folder has: a put killed with SIGKILL half-way, permissions, the root that
// must exist, subfolders.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ObjectStore } from '../../etcd-node/src/backup/store/store.js';
import { VolumeStore } from '../../etcd-node/src/backup/store/volume-store.js';
import { repoRoot } from '../support/servers.js';
import { rejectsWith, storeContract } from './store-contract.js';

const base = mkdtempSync(join(tmpdir(), 'etcd-ts-volume-store-'));
// another user (the check test's child) must reach the roots inside
chmodSync(base, 0o755);
after(() => rmSync(base, { recursive: true, force: true }));

let made = 0;
const roots = new Map<ObjectStore, string>();

function freshRoot(): string {
  const root = join(base, `r${++made}`);
  mkdirSync(root);
  return root;
}

function storeAt(root: string): VolumeStore {
  const s = new VolumeStore({ root });
  roots.set(s, root);
  return s;
}

/** Temporary files under `root`, as paths relative to it, in folders the prefix reaches. */
function tempFiles(root: string, prefix: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.startsWith('.tmp-')) out.push(relative(root, p));
    }
  };
  walk(root);
  return out.filter((rel) => {
    const folder = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/') + 1) : '';
    return folder.startsWith(prefix) || prefix.startsWith(folder);
  });
}

const rootOf = (s: ObjectStore): string => {
  const r = roots.get(s);
  if (r === undefined) throw new Error('not a store of this suite');
  return r;
};

describe('VolumeStore: the store contract', () => {
  storeContract({
    fresh: async () => storeAt(freshRoot()),
    missing: async () => storeAt(join(base, 'does-not-exist')),
    leftovers: async (s, prefix) => tempFiles(rootOf(s), prefix),
    leaveLeftover: async (s, name) => {
      const dir = join(rootOf(s), ...name.split('/').slice(0, -1));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `.tmp-leftover${++made}`), 'half an object');
    },
  });
});

/** Runs test/backup/fixtures/volume-child.ts; resolves with the child once `waitFor` was printed. */
function child(args: string[]): { proc: ReturnType<typeof spawn>; output: Promise<string>; printed: (s: string) => Promise<void> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test', 'backup', 'fixtures', 'volume-child.ts'), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { s: string; res: () => void }[] = [];
  proc.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
    for (const w of waiters) if (out.includes(w.s)) w.res();
  });
  proc.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const output = new Promise<string>((res, rej) => {
    proc.once('error', rej);
    proc.once('exit', (code, signal) => (code === 0 || signal !== null ? res(out) : rej(new Error(`child failed (${String(code)}): ${err}`))));
  });
  const printed = (s: string): Promise<void> =>
    new Promise<void>((res, rej) => {
      if (out.includes(s)) return res();
      waiters.push({ s, res });
      void output.then(() => rej(new Error(`child exited before printing ${s}: ${err}`)), rej);
    });
  return { proc, output, printed };
}

describe('VolumeStore: what only a folder has', () => {
  it('a put killed with SIGKILL half-way leaves the old object, no half one, and a temporary file that cleanup removes', async () => {
    const root = freshRoot();
    const s = storeAt(root);
    await s.put('backups/snap', Buffer.from('the previous backup'));
    const c = child(['put-forever', root, 'backups/snap']);
    try {
      await c.printed('writing');
      const temps = tempFiles(root, '');
      assert.equal(temps.length, 1, 'the put writes under a temporary name');
      assert.ok(statSync(join(root, temps[0]!)).size >= 8 * 1024 * 1024);
    } finally {
      c.proc.kill('SIGKILL');
    }
    await c.output;
    assert.equal(c.proc.signalCode, 'SIGKILL');

    assert.equal((await s.get('backups/snap')).toString(), 'the previous backup');
    assert.deepEqual((await s.list('')).map((o) => [o.name, o.size]), [['backups/snap', 19]]);
    assert.equal(tempFiles(root, 'backups/').length, 1);
    assert.equal(await s.cleanup('backups/', 3_600_000), 0, 'a recent temporary file may belong to a running put');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await s.cleanup('backups/', 10), 1);
    assert.deepEqual(tempFiles(root, ''), []);
    assert.equal((await s.get('backups/snap')).toString(), 'the previous backup');
  });

  it('check: AccessDenied when the folder is not writable, NoSuchBucket when it is missing or a file', async () => {
    const root = freshRoot();
    chmodSync(root, 0o555);
    // the folder itself must be the only obstacle: the user asking can reach it
    chmodSync(base, 0o711);
    try {
      // root may write anywhere: the child drops to nobody then (after loading its modules)
      const asRoot = process.getuid?.() === 0;
      const c = child(asRoot ? ['check', root, '65534'] : ['check', root]);
      const out = JSON.parse((await c.output).trim()) as { ok?: boolean; code?: string };
      assert.deepEqual(out, { code: 'AccessDenied' });
    } finally {
      chmodSync(root, 0o755);
      chmodSync(base, 0o700);
    }
    await storeAt(root).check();
    await rejectsWith(storeAt(join(root, 'missing')).check(), 'NoSuchBucket');
    writeFileSync(join(root, 'file'), 'x');
    const onFile = storeAt(join(root, 'file'));
    await rejectsWith(onFile.check(), 'NoSuchBucket');
    await rejectsWith(onFile.put('a', Buffer.from('x')), 'NoSuchBucket');
    await rejectsWith(onFile.get('a'), 'NoSuchBucket');
    assert.deepEqual(tempFiles(root, ''), [], 'check leaves no probe behind');
  });

  it('the root is never created; subfolders are, with owner-only modes; delete removes the folders it empties', async () => {
    const root = join(freshRoot(), 'volume');
    const s = storeAt(root);
    await rejectsWith(s.put('a/b/c', Buffer.from('x')), 'NoSuchBucket');
    assert.throws(() => statSync(root), /ENOENT/);

    mkdirSync(root);
    await s.put('a/b/c', Buffer.from('x'));
    await s.put('a/d', Buffer.from('y'));
    assert.equal(statSync(join(root, 'a', 'b', 'c')).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'a', 'b')).mode & 0o077, 0);
    await s.delete('a/b/c');
    assert.deepEqual(readdirSync(join(root, 'a')), ['d'], 'a/b was emptied and removed');
    await s.delete('a/d');
    assert.deepEqual(readdirSync(root), [], 'a went too, the root stays');
    await s.put('a/b/c', Buffer.from('again'));
    assert.equal((await s.get('a/b/c')).toString(), 'again');
  });

  it('a relative root is InvalidConfig; lost+found and temporary files are not objects', async () => {
    assert.throws(() => new VolumeStore({ root: 'relative/dir' }), (e: unknown) => (e as { code?: string }).code === 'InvalidConfig');
    const root = freshRoot();
    mkdirSync(join(root, 'lost+found'));
    writeFileSync(join(root, 'lost+found', '#123'), 'x');
    writeFileSync(join(root, '.tmp-someone'), 'x');
    const s = storeAt(root);
    await s.put('obj', Buffer.from('o'));
    assert.deepEqual((await s.list('')).map((o) => o.name), ['obj']);
  });
});
