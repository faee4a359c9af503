// An ObjectStore on a folder, e.g. a PersistentVolumeClaim mounted into the backup agent.
//
// Whole objects only: a put writes a temporary file beside the object ('.tmp-<random>', a name no
// object can have and `list` never returns), fsyncs it, renames it to the object's name and fsyncs the
// folder. rename(2) replaces atomically, so after kill -9 or a power loss the name holds the old object
// or the new one, never a part; what stays is a temporary file, which `cleanup` removes. Names with '/'
// are subfolders, created as needed and fsynced (the folders from the root down), so an object whose put
// resolved is still there after a power loss. The root itself is never created: a missing mount must
// fail (NoSuchBucket), not fill the container's own disk.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { readBody } from './body.js';
import { checkName, checkPrefix, compareNames, TEMP_PREFIX } from './names.js';
import type { Body, ObjectInfo, ObjectStore, StoreErrorCode, VolumeStoreConfig } from './store.js';
import { StoreError } from './store.js';
import { fsyncDir } from '../../util/fsync-dir.js';

/** Backups hold every key of the cluster (Kubernetes Secrets included): only the agent's user reads them. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** ENOENT and its kin: the path, or a folder on it, is not there (or is not what it should be). */
function isMissing(err: unknown): boolean {
  return ['ENOENT', 'ENOTDIR', 'EISDIR'].includes(errnoOf(err));
}

/** Writes all of `chunk` (a write may take less than it is given). */
async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** A folder (relative to the root, '' or ending in '/') may hold names starting with `prefix`. */
function folderMatters(folder: string, prefix: string): boolean {
  return folder.startsWith(prefix) || prefix.startsWith(folder);
}

