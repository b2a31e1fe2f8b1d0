import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { markDirty } from './like-repository';
import { RECOMMENDABLE, SELLER_IN_FORCE } from './listing-reader';

/** Tuning of the item-to-item model (docs/recommendations.md). */
export const SIMILARITY = {
  /** Neighbours kept per item. */
  topN: 30,
  /** Most recent users of an item looked at. */
  usersPerItem: 1_000,
  /** Most recent items of each of those users looked at. */
  itemsPerUser: 200,
  /** Shrinks scores resting on few common users: cosine × c / (c + λ). */
  shrinkage: 2,
  /** A claim older than this (the job's 5-minute timeout, three times over) was a dead worker's. */
  claimTimeoutSeconds: 900,
  /**
   * A pair is kept only when at least this many users share it. Below that, a listing's
   * neighbours would be one person's recent views, likes and purchases, shown to anyone who asks
   * for `similar` (a seller who names someone as the buyer of a listing nobody else touched
   * could read that person's history). docs/recommendations.md.
   */
  minCoUsers: 3,
  /** Dirty items recomputed per transaction. */
  batch: 100,
  /** A user's latest interactions their recommendations start from. */
  seedsPerUser: 30,
  /** A user's latest interactions their categories are read from (the popular fallback). */
  categorySeedsPerUser: 50,
} as const;

// The three signal tables behind the view product_interactions (migration 0013), each with the
// weight and the time the view gives its rows. Change them together with the view and the
// item_norms trigger (migration 0028).
const SIGNALS = [
  { table: 'product_views', weight: 1, time: 'viewed_on', at: 'viewed_on::timestamptz' },
  { table: 'product_likes', weight: 3, time: 'created_at', at: 'created_at' },
  { table: 'product_purchases', weight: 5, time: 'purchased_at', at: 'purchased_at' },
] as const;

/**
 * The latest `limit` rows of product_interactions of one user (`of: 'user'`: their items) or of
 * one item (`of: 'item'`: its users), newest first (ties: the other key, descending), as
 * `(id, weight)`; `except` leaves one id out. `key`, `limit` and `except` are SQL expressions
 * (bind parameters, outer columns).
 *
 * The same rows as `SELECT … FROM product_interactions WHERE … ORDER BY at DESC, id DESC LIMIT n`,
 * without its cost: the view groups by (user, item), so PostgreSQL cannot push the LIMIT below the
 * GROUP BY and aggregates and sorts the whole history of the user or item (30,000 views, 30,000 rows)
 * to keep n. Here each table is walked by its own (key, time DESC, other key DESC) index and stops
 * after n rows (migration 0031), then the at most 3n rows are grouped. That loses nothing: an id
 * among the latest n of the view has its latest row in some table, and every row of that table
 * ahead of it belongs to an id ahead of it in the view, so fewer than n rows are ahead of it there.
 * Its weight is the strongest of its rows in all three tables, and a like or a purchase older than
 * the n latest of its table is not among the rows read: it is probed (primary key) only when that
 * table's walk stopped at n, i.e. only for long histories, and only for an id not already at a
 * stronger weight.
 */
export function latestInteractions(of: 'user' | 'item', key: string, limit: string, except?: string): string {
  const [by, other] = of === 'user' ? ['user_id', 'product_id'] : ['product_id', 'user_id'];
  const walks = SIGNALS.map(
    (s) =>
      `(SELECT ${other} AS id, ${s.weight}.0::real AS weight, ${s.at} AS at FROM ${s.table} WHERE ${by} = ${key}${except ? ` AND ${other} <> ${except}` : ''}
         ORDER BY ${s.time} DESC, ${other} DESC LIMIT ${limit})`,
  );
  // A table whose walk stopped at `limit` rows may hold older rows of the ids kept: probe those.
  const cut = (s: (typeof SIGNALS)[number]) => `sum(count(*) FILTER (WHERE s.weight = ${s.weight})) OVER () >= ${limit} AS ${s.table}_cut`;
  const probe = (s: (typeof SIGNALS)[number]) =>
    `CASE WHEN r.known < ${s.weight} AND r.${s.table}_cut THEN (SELECT ${s.weight}.0::real FROM ${s.table} o WHERE o.${by} = ${key} AND o.${other} = r.id) END`;
  const stronger = SIGNALS.filter((s) => s.weight > SIGNALS[0].weight);
  return `
    SELECT r.id, greatest(r.known, ${stronger.map(probe).join(', ')}) AS weight
      FROM (SELECT s.id, max(s.weight) AS known, max(s.at) AS at, ${stronger.map(cut).join(', ')}
              FROM (${walks.join('\n               UNION ALL ')}) s
             GROUP BY s.id
             ORDER BY max(s.at) DESC, s.id DESC
             LIMIT ${limit}) r
     ORDER BY r.at DESC, r.id DESC`;
}

