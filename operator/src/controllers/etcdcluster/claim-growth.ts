// Growing the members' claims when spec.storage.size grows (the CRD refuses a smaller size). A claim is
// asked for the new size only where its StorageClass allows volume expansion — the API server would
// refuse the rest — and the storage system does the growing (status.claims shows the capacity it
// reports). A claim that cannot grow is reported, once everything else is done, as Degraded: the size
// the spec asks for is not what the members have.
import { parseBytes } from '../../api/units.js';

export interface ObservedClaim {
  readonly name: string;
  /** spec.resources.requests.storage */
  readonly requested: string;
  readonly storageClassName?: string;
  /** the StorageClass's allowVolumeExpansion; undefined when the claim has no class or the class does not exist */
  readonly classAllowsExpansion?: boolean;
}

export type ClaimGrowth = { kind: 'ExpandClaim'; ordinal: number; claim: string; from: string; size: string } | { kind: 'Degraded'; reason: 'StorageExpansionRefused'; message: string };

function smaller(requested: string, want: number): boolean {
  try {
    return parseBytes(requested) < want;
  } catch {
    return false; // a quantity written in a way we do not read is not judged
  }
}

/** The next claim to ask for the spec's size, or undefined when every claim that can grow asked for it. */
export function nextClaimToGrow(claims: ReadonlyMap<number, ObservedClaim>, size: string): ClaimGrowth | undefined {
  const want = parseBytes(size);
  for (const [ord, c] of [...claims].sort((a, b) => a[0] - b[0])) {
    if (smaller(c.requested, want) && c.classAllowsExpansion === true) return { kind: 'ExpandClaim', ordinal: ord, claim: c.name, from: c.requested, size };
  }
  return undefined;
}

/** Claims smaller than the spec that cannot grow, as a Degraded step; undefined when there are none. */
export function claimsThatCannotGrow(claims: ReadonlyMap<number, ObservedClaim>, size: string): ClaimGrowth | undefined {
  const want = parseBytes(size);
  const stuck = [...claims].sort((a, b) => a[0] - b[0]).filter(([, c]) => smaller(c.requested, want) && c.classAllowsExpansion !== true);
  if (stuck.length === 0) return undefined;
  const why = (c: ObservedClaim): string =>
    c.storageClassName ? (c.classAllowsExpansion === false ? `StorageClass ${c.storageClassName} does not allow volume expansion` : `StorageClass ${c.storageClassName} not found`) : 'it has no StorageClass';
  return {
    kind: 'Degraded',
    reason: 'StorageExpansionRefused',
    message: `storage.size ${size}: ${stuck.map(([, c]) => `claim ${c.name} (${c.requested}) cannot grow: ${why(c)}`).join('; ')}; the members keep the claims they have (a class with allowVolumeExpansion: true grows them)`,
  };
}