export class VolumeStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;
  /** The root with one trailing separator: every object's path starts with it. */
  private readonly rootDir: string;

  /** Throws StoreError InvalidConfig when the root is not an absolute path. */
  constructor(config: VolumeStoreConfig) {
    if (!path.isAbsolute(config.root)) {
      throw new StoreError('InvalidConfig', `volume ${JSON.stringify(config.root)}: the root must be an absolute path`);
    }
    this.root = path.resolve(config.root);
    this.rootDir = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    this.description = `volume ${this.root}`;
  }

  private context(op: string, name?: string): string {
    return `${this.description}: ${op}${name !== undefined ? ` ${name}` : ''}`;
  }

  private error(code: StoreErrorCode, op: string, name: string | undefined, err: unknown): StoreError {
    const detail = err instanceof Error ? err.message : String(err);
    return new StoreError(code, `${this.context(op, name)}: ${detail}`, { cause: err });
  }

  /** A StoreError for a file system error; a missing path means NoSuchBucket when the root is missing. */
  private async fail(err: unknown, op: string, name: string | undefined, missing: StoreErrorCode = 'Failed'): Promise<StoreError> {
    if (err instanceof StoreError) return err;
    const code = errnoOf(err);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return this.error('AccessDenied', op, name, err);
    if (isMissing(err)) {
      const rootProblem = await this.rootProblem();
      if (rootProblem !== undefined) return rootProblem;
      return this.error(missing, op, name, err);
    }
    return this.error('Failed', op, name, err);
  }

  /** Why the root cannot be used, or undefined when it is a folder. */
  private async rootProblem(): Promise<StoreError | undefined> {
    try {
      const st = await stat(this.root);
      if (st.isDirectory()) return undefined;
      return new StoreError('NoSuchBucket', `${this.description}: the root is not a directory`);
    } catch (err) {
      if (isMissing(err)) return new StoreError('NoSuchBucket', `${this.description}: the root does not exist`, { cause: err });
      if (['EACCES', 'EPERM'].includes(errnoOf(err))) return this.error('AccessDenied', 'stat', undefined, err);
      return this.error('Failed', 'stat', undefined, err);
    }
  }

  private async requireRoot(): Promise<void> {
    const problem = await this.rootProblem();
    if (problem !== undefined) throw problem;
  }

  /** The file of a name (checked: it cannot leave the root). */
  private pathOf(name: string): string {
    checkName(name);
    const p = path.join(this.root, ...name.split('/'));
    if (!p.startsWith(this.rootDir)) throw new StoreError('InvalidConfig', `${this.context('resolve', name)}: outside the root`);
    return p;
  }

  /**
   * Creates the object's folder (below the root) and a temporary file in it. Every folder from the root
   * down is fsynced, so that the new entries survive a power loss; a delete may remove an emptied
   * folder between our mkdir and our open, hence the retry.
   */
  private async createTemp(dir: string): Promise<{ fh: FileHandle; tmp: string }> {
    for (let attempt = 1; ; attempt++) {
      if (dir !== this.root) {
        await mkdir(dir, { recursive: true, mode: DIR_MODE });
        const chain: string[] = [];
        for (let d = path.dirname(dir); ; d = path.dirname(d)) {
          chain.push(d);
          if (d === this.root || !d.startsWith(this.rootDir)) break;
        }
        for (const d of chain.reverse()) await fsyncDir(d);
      }
      const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
      try {
        return { fh: await open(tmp, 'wx', FILE_MODE), tmp };
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT' || attempt >= 3) throw err;
      }
    }
  }

  async put(name: string, body: Body, opts: { signal?: AbortSignal } = {}): Promise<{ size: number }> {
    const target = this.pathOf(name);
    const dir = path.dirname(target);
    const reader = readBody(body, this.context('put', name), opts.signal);
    let fh: FileHandle | undefined;
    let tmp: string | undefined;
    let bodyFailed = false;
    try {
      await this.requireRoot();
      ({ fh, tmp } = await this.createTemp(dir));
      let size = 0;
      for (;;) {
        let chunk: Buffer | undefined;
        try {
          chunk = await reader.next();
        } catch (err) {
          bodyFailed = true;
          throw err;
        }
        if (chunk === undefined) break;
        await writeAll(fh, chunk);
        size += chunk.length;
      }
      // the whole body is read: from here on the put commits whatever the signal does
      await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, target);
      tmp = undefined;
      try {
        await fsyncDir(dir);
      } catch (err) {
        // without the folder's fsync the object may vanish on a power loss: do not claim it, take it back
        await unlink(target).catch(() => {});
        throw err;
      }
      return { size };
    } catch (err) {
      reader.release();
      if (fh !== undefined) await fh.close().catch(() => {});
      if (tmp !== undefined) await unlink(tmp).catch(() => {});
      if (bodyFailed) throw err;
      throw await this.fail(err, 'put', name);
    }
  }

  async get(name: string): Promise<Buffer> {
    const file = this.pathOf(name);
    try {
      return await readFile(file);
    } catch (err) {
      throw await this.fail(err, 'get', name, 'NotFound');
    }
  }

  async getStream(name: string): Promise<Readable> {
    const file = this.pathOf(name);
    let fh: FileHandle | undefined;
    try {
      fh = await open(file, 'r');
      if (!(await fh.stat()).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    } catch (err) {
      await fh?.close().catch(() => {});
      throw await this.fail(err, 'getStream', name, 'NotFound');
    }
    // closes the file when read to the end or destroyed
    return fh.createReadStream();
  }

  /**
   * Calls `visit` for every file in the folders that may hold names starting with `prefix` (relative
   * names, '/'-separated). `lost+found` at the root of a volume is the file system's, not ours.
   */
  private async walk(prefix: string, visit: (rel: string, entry: Dirent) => Promise<void>): Promise<void> {
    const start = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const visitFolder = async (folder: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(path.join(this.root, ...folder.split('/')), { withFileTypes: true });
      } catch (err) {
        // the prefix's folder does not exist (or was just removed): it holds nothing
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        const rel = folder + e.name;
        if (e.isDirectory()) {
          if (folder === '' && e.name === 'lost+found') continue;
          if (folderMatters(`${rel}/`, prefix)) await visitFolder(`${rel}/`);
        } else if (e.isFile()) {
          await visit(rel, e);
        }
      }
    };
    await visitFolder(start);
  }

  async list(prefix: string, opts: { startAfter?: string } = {}): Promise<ObjectInfo[]> {
    checkPrefix(prefix);
    const out: ObjectInfo[] = [];
    try {
      await this.requireRoot();
      await this.walk(prefix, async (rel, entry) => {
        if (entry.name.startsWith(TEMP_PREFIX) || !rel.startsWith(prefix)) return;
        if (opts.startAfter !== undefined && compareNames(rel, opts.startAfter) <= 0) return;
        try {
          const st = await stat(path.join(this.root, rel));
          out.push({ name: rel, size: st.size, lastModified: st.mtime });
        } catch (err) {
          // deleted while we listed
          if (!isMissing(err)) throw err;
        }
      });
    } catch (err) {
      throw await this.fail(err, 'list', prefix === '' ? '(all)' : prefix);
    }
    return out.sort((a, b) => compareNames(a.name, b.name));
  }

  async delete(name: string): Promise<void> {
    const file = this.pathOf(name);
    try {
      await unlink(file);
    } catch (err) {
      // nothing of that name (a folder is no object): fine, unless the root itself is missing
      if (!isMissing(err)) throw await this.fail(err, 'delete', name);
      await this.requireRoot();
      return;
    }
    try {
      await fsyncDir(path.dirname(file));
    } catch (err) {
      throw await this.fail(err, 'delete', name);
    }
    // Folders the delete emptied go too (backups are named by cluster and time, so they would pile up);
    // a put racing into one retries its mkdir.
    for (let d = path.dirname(file); d !== this.root && d.startsWith(this.rootDir); d = path.dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        break;
      }
    }
  }

  async cleanup(prefix: string, olderThanMs: number): Promise<number> {
    checkPrefix(prefix);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    try {
      await this.requireRoot();
      // Temporary files have no object name: those in every folder the prefix reaches count. Their mtime
      // is their last write, so a put still writing is never old.
      await this.walk(prefix, async (rel, entry) => {
        if (!entry.name.startsWith(TEMP_PREFIX)) return;
        const file = path.join(this.root, rel);
        try {
          if ((await stat(file)).mtimeMs >= cutoff) return;
          await unlink(file);
          removed += 1;
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      });
    } catch (err) {
      throw await this.fail(err, 'cleanup', prefix === '' ? '(all)' : prefix);
    }
    return removed;
  }

  async check(): Promise<void> {
    await this.requireRoot();
    // access(2) says yes to root and no to a read-only mount's truth: writing a file is the real test
    const probe = path.join(this.root, `${TEMP_PREFIX}check-${randomBytes(6).toString('hex')}`);
    try {
      const fh = await open(probe, 'wx', FILE_MODE);
      await fh.close();
      await unlink(probe);
    } catch (err) {
      await unlink(probe).catch(() => {});
      throw await this.fail(err, 'check', undefined);
    }
  }

  close(): void {}
}