// The scoring of one batch of items against everything they co-occur with: each item's latest
// users ($2), each of those users' latest other items ($3), through latestInteractions (index walks
// that stop at the caps, whatever the length of a history). The norms are one primary-key probe of
// item_norms per item (kept by triggers on the three tables, migration 0028), never an aggregate
// over everyone who touched a popular co-item; as a scalar subquery, so that it stays a probe per
// item whatever the planner thinks of the batch's size.
export const SCORE_BATCH = `
  INSERT INTO similarity_batch (i, j, score, co_users)
  WITH d AS (SELECT DISTINCT unnest($1::text[]) AS i),
  iu AS (
    SELECT d.i, x.id AS user_id, x.weight
      FROM d CROSS JOIN LATERAL (${latestInteractions('item', 'd.i', '$2')}) x
  ),
  co AS (
    SELECT iu.i, y.id AS j, sum(iu.weight * y.weight) AS dot, count(*)::int AS co_users
      FROM iu CROSS JOIN LATERAL (${latestInteractions('user', 'iu.user_id', '$3', 'iu.i')}) y
     GROUP BY iu.i, y.id
  ),
  items AS (SELECT i AS p FROM d UNION SELECT j FROM co),
  norms AS (
    SELECT items.p, (SELECT sqrt(x.sq_sum) FROM item_norms x WHERE x.product_id = items.p) AS n FROM items
  )
  SELECT co.i, co.j, (co.dot / (ni.n * nj.n) * co.co_users / (co.co_users + $4))::real AS score, co.co_users
    FROM co JOIN norms ni ON ni.p = co.i JOIN norms nj ON nj.p = co.j
   WHERE ni.n > 0 AND nj.n > 0 AND co.co_users >= $5`;

/** One place of a shared popular list, with what it is ranked by, so that lists can be merged. */
export interface PopularEntry {
  id: string;
  /** like_count × 3 + view_count when the list was read. */
  score: number;
  bumpedAtMicros: number;
}

/** Popularity order: score, then the latest bump, then id (as every popular query sorts). */
export const byPopularity = (a: PopularEntry, b: PopularEntry): number => b.score - a.score || b.bumpedAtMicros - a.bumpedAtMicros || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

// What the popular fallback may show: a recommendable listing on sale, bumped in the last 30 days.
const POPULAR_CANDIDATE = `${RECOMMENDABLE} AND p.status = 'on_sale' AND p.bumped_at > now() - interval '30 days'`;
// Popularity, as every popular query ranks it.
const POPULARITY = 'p.like_count * 3 + p.view_count';
// The ids of the categories at or under any of the given ones (the `categories` array expression).
const categoriesUnder = (categories: string) =>
  `SELECT c.id FROM categories c JOIN categories a ON c.path = a.path OR c.path LIKE a.path || '/%' WHERE a.id = ANY(${categories})`;

// A slice's most popular listings for everyone ($1 dongs, $2 a top-level category, either null
// for all; $3 how many): every listing of the slice bumped in 30 days is read and ranked.
export const POPULAR_SLICE_SQL = `
  SELECT p.id, ${POPULARITY} AS score, (extract(epoch FROM p.bumped_at) * 1000000)::bigint::text AS at
    FROM products p
   WHERE ${POPULAR_CANDIDATE}
     AND ($1::text[] IS NULL OR p.dong_code = ANY($1::text[]))
     AND ($2::text IS NULL OR p.category_id IN (${categoriesUnder('ARRAY[$2::text]')}))
   ORDER BY score DESC, p.bumped_at DESC, p.id
   LIMIT $3`;

// The same ranking for one viewer ($1; $2 ids to leave out, $3 dongs, $4 categories, $5 how many),
// filtered as it goes: like POPULAR_SLICE_SQL, it reads every listing of the slice bumped in 30
// days, plus a like and a purchase probe for each.
export const POPULAR_SQL = `
  SELECT p.id FROM products p
   WHERE ${POPULAR_CANDIDATE} AND ${SELLER_IN_FORCE}
     AND p.seller_id IS DISTINCT FROM $1
     AND p.id <> ALL($2::text[])
     AND NOT EXISTS (SELECT 1 FROM product_likes l WHERE l.user_id = $1 AND l.product_id = p.id)
     AND NOT EXISTS (SELECT 1 FROM product_purchases b WHERE b.user_id = $1 AND b.product_id = p.id)
     AND ($3::text[] IS NULL OR p.dong_code = ANY($3::text[]))
     AND ($4::text[] IS NULL OR p.category_id IN (${categoriesUnder('$4::text[]')}))
   ORDER BY ${POPULARITY} DESC, p.bumped_at DESC, p.id
   LIMIT $5`;

