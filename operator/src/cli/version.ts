// This build's version (package.json, found as etcd-node finds its own) and the images it refers to.
import { BUILD_VERSION } from '../../../etcd-node/src/util/build-version.js';

/** The operator's image (it also runs the backup agents) when nothing else is given. */
export const AGENT_IMAGE_REPOSITORY = 'ghcr.io/etcd-ts/etcd-operator';

export function packageVersion(): string {
  return BUILD_VERSION;
}
