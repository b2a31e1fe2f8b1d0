import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// Words of 3+ characters match the text without its spaces (migration 0026). Computed in the
// query, replace(search_text, ' ', '') ran on every row a plan read: a common word's walk of the
// recency index reads thousands of rows to find a page, and on 20,000 rows replace + LIKE took
// 33–49 ms against 16 ms for LIKE alone (docs/performance.md, run 16). Stored, it is computed once
// per write, and LIKE reads it.
//
// The trigram index and the statistics move to the column (a column's own statistics are what the
// planner reads for it), with its sample of 1,000: a rare word must not be estimated at ~1% of the
// table (migration 0014).
//
// Adding a stored generated column rewrites the table under an exclusive lock (PostgreSQL 15 has
// no other way to fill one): searches and the index feeder wait for it. The whole migration took
// 41 s on the bench's 200,000 listings, of which the index build is ~25 s (migration 0026's
// figure). The index is built CONCURRENTLY, each statement on its own, so no search waits on it.
export const up: Migration = async ({ context: { sequelize } }) => {
  const q = (sql: string) => sequelize.query(sql);
  await q(`ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS search_compact text GENERATED ALWAYS AS (replace(search_text, ' ', '')) STORED`);
  await q('ALTER TABLE search_documents ALTER COLUMN search_compact SET STATISTICS 1000');
  await createIndexConcurrently(sequelize, 'search_documents_search_compact_trgm', 'search_documents USING gin (search_compact gin_trgm_ops) WHERE searchable');
  await q('ANALYZE search_documents');
  // The expression index and its statistics stay for now: processes of the release before this
  // one still search by the expression until the last of them stops. A later release drops them.
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    DROP INDEX search_documents_search_compact_trgm;
    ALTER TABLE search_documents DROP COLUMN search_compact;
    ANALYZE search_documents;
  `);
};
