import type { Migration } from '../platform/db/migrator';

// Item pairs shared by fewer than three users are no longer kept (SIMILARITY.minCoUsers): a
// listing's public `similar` list must never be one person's activity. Pairs computed before the
// rule are dropped here; the similarity job keeps the rule from now on.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DELETE FROM item_similarity WHERE co_users < 3');
};

export const down: Migration = async () => {
  // Nothing to restore: the pairs are recomputed as items change.
};