// Of a shared list's candidates, in their order, those the viewer may still be shown. The
// listing's own conditions are a scalar subquery per candidate: a primary-key probe each, never a
// join the planner could turn into a scan of products. At most one probe of products, product_likes
// and product_purchases per candidate, whatever the catalogue's size.
export const STILL_RECOMMENDABLE_SQL = `
  SELECT c.id
    FROM unnest($1::text[]) WITH ORDINALITY AS c(id, ord)
   WHERE c.id <> ALL($3::text[])
     AND (SELECT ${POPULAR_CANDIDATE} AND p.seller_id IS DISTINCT FROM $2 AND ${SELLER_IN_FORCE}
            FROM products p WHERE p.id = c.id)
     AND NOT EXISTS (SELECT 1 FROM product_likes l WHERE l.user_id = $2 AND l.product_id = c.id)
     AND NOT EXISTS (SELECT 1 FROM product_purchases b WHERE b.user_id = $2 AND b.product_id = c.id)
   ORDER BY c.ord
   LIMIT $4`;

/** Dirty items taken by one similarity run, each with the claim it holds. */
export interface DirtyClaim {
  ids: string[];
  tokens: string[];
}

/**
 * For a listing that stopped being recommendable (sold, hidden, deleted, flagged) or became so again:
 * marks it for the next similarity run, which takes it out of every neighbour list (or puts it back),
 * and marks every list holding it, whose recompute fills the place with the next neighbour (one
 * the top-N cut had left out). There are at most topN stored pairs per item, so on average a listing
 * is held by at most topN lists: a sale costs about as many recomputes as that many likes would. The
 * dirty items are locked in id order, in one statement, as the view flush locks them.
 */
export async function markListingChanged(sequelize: Sequelize, productId: string, transaction: Transaction): Promise<void> {
  const holders = await sequelize.query<{ id: string }>('SELECT product_id AS id FROM item_similarity WHERE similar_id = $1', {
    bind: [productId],
    type: QueryTypes.SELECT,
    transaction,
  });
  await markDirty(sequelize, [productId, ...holders.map((h) => h.id)], transaction);
}

