import type { Migration } from '../platform/db/migrator';

// A word of 3+ characters matches the listing's text with its spaces removed, so that `아이폰14`
// finds `아이폰 14 프로` and `원목식탁` finds `원목 식탁`: Koreans space compounds and model
// numbers freely, and a buyer's spacing rarely matches the seller's (docs/search.md).
//
// The trigram index moves from the text to the text without spaces: a word without spaces that is
// in the text is also in the text without spaces, so nothing that matched stops matching. An
// expression index, so no column is added and the table is not rewritten. Its statistics are an
// extended statistics object (a partial index's expression statistics are not used by the planner),
// with the sample of migration 0014: with the default, a rare word is estimated at ~1% of the table
// and the planner walks the recency index instead.
// Each statement on its own (no transaction around them): the index is built CONCURRENTLY, so the
// index feeder keeps writing meanwhile (~25 s per 200,000 listings), and the old index is dropped
// CONCURRENTLY last, so searches never queue behind a lock; ANALYZE blocks neither.
export const up: Migration = async ({ context: { sequelize } }) => {
  const q = (sql: string) => sequelize.query(sql);
  // An interrupted concurrent build leaves an invalid index of this name behind.
  await q('DROP INDEX CONCURRENTLY IF EXISTS search_documents_compact_trgm');
  await q(`CREATE INDEX CONCURRENTLY search_documents_compact_trgm ON search_documents USING gin (replace(search_text, ' ', '') gin_trgm_ops) WHERE searchable`);
  await q(`CREATE STATISTICS IF NOT EXISTS search_documents_compact_stats ON (replace(search_text, ' ', '')) FROM search_documents`);
  await q('ALTER STATISTICS search_documents_compact_stats SET STATISTICS 1000');
  await q('ANALYZE search_documents');
  await q('DROP INDEX CONCURRENTLY IF EXISTS search_documents_trgm');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE INDEX search_documents_trgm ON search_documents USING gin (search_text gin_trgm_ops) WHERE searchable;
    DROP STATISTICS search_documents_compact_stats;
    DROP INDEX search_documents_compact_trgm;
  `);
};
