import type { Migration } from '../platform/db/migrator';

// Two things the first version of the review queue and of the suggestion threshold got wrong.
//
// `search_query_searchers`: who has searched a query, so that `search_queries.searchers` counts
// each user once for good. 0015 counted from the search history, which can be cleared or
// outgrown, so one account could reach the threshold alone. One row per query and searcher, the
// searcher as a hash of the user id (a counter's memory, not a second history). Counts made
// before it are not trusted and start again from 0.
//
// `products.moderation_cleared`: what a moderator approved when clearing a flag (a fingerprint
// of the findings), so that an edit finding exactly that again does not send the listing back to
// the queue; anything new still does.
export const up: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query(`
    CREATE TABLE search_query_searchers (
      query    text NOT NULL,
      searcher text NOT NULL,
      PRIMARY KEY (query, searcher)
    );
    UPDATE search_queries SET searchers = 0;
    ALTER TABLE products ADD COLUMN moderation_cleared text;
  `);
};

export const down: Migration = async ({ context: { sequelize } }) => {
  await sequelize.query('DROP TABLE search_query_searchers; ALTER TABLE products DROP COLUMN moderation_cleared;');
};
