import type { Migration } from '../platform/db/migrator';

// A query counts towards popular searches once per user and Korean day. The day was kept in the
// user's search history document, which the user can clear (or which trims its oldest entries):
// search, clear, search again, and every search counted, so one account could push any query
// with three searchers to the top of everyone's suggestions. The day now lives beside the
// searcher's row, which exists for the same purpose and is never cleared by the user.
// Nullable, no default: no table rewrite. A row without a day counts on its next search (during
// the rollout, searches answered by the previous release count as before). The ALTER's lock is
// brief, but queued behind a long reader it would hold up every signed-in search that records its
// query: it gives up after 5 s (the migration fails and can be re-run: IF NOT EXISTS).
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.transaction(async (transaction) => {
    await sequelize.query(`SET LOCAL lock_timeout = '5s'`, { transaction });
    await sequelize.query('ALTER TABLE search_query_searchers ADD COLUMN IF NOT EXISTS counted_on date', { transaction });
  });
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('ALTER TABLE search_query_searchers DROP COLUMN counted_on');
};
