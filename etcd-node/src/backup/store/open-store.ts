// A store from its configuration (the backup agent's, the checker's, the restore's).
import { S3Store } from './s3-store.js';
import type { ObjectStore, S3StoreConfig, VolumeStoreConfig } from './store.js';
import { VolumeStore } from './volume-store.js';

export function openStore(c: { s3: S3StoreConfig } | { volume: VolumeStoreConfig }): ObjectStore {
  return 's3' in c ? new S3Store(c.s3) : new VolumeStore(c.volume);
}
