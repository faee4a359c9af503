// Shared by the bbolt tests: scratch directories and the real etcd snapshots kept in testdata/.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Snapshot files saved by `etcdctl snapshot save` from real etcd servers (gzipped; each ends with
 * etcd's 32-byte sha256 trailer). Every one had the same history written: puts, an overwrite, a delete,
 * a key with a lease, a compaction at 3, users (one with --no-password) and a role with permissions.
 *   etcd-3.4:         Debian's etcd 3.4.23, one member
 *   etcd-3.5:         etcd 3.5.35, one member
 *   etcd-3.6-cluster: etcd 3.6.16, three members, then one removed, a learner added, auth enabled
 *   etcd-3.6-nospace: etcd 3.6.16 with a 200 kB quota filled by 20 kB values until the NOSPACE alarm
 *                     (values on overflow pages, the key bucket on pages of its own)
 */
export type Fixture = 'etcd-3.4' | 'etcd-3.5' | 'etcd-3.6-cluster' | 'etcd-3.6-nospace';

export function fixtureBytes(name: Fixture): Buffer {
  return gunzipSync(fs.readFileSync(path.join(here, 'testdata', `${name}.db.gz`)));
}

export function tempDir(prefix = 'bbolt-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a fixture into `dir` and returns its path. */
export function fixtureFile(dir: string, name: Fixture): string {
  const file = path.join(dir, `${name}.db`);
  fs.writeFileSync(file, fixtureBytes(name));
  return file;
}
