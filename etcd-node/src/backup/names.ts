// Object names of a backup chain. A listing alone rebuilds the chain: every name carries the cluster id,
// the revision range and the time, zero-padded so that names sort as revisions do.
//
//   <prefix>/<namespace>/<cluster>/<cluster-id>/full/<revision>-<unix-ms>.snap[.gz][.enc]
//   <prefix>/<namespace>/<cluster>/<cluster-id>/delta/<from>-<to>-<unix-ms>.events[.gz][.enc]
//
// Revisions have 20 digits (any int64), times 13 (unix milliseconds until the year 2286). The cluster id is
// etcd's, 16 hex digits: a restored cluster is a new cluster with a new id, so its chain starts afresh
// beside the old one. A full's time is when its snapshot was taken; a delta's is when its last revision
// was received from the watch.
import type { Compression } from './object-format.js';

export interface ChainLocation {
  /** the user's prefix inside the bucket or folder ('' for none) */
  prefix: string;
  namespace: string;
  cluster: string;
}

export interface FullRef {
  kind: 'full';
  name: string;
  clusterId: string;
  revision: number;
  time: number;
  compressed: boolean;
  encrypted: boolean;
  size: number;
}

export interface DeltaRef {
  kind: 'delta';
  name: string;
  clusterId: string;
  from: number;
  to: number;
  time: number;
  compressed: boolean;
  encrypted: boolean;
  size: number;
}

export type ObjectRef = FullRef | DeltaRef;

const REV_DIGITS = 20;
const TIME_DIGITS = 13;

const pad = (n: number, digits: number): string => String(n).padStart(digits, '0');

/** `<prefix>/<namespace>/<cluster>/` (no leading slash; empty parts dropped). */
export function clusterRoot(loc: ChainLocation): string {
  const parts = [...loc.prefix.split('/'), loc.namespace, loc.cluster].filter((p) => p !== '');
  return `${parts.join('/')}/`;
}

export function chainRoot(loc: ChainLocation, clusterId: string): string {
  return `${clusterRoot(loc)}${clusterId}/`;
}

function suffix(compression: Compression, encrypted: boolean): string {
  return `${compression === 'gzip' ? '.gz' : ''}${encrypted ? '.enc' : ''}`;
}

export function fullName(loc: ChainLocation, clusterId: string, revision: number, time: number, compression: Compression, encrypted: boolean): string {
  return `${chainRoot(loc, clusterId)}full/${pad(revision, REV_DIGITS)}-${pad(time, TIME_DIGITS)}.snap${suffix(compression, encrypted)}`;
}

export function deltaName(loc: ChainLocation, clusterId: string, from: number, to: number, time: number, compression: Compression, encrypted: boolean): string {
  return `${chainRoot(loc, clusterId)}delta/${pad(from, REV_DIGITS)}-${pad(to, REV_DIGITS)}-${pad(time, TIME_DIGITS)}.events${suffix(compression, encrypted)}`;
}

const FULL_RE = /(?:^|\/)([0-9a-f]{16})\/full\/(\d{20})-(\d{13})\.snap(\.gz)?(\.enc)?$/;
const DELTA_RE = /(?:^|\/)([0-9a-f]{16})\/delta\/(\d{20})-(\d{20})-(\d{13})\.events(\.gz)?(\.enc)?$/;

/** The object a name stands for; undefined for a name that is not a chain object (skipped by readers). */
export function parseName(name: string, size = 0): ObjectRef | undefined {
  const f = FULL_RE.exec(name);
  if (f) {
    const revision = Number(f[2]);
    if (!Number.isSafeInteger(revision)) return undefined;
    return { kind: 'full', name, clusterId: f[1]!, revision, time: Number(f[3]), compressed: f[4] !== undefined, encrypted: f[5] !== undefined, size };
  }
  const d = DELTA_RE.exec(name);
  if (d) {
    const from = Number(d[2]);
    const to = Number(d[3]);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to) return undefined;
    return { kind: 'delta', name, clusterId: d[1]!, from, to, time: Number(d[4]), compressed: d[5] !== undefined, encrypted: d[6] !== undefined, size };
  }
  return undefined;
}

/** etcd's cluster id as the names write it. */
export function clusterIdHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}
