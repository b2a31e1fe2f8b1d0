import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// Migration 0032 stored the text without spaces as a column and kept 0026's expression index and
// its statistics for one release, while processes of the release before it still searched by the
// expression. Every process of that release has stopped once this one runs, so nothing plans with
// them any more: they cost only the writes that keep the index up to date (a trigram GIN entry set
// per listing change) and 39 MB on the bench's 200,000 listings.
// DROP INDEX CONCURRENTLY, on its own (no transaction): searches and the index feeder never queue
// behind it. A dropped statistics object takes only a brief lock.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP INDEX CONCURRENTLY IF EXISTS search_documents_compact_trgm');
  await sequelize.query('DROP STATISTICS IF EXISTS search_documents_compact_stats');
};

// What 0026 built, for a rollback to the release before 0032's.
export const down: Migration = async ({ context: { sequelize } }) => {
  await createIndexConcurrently(sequelize, 'search_documents_compact_trgm', `search_documents USING gin (replace(search_text, ' ', '') gin_trgm_ops) WHERE searchable`);
  await sequelize.query(`CREATE STATISTICS IF NOT EXISTS search_documents_compact_stats ON (replace(search_text, ' ', '')) FROM search_documents`);
  await sequelize.query('ALTER STATISTICS search_documents_compact_stats SET STATISTICS 1000');
  await sequelize.query('ANALYZE search_documents');
};
