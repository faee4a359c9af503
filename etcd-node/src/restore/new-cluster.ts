// The new cluster a restore seeds, from etcdutl's flags: every member's id from its peer URLs and the
// cluster token, the cluster id from the member ids (server/ids.ts, as a member bootstrapping with the
// same flags derives them), and which of them this data dir is for. A restore always makes a new
// cluster: its id differs from the source's whenever the members or the token do.
import { FlagError, parseInitialCluster, parseUrl } from '../cli/flags.js';
import { urlString } from '../server/members.js';
import { clusterId as deriveClusterId, memberId as deriveMemberId } from '../server/ids.js';
import { RestoreError } from './errors.js';

export interface NewClusterFlags {
  name: string;
  /** NAME=URL,… */
  initialCluster: string;
  initialClusterToken: string;
  /** URL,… */
  initialAdvertisePeerUrls: string;
}

export const NEW_CLUSTER_DEFAULTS: NewClusterFlags = {
  name: 'default',
  initialCluster: 'default=http://localhost:2380',
  initialClusterToken: 'etcd-cluster',
  initialAdvertisePeerUrls: 'http://localhost:2380',
};

export interface NewMember {
  id: bigint;
  name: string;
  peerUrls: string[];
}

export interface NewCluster {
  clusterId: bigint;
  /** in --initial-cluster's order */
  members: NewMember[];
  /** the member this data dir is for */
  self: NewMember;
}

function flagged<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FlagError) throw new RestoreError('BadFlag', err.message);
    throw err;
  }
}

export function planNewCluster(f: NewClusterFlags): NewCluster {
  const initial = flagged(() => parseInitialCluster('initial-cluster', f.initialCluster));
  const own = flagged(() =>
    f.initialAdvertisePeerUrls
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => urlString(parseUrl('initial-advertise-peer-urls', s))),
  );
  if (own.length === 0) throw new RestoreError('BadFlag', '--initial-advertise-peer-urls: no URL given');
  const members = [...initial].map(([name, urls]) => {
    const peerUrls = urls.map(urlString);
    return { id: deriveMemberId(peerUrls, f.initialClusterToken), name, peerUrls };
  });
  if (new Set(members.map((m) => m.id)).size !== members.length) throw new RestoreError('BadFlag', '--initial-cluster: two members have the same peer URLs');
  const self = members.find((m) => m.name === f.name);
  if (!self) throw new RestoreError('BadFlag', `--initial-cluster has no entry for --name=${f.name} (${f.initialCluster})`);
  const want = [...self.peerUrls].sort().join(',');
  if ([...own].sort().join(',') !== want) {
    throw new RestoreError(
      'BadFlag',
      `--initial-cluster has ${f.name}=${self.peerUrls.join(',')} but --initial-advertise-peer-urls is ${own.join(',')}: they must be the same URLs`,
    );
  }
  return { clusterId: deriveClusterId(members.map((m) => m.id)), members, self };
}
