import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// A photo's original (the seller's file, EXIF and GPS included) was forgotten when the photo was
// marked ready or failed, in the same commit, and deleted from storage after it, best effort: a
// worker that died between the two, or a storage delete that failed, left it stored with nothing
// pointing at it. Now original_key stays set until the file is deleted, and the photos sweep
// deletes the originals still recorded on photos done with. This index holds only those rows
// (normally none: each is cleared seconds after it appears), so the hourly look costs nothing.
// CONCURRENTLY, on its own: uploads and processing keep writing meanwhile.
export const up: Migration = async ({ context: { sequelize } }) => {
  await createIndexConcurrently(
    sequelize,
    'product_images_originals_left',
    `product_images (updated_at) WHERE original_key IS NOT NULL AND status <> 'processing' AND deleted_at IS NULL`,
  );
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX CONCURRENTLY IF EXISTS product_images_originals_left');
};
