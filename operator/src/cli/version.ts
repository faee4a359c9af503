// This build's version (package.json) and the images it refers to.
import { readFileSync } from 'node:fs';

/** The operator's image (it also runs the backup agents) when nothing else is given. */
export const AGENT_IMAGE_REPOSITORY = 'ghcr.io/etcd-ts/etcd-operator';

export function packageVersion(): string {
  // dist/operator/src/cli/version.js is four folders below the root, operator/src/cli/version.ts three
  for (const up of ['../../../../', '../../../']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'etcd-ts' && pkg.version) return pkg.version;
    } catch {
      // not there: one folder less
    }
  }
  return 'unknown';
}
