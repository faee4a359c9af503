// A new member's data dir, as etcdutl's `snapshot restore` makes one: the backend holding the restored
// data with this cluster's members (the source's are dropped, as are its alarms, which name members that
// do not exist here), its consistent index at the bootstrap's last entry, and a WAL that starts from a
// snapshot of that index whose configuration is every initial member as a voter. Every member restored
// with the same flags gets the same members, ids and index, so the members start as one cluster whose
// log begins after the bootstrap, and the data is in every member's backend already (no member has to
// send it to another).
//
// All or nothing: the dir is built beside the target under a temporary name and renamed into place once
// complete and synced; a failure removes it. An existing, non-empty --data-dir is never touched.
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { MemberStore } from '../server/members.js';
import { Backend } from '../storage/backend/backend.js';
import { Wal } from '../storage/wal/wal.js';
import { fsyncDir } from '../util/fsync-dir.js';
import { NodeKey } from '../storage/etcd-snapshot/layout.js';
import { RestoreError } from './errors.js';
import type { NewCluster } from './new-cluster.js';

/** The raft term of the bootstrap entries (a new cluster's first term). */
const BOOTSTRAP_TERM = 1;

async function isEmptyDir(dir: string): Promise<boolean | undefined> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return (await readdir(dir)).length === 0;
}

/** Refuses a --data-dir that exists and is not an empty directory (etcdutl's rule). */
export async function checkDataDirFree(dataDir: string): Promise<void> {
  if ((await isEmptyDir(dataDir)) === false) {
    throw new RestoreError('DataDirExists', `data-dir "${dataDir}" exists and is not an empty directory: a restore never writes over data (choose another --data-dir, or remove that one)`);
  }
}

export interface WrittenMember {
  memberId: bigint;
  clusterId: bigint;
  /** the consistent index the backend and the WAL start from */
  index: number;
}

/**
 * Makes `dataDir` a member data dir of `cluster`. `fill` writes the restored data into the new backend
 * (key, lease, auth and meta buckets); the members bucket, the alarms and the consistent index are set
 * here afterwards, whatever fill wrote there.
 */
export async function writeMemberDataDir(
  dataDir: string,
  cluster: NewCluster,
  fill: (backend: Backend) => Promise<void> | void,
): Promise<WrittenMember> {
  await checkDataDirFree(dataDir);
  const abs = path.resolve(dataDir);
  const parent = path.dirname(abs);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(path.join(parent, `.${path.basename(abs)}.restoring-`));
  const index = cluster.members.length;
  try {
    const memberDir = path.join(tmp, 'member');
    const backend = Backend.open(path.join(memberDir, 'snap', 'db'));
    try {
      await fill(backend);
      backend.batch(() => {
        for (const { key } of backend.members.getRange({})) backend.members.removeSync(key);
        const alarm = Buffer.from(NodeKey.alarmPrefix);
        for (const { key } of backend.meta.getRange({ start: alarm })) {
          if (!key.subarray(0, alarm.length).equals(alarm)) break;
          backend.meta.removeSync(key);
        }
        const store = new MemberStore(backend);
        for (const m of cluster.members) store.put({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false });
        backend.setConsistentIndex(index, BOOTSTRAP_TERM);
      });
      await backend.sync();
    } finally {
      await backend.close();
    }
    const wal = await Wal.create(path.join(memberDir, 'wal'), { memberId: cluster.self.id, clusterId: cluster.clusterId });
    try {
      const voters = cluster.members.map((m) => m.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      await wal.saveSnapshot({ index, term: BOOTSTRAP_TERM, confState: { voters, learners: [] } });
      wal.save({ term: BOOTSTRAP_TERM, vote: 0n, commit: index }, []);
      await wal.sync();
    } finally {
      await wal.close();
    }
    await fsyncDir(memberDir);
    await fsyncDir(tmp);
    // an empty target directory (a freshly mounted volume, say) gives way to the complete one
    if ((await isEmptyDir(abs)) === true) await rmdir(abs);
    await rename(tmp, abs);
    await fsyncDir(parent);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { memberId: cluster.self.id, clusterId: cluster.clusterId, index };
}
