// Which version changes a roll-out may make. etcd's rule carries over: members move one minor version at
// a time (a mixed cluster of neighbouring minors is what both sides are built to run with), in either
// direction; a major version change is not a roll-out. Versions that are not semantic (an `image` with
// a digest or an arbitrary tag) are not judged.
import { VERSION_PATTERN } from '../../api/etcd-cluster.js';

interface Semver {
  major: number;
  minor: number;
  patch: number;
}

export function parseVersion(v: string): Semver | undefined {
  if (!VERSION_PATTERN.test(v)) return undefined;
  const [major, minor, patch] = v.replace(/^v/, '').split(/[.+-]/).map(Number);
  return { major: major!, minor: minor!, patch: patch! };
}

/** Why moving members from `running` to `target` is refused, or undefined when it may roll out. */
export function versionChangeRefusal(running: readonly string[], target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const to = parseVersion(target);
  if (!to) return undefined;
  for (const r of running) {
    const from = parseVersion(r);
    if (!from) continue;
    if (from.major !== to.major) return `version ${r} → ${target} changes the major version: not supported as a roll-out (restore a backup into a new cluster of ${target})`;
    const step = to.minor - from.minor;
    if (Math.abs(step) > 1) {
      const next = `${from.major}.${from.minor + Math.sign(step)}`;
      return `version ${r} → ${target} skips a minor version: members move one minor at a time (${step > 0 ? 'upgrade' : 'downgrade'} to ${next}.x first), so the version stays where the members run until spec.version is one minor away`;
    }
  }
  return undefined;
}
