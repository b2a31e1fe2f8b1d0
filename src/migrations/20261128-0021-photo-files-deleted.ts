import type { Migration } from '../platform/db/migrator';

// A deleted photo's files are deleted right after its transaction commits, best effort: a crash
// in between, a storage error, or a processing job still writing the derivatives leaves files
// behind that nothing points to any more (and photos of listings deleted before the
// photos.deleted-listings subscriber existed were never deleted at all). The photos sweep
// (photos.sweep) deletes them again later and records it here, so each photo is swept once.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    ALTER TABLE product_images ADD COLUMN files_deleted_at timestamptz;
    CREATE INDEX product_images_files_pending ON product_images (deleted_at) WHERE deleted_at IS NOT NULL AND files_deleted_at IS NULL;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE product_images DROP COLUMN files_deleted_at');
};
