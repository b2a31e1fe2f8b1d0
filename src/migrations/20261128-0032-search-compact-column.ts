import type { Migration } from '../platform/db/migrator';

// Words of 3+ characters match the text without its spaces (migration 0026). Computed in the
// query, replace(search_text, ' ', '') ran on every row a plan read: a common word's walk of the
// recency index reads thousands of rows to find a page, and on 20,000 rows replace + LIKE took
// 33–49 ms against 16 ms for LIKE alone (docs/performance.md, run 16). Stored, it is computed once
// per write, and LIKE reads it.
//
// The trigram index and the statistics move to the column; a column's own statistics are what the
// planner reads, so the extended statistics object of 0026 goes, and the column keeps its sample
// of 1,000 (a rare word must not be estimated at ~1% of the table; migration 0014).
//
// Adding a stored generated column rewrites the table under an exclusive lock (PostgreSQL 15 has
// no other way to fill one): searches and the index feeder wait for it. The whole migration took
// 41 s on the bench's 200,000 listings, of which the index build is ~25 s (migration 0026's
// figure). The index is built CONCURRENTLY and the old one dropped the same way last, each
// statement on its own, so no search waits on them.
export const up: Migration = async ({ context: { sequelize } }) => {
  const q = (sql: string) => sequelize.query(sql);
  await q(`ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS search_compact text GENERATED ALWAYS AS (replace(search_text, ' ', '')) STORED`);
  await q('ALTER TABLE search_documents ALTER COLUMN search_compact SET STATISTICS 1000');
  // An interrupted concurrent build leaves an invalid index of this name behind.
  await q('DROP INDEX CONCURRENTLY IF EXISTS search_documents_search_compact_trgm');
  await q('CREATE INDEX CONCURRENTLY search_documents_search_compact_trgm ON search_documents USING gin (search_compact gin_trgm_ops) WHERE searchable');
  await q('ANALYZE search_documents');
  await q('DROP INDEX CONCURRENTLY IF EXISTS search_documents_compact_trgm');
  await q('DROP STATISTICS IF EXISTS search_documents_compact_stats');
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE INDEX search_documents_compact_trgm ON search_documents USING gin (replace(search_text, ' ', '') gin_trgm_ops) WHERE searchable;
    CREATE STATISTICS search_documents_compact_stats ON (replace(search_text, ' ', '')) FROM search_documents;
    ALTER STATISTICS search_documents_compact_stats SET STATISTICS 1000;
    DROP INDEX search_documents_search_compact_trgm;
    ALTER TABLE search_documents DROP COLUMN search_compact;
    ANALYZE search_documents;
  `);
};
