import { join } from 'node:path';
import { LocalObjectStore } from './local.ts';
import type { S3ObjectStore, S3Settings } from './s3.ts';
import { checkAccountName, type ObjectStore, type ObjectStoreRoot } from './store.ts';

/** What the object store is made from (OPENCPH_DATA_DIR and OPENCPH_OBJECTS_*, checked by src/config.ts). */
export interface ObjectStoreConfig {
  dataDir: string;
  /** No endpoint: the local directory `<dataDir>/objects`. */
  objects: Partial<S3Settings> & Pick<S3Settings, 'region' | 'pathStyle'>;
}

/** The local directory store unless an S3-compatible endpoint is configured. */
export function createObjectStore(config: ObjectStoreConfig): ObjectStoreRoot {
  const { endpoint, accessKey, secretKey, region, pathStyle } = config.objects;
  if (!endpoint) return new LocalObjectStore(join(config.dataDir, 'objects'));
  if (!accessKey || !secretKey) {
    throw new Error('OPENCPH_OBJECTS_ENDPOINT needs OPENCPH_OBJECTS_ACCESS_KEY and OPENCPH_OBJECTS_SECRET_KEY');
  }
  // The AWS SDK costs ~0.25 s and ~30 MB to load: only a process that actually talks to S3 pays for it.
  let loaded: Promise<S3ObjectStore> | undefined;
  const s3 = () => (loaded ??= import('./s3.ts').then((m) => new m.S3ObjectStore({ endpoint, accessKey, secretKey, region, pathStyle })));
  const namespace = (of: (root: S3ObjectStore) => ObjectStore): ObjectStore => ({
    kind: 's3',
    stat: async (bucket, key) => of(await s3()).stat(bucket, key),
    download: async (bucket, key, toFile) => of(await s3()).download(bucket, key, toFile),
    upload: async (bucket, key, fromFile) => of(await s3()).upload(bucket, key, fromFile),
    list: async (bucket, prefix) => of(await s3()).list(bucket, prefix),
  });
  return {
    kind: 's3',
    forAccount: (account) => {
      checkAccountName(account);
      return namespace((root) => root.forAccount(account));
    },
    internal: namespace((root) => root.internal),
    // As S3ObjectStore's, without loading the SDK at every start.
    adoptFormerLayout: async () => [],
  };
}
