import type { Migration } from '../platform/db/migrator';

// How many listings a search word matches is estimated from the column's statistics. With the
// default 100-entry sample a rare word (전기밥솥: 91 of 200,000 listings) came out at ~1 % of the
// table, so the planner walked the recency index past ~100,000 rows (117 ms) instead of sorting
// the trigram index's few hits (0.6 ms). A 1,000-entry sample tells words apart down to ~0.1 %
// (docs/performance.md, "Catalog"). The adapter's rebuild carries the setting to the new table.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    ALTER TABLE search_documents ALTER COLUMN search_text SET STATISTICS 1000;
    ANALYZE search_documents;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE search_documents ALTER COLUMN search_text SET STATISTICS -1');
};