/** The item_similarity table: its incremental maintenance and the reads that rank with it. */
export function createSimilarityRepository(sequelize: Sequelize) {
  return {
    /**
     * Claims up to `limit` dirty items, oldest first: unclaimed ones, or ones whose claim is older
     * than `staleAfterSeconds` (its worker died). Committed at once, so likes never wait on a
     * recompute. The claim's token (its time, to the microsecond) is what `recompute` and
     * `release` match: an item marked again and claimed by another run meanwhile is not theirs.
     */
    async claimDirty(limit: number, staleAfterSeconds: number = SIMILARITY.claimTimeoutSeconds): Promise<DirtyClaim> {
      const rows = await sequelize.query<{ product_id: string; token: string }>(
        `UPDATE similarity_dirty_items SET claimed_at = clock_timestamp() WHERE product_id IN (
           SELECT product_id FROM similarity_dirty_items
            WHERE claimed_at IS NULL OR claimed_at < now() - make_interval(secs => $2)
            ORDER BY marked_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING product_id, claimed_at::text AS token`,
        { bind: [limit, staleAfterSeconds], type: QueryTypes.SELECT },
      );
      // clock_timestamp() is read row by row: each row keeps its own token.
      return { ids: rows.map((r) => r.product_id), tokens: rows.map((r) => r.token) };
    },

    /** Gives a claim's items back to the list (a recompute that failed or could not run). */
    async release(claim: DirtyClaim): Promise<void> {
      if (claim.ids.length === 0) return;
      await sequelize.query(
        `UPDATE similarity_dirty_items d SET claimed_at = NULL
           FROM (SELECT product_id FROM similarity_dirty_items s JOIN unnest($1::text[], $2::timestamptz[]) AS c(id, token)
                   ON s.product_id = c.id AND s.claimed_at = c.token ORDER BY s.product_id FOR UPDATE OF s) mine
          WHERE d.product_id = mine.product_id`,
        { bind: [claim.ids, claim.tokens] },
      );
    },

    /**
     * Recomputes the neighbours of these items from scratch and, since similarity is symmetric,
     * their pair with each co-occurring item j in j's list too (then trims j's list to the top N).
     * A pair is stored only when its neighbour is recommendable now; markListingChanged keeps that
     * true when a listing's state changes. One recompute at a time across workers (advisory lock):
     * false when another is running.
     */
    async recompute(claim: DirtyClaim): Promise<boolean> {
      const ids = claim.ids;
      return sequelize.transaction(async (t) => {
        const [lock] = await sequelize.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtextextended('engagement.similarity', 0)) AS ok", {
          type: QueryTypes.SELECT,
          transaction: t,
        });
        if (!lock?.ok) return false;
        await sequelize.query('CREATE TEMP TABLE similarity_batch (i text, j text, score real, co_users integer) ON COMMIT DROP', { transaction: t });
        await sequelize.query(SCORE_BATCH, { bind: [ids, SIMILARITY.usersPerItem, SIMILARITY.itemsPerUser, SIMILARITY.shrinkage, SIMILARITY.minCoUsers], transaction: t });
        await sequelize.query('DELETE FROM item_similarity WHERE product_id = ANY($1::text[]) OR similar_id = ANY($1::text[])', { bind: [ids], transaction: t });
        // Only neighbours that can be shown take one of the N places, in both directions: a listing
        // sold, hidden, deleted or flagged would hold a place that reads then skip, and in a
        // marketplace neighbours sell fast, so the live ones behind them would be lost. Every item
        // keeps its own list whatever its state (a sold listing's `similar`, a user's seeds).
        await sequelize.query(
          `INSERT INTO item_similarity (product_id, similar_id, score, co_users)
           SELECT i, j, score, co_users FROM (
             SELECT b.*, row_number() OVER (PARTITION BY b.i ORDER BY b.score DESC, b.j) AS rank
               FROM similarity_batch b JOIN products p ON p.id = b.j
              WHERE b.score > 0 AND ${RECOMMENDABLE}) r
            WHERE rank <= $1
            ORDER BY i, j`,
          { bind: [SIMILARITY.topN], transaction: t },
        );
        const reverse = await sequelize.query<{ j: string }>(
          `INSERT INTO item_similarity (product_id, similar_id, score, co_users)
           SELECT b.j, b.i, b.score, b.co_users
             FROM similarity_batch b JOIN products p ON p.id = b.i
            WHERE b.score > 0 AND b.j <> ALL($1::text[]) AND ${RECOMMENDABLE}
            ORDER BY b.j, b.i
           ON CONFLICT (product_id, similar_id) DO UPDATE SET score = excluded.score, co_users = excluded.co_users, computed_at = now()
           RETURNING product_id AS j`,
          { bind: [ids], type: QueryTypes.SELECT, transaction: t },
        );
        const touched = [...new Set(reverse.map((r) => r.j))];
        if (touched.length) {
          await sequelize.query(
            `DELETE FROM item_similarity s USING (
               SELECT product_id, similar_id, row_number() OVER (PARTITION BY product_id ORDER BY score DESC, similar_id) AS rank
                 FROM item_similarity WHERE product_id = ANY($1::text[])) r
              WHERE s.product_id = r.product_id AND s.similar_id = r.similar_id AND r.rank > $2`,
            { bind: [touched, SIMILARITY.topN], transaction: t },
          );
        }
        // Last, so the rows stay locked only until the commit that follows, and in id order, as
        // markDirty (a flush marks many) takes them: off the list with the result, except an item
        // marked again meanwhile (its claim cleared, or another run's).
        await sequelize.query(
          `DELETE FROM similarity_dirty_items d USING (
             SELECT product_id FROM similarity_dirty_items s JOIN unnest($1::text[], $2::timestamptz[]) AS c(id, token)
                 ON s.product_id = c.id AND s.claimed_at = c.token ORDER BY s.product_id FOR UPDATE OF s) mine
            WHERE d.product_id = mine.product_id`,
          { bind: [claim.ids, claim.tokens], transaction: t },
        );
        return true;
      });
    },

    /** The item's neighbours that are recommendable to `viewerId`, best first. */
    async neighbours(productId: string, limit: number, viewerId: string | undefined): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        `SELECT s.similar_id AS id
           FROM item_similarity s JOIN products p ON p.id = s.similar_id
          WHERE s.product_id = $1 AND ${RECOMMENDABLE} AND ${SELLER_IN_FORCE} AND p.seller_id IS DISTINCT FROM $3
          ORDER BY s.score DESC, s.similar_id
          LIMIT $2`,
        { bind: [productId, limit, viewerId ?? null], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.id);
    },

    /**
     * Item-based CF for a user: the neighbours of what they interacted with lately, each scored by
     * Σ similarity × the strength of the interaction, minus what they already liked, bought or
     * recently viewed and their own listings.
     */
    async forUser(userId: string, limit: number): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        `WITH seeds AS (SELECT id AS product_id, weight FROM (${latestInteractions('user', '$1', '$3')}) l)
         SELECT s.similar_id AS id
           FROM seeds JOIN item_similarity s ON s.product_id = seeds.product_id
           JOIN products p ON p.id = s.similar_id
          WHERE ${RECOMMENDABLE} AND ${SELLER_IN_FORCE} AND p.seller_id <> $1
            AND s.similar_id NOT IN (SELECT product_id FROM seeds)
            AND NOT EXISTS (SELECT 1 FROM product_likes l WHERE l.user_id = $1 AND l.product_id = s.similar_id)
            AND NOT EXISTS (SELECT 1 FROM product_purchases b WHERE b.user_id = $1 AND b.product_id = s.similar_id)
          GROUP BY s.similar_id
          ORDER BY sum(s.score * seeds.weight) DESC, s.similar_id
          LIMIT $2`,
        { bind: [userId, limit, SIMILARITY.seedsPerUser], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.id);
    },

    /** The top-level categories of what the user interacted with lately, most frequent first. */
    async userCategories(userId: string): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        `WITH seeds AS (SELECT id AS product_id FROM (${latestInteractions('user', '$1', '$2')}) l)
         SELECT top.id FROM seeds
           JOIN products p ON p.id = seeds.product_id
           JOIN categories c ON c.id = p.category_id
           JOIN categories top ON top.depth = 0 AND (c.path = top.path OR c.path LIKE top.path || '/%')
          GROUP BY top.id ORDER BY count(*) DESC, top.id LIMIT 3`,
        { bind: [userId, SIMILARITY.categorySeedsPerUser], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.id);
    },

    /**
     * The `limit` most popular (likes weigh three views) listings on sale bumped in the last 30
     * days, within a top-level category (and its sub-categories) and dongs when given: the same
     * for every viewer, so that it can be shared (the recommendations fallback caches it).
     * Reads the slice's listings of the last 30 days: call it once per slice and cache period.
     */
    async popularSlice(opts: { categoryId?: string; dongCodes?: string[]; limit: number }): Promise<PopularEntry[]> {
      const rows = await sequelize.query<{ id: string; score: number; at: string }>(
        POPULAR_SLICE_SQL,
        { bind: [opts.dongCodes ?? null, opts.categoryId ?? null, opts.limit], type: QueryTypes.SELECT },
      );
      return rows.map((r) => ({ id: r.id, score: Number(r.score), bumpedAtMicros: Number(r.at) }));
    },

    /**
     * Of `candidates` (a shared popular list), in their order, the first `limit` that `viewerId`
     * may be shown: still on sale, bumped within 30 days and not under review, not in `exclude`,
     * not their own, not liked or bought by them. Bounded by the candidates (STILL_RECOMMENDABLE_SQL).
     */
    async stillRecommendable(viewerId: string, candidates: string[], exclude: string[], limit: number): Promise<string[]> {
      if (candidates.length === 0 || limit <= 0) return [];
      const rows = await sequelize.query<{ id: string }>(STILL_RECOMMENDABLE_SQL, { bind: [candidates, viewerId, exclude, limit], type: QueryTypes.SELECT });
      return rows.map((r) => r.id);
    },

    /**
     * Popular (likes weigh three views) listings bumped in the last 30 days, optionally within
     * categories (and their sub-categories) and dongs, minus `exclude` and what the viewer sells,
     * liked or bought. Reads every listing of the slice bumped in 30 days: only for slices bounded
     * by dongs (`similar`'s top-up around a listing); the recommendations fallback, which may have
     * no dongs, goes through popularSlice and its cache instead.
     */
    async popular(opts: { categoryIds?: string[]; dongCodes?: string[]; exclude: string[]; viewerId: string | undefined; limit: number }): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        POPULAR_SQL,
        { bind: [opts.viewerId ?? null, opts.exclude, opts.dongCodes ?? null, opts.categoryIds ?? null, opts.limit], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.id);
    },
  };
}
export type SimilarityRepository = ReturnType<typeof createSimilarityRepository>;
