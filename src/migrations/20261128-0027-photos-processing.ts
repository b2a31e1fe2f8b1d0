import type { Migration } from '../platform/db/migrator';

// Photos still `processing` by age, for the photos sweep: one whose job was lost (Redis down at
// upload) is queued again, one whose job failed for good where the job could not mark it (a
// timeout, a dead worker) is marked failed (photos.sweep). Only photos in flight are in it, so it
// stays a handful of rows however many photos there are. CONCURRENTLY, so uploads keep going.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX CONCURRENTLY IF EXISTS product_images_processing');
  await sequelize.query(`CREATE INDEX CONCURRENTLY product_images_processing ON product_images (created_at) WHERE status = 'processing' AND deleted_at IS NULL`);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX IF EXISTS product_images_processing');
};
