// etcd-node's own version (the release of this build, from the project's package.json), as opposed to
// the etcd API version it serves (server/config.ts SERVER_VERSION, what clients see in Status and
// /version). The package.json is found by walking up from this module, so the compiled build (dist/…)
// and the sources run by tsx both find theirs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'etcd-ts' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no (readable) package.json here: look further up
    }
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

export const BUILD_VERSION = find();
