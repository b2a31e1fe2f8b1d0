import type { Migration } from '../platform/db/migrator';
import { createIndexConcurrently } from './support/concurrent-index';

// The recommender's "latest N" reads (a user's latest items, an item's latest users) walk each
// signal table by time and stop after N rows, instead of grouping the view product_interactions,
// which aggregates and sorts the whole history of the user or item first (docs/recommendations.md).
// Each walk needs an index of (key, time DESC, other key DESC): the other key last, so that rows
// of the same time (all of one day's views) come in the order the reads break ties by without
// being sorted; an index on (key, time) alone would make PostgreSQL read the whole tie group, the
// whole day, to order it. Purchases had no index by user at all.
//
// The new indexes replace those on (key, time) (0013), which they cover. Each statement on its
// own (no transaction around them): built CONCURRENTLY, so likes, view flushes and purchases keep
// writing meanwhile, and the old indexes dropped CONCURRENTLY last, so no read queues behind a lock.
const INDEXES = [
  { name: 'product_views_user_latest', on: 'product_views (user_id, viewed_on DESC, product_id DESC)', replaces: 'product_views_user_recent', was: 'product_views (user_id, viewed_on DESC)' },
  { name: 'product_views_product_latest', on: 'product_views (product_id, viewed_on DESC, user_id DESC)', replaces: 'product_views_product', was: 'product_views (product_id, viewed_on DESC)' },
  { name: 'product_likes_product_latest', on: 'product_likes (product_id, created_at DESC, user_id DESC)', replaces: 'product_likes_product', was: 'product_likes (product_id, created_at DESC)' },
  { name: 'product_purchases_user_latest', on: 'product_purchases (user_id, purchased_at DESC, product_id DESC)' },
  { name: 'product_purchases_product_latest', on: 'product_purchases (product_id, purchased_at DESC, user_id DESC)', replaces: 'product_purchases_product', was: 'product_purchases (product_id, purchased_at DESC)' },
] as const;
// product_likes_user_recent (user_id, created_at DESC, product_id DESC) is already one.

// Also from this release, a neighbour list keeps only listings that can be shown (on sale or
// reserved, not deleted, not flagged): the pairs stored before, pointing at the others, are dropped
// here. Reads skipped them already, so nothing shown changes; their places are refilled as the lists
// are recomputed (a full refill is marking every item dirty, docs/recommendations.md: not done here,
// it would queue every fresh like behind the whole catalogue). Under the similarity job's lock, so no
// recompute writes the same rows meanwhile.
const DROP_UNSHOWABLE_NEIGHBOURS = `
  DELETE FROM item_similarity s USING products p
   WHERE p.id = s.similar_id AND NOT (p.deleted_at IS NULL AND p.status IN ('on_sale', 'reserved') AND p.moderation = 'ok')`;

export const up: Migration = async ({ context: { sequelize } }) => {
  const q = (sql: string) => sequelize.query(sql);
  for (const index of INDEXES) await createIndexConcurrently(sequelize, index.name, index.on);
  for (const index of INDEXES) if ('replaces' in index) await q(`DROP INDEX CONCURRENTLY IF EXISTS ${index.replaces}`);
  await sequelize.transaction(async (transaction) => {
    await sequelize.query("SELECT pg_advisory_xact_lock(hashtextextended('engagement.similarity', 0))", { transaction });
    await sequelize.query(DROP_UNSHOWABLE_NEIGHBOURS, { transaction });
  });
};

// The dropped pairs are not restored: the job stores them again only if that rule is undone.
export const down: Migration = async ({ context: { sequelize } }) => {
  for (const index of INDEXES) {
    if ('replaces' in index) await sequelize.query(`CREATE INDEX IF NOT EXISTS ${index.replaces} ON ${index.was}`);
    await sequelize.query(`DROP INDEX IF EXISTS ${index.name}`);
  }
};
