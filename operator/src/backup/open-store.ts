// A store from its configuration (the agent's, the checker's).
import { S3Store } from '../../../etcd-node/src/backup/store/s3-store.js';
import type { ObjectStore, S3StoreConfig, VolumeStoreConfig } from '../../../etcd-node/src/backup/store/store.js';
import { VolumeStore } from '../../../etcd-node/src/backup/store/volume-store.js';

export function openStore(c: { s3: S3StoreConfig } | { volume: VolumeStoreConfig }): ObjectStore {
  return 's3' in c ? new S3Store(c.s3) : new VolumeStore(c.volume);
}
