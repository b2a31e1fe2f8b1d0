import { localDiskStorage } from './local-disk-storage';
import type { ObjectStorage } from './object-storage';
import { s3Storage } from './s3-storage';

export { assertValidKey, contentTypeOf, isValidKey, type ObjectStorage, type OpenedObject } from './object-storage';
export { mediaRouter, MEDIA_PATH } from './media-route';

export interface StorageConfig {
  STORAGE_DIR: string;
  S3_BUCKET?: string | undefined;
  S3_ENDPOINT?: string | undefined;
  S3_REGION: string;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
  S3_FORCE_PATH_STYLE: boolean;
}

/** The configured storage: the S3 bucket when S3_BUCKET is set, local disk under STORAGE_DIR otherwise. */
export function createObjectStorage(c: StorageConfig): ObjectStorage {
  if (!c.S3_BUCKET) return localDiskStorage(c.STORAGE_DIR);
  return s3Storage({
    bucket: c.S3_BUCKET,
    region: c.S3_REGION,
    endpoint: c.S3_ENDPOINT,
    forcePathStyle: c.S3_FORCE_PATH_STYLE,
    ...(c.S3_ACCESS_KEY_ID && c.S3_SECRET_ACCESS_KEY ? { credentials: { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } } : {}),
  });
}
