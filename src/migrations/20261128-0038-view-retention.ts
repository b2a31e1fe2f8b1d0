import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// Views are kept for 180 days (engagement.prune-views): the daily prune takes the oldest first,
// in slices, by this index; without it every slice would scan the table from its start. The view
// flush already rewrites indexed columns (viewed_on is in both per-user and per-listing indexes),
// so one more index costs its own entry per flushed view, no HOT update lost.
// CONCURRENTLY, on its own: flushes keep writing meanwhile.
export const up: Migration = async ({ context: { sequelize } }) => {
  await createIndexConcurrently(sequelize, 'product_views_viewed_on', 'product_views (viewed_on)');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX CONCURRENTLY IF EXISTS product_views_viewed_on');
};
