import { QueryTypes, type Sequelize } from 'sequelize';
import { RECOMMENDABLE } from './listing-reader';

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
} as const;

// The scoring of one batch of items against everything they co-occur with. `product_interactions`
// is a grouped view over likes, views and purchases; the equality quals on its grouping columns
// (product_id, user_id) are pushed down to the tables' indexes inside each LATERAL. The norms are
// one primary-key probe of item_norms per item (kept by triggers on the three tables, migration
// 0028), never an aggregate over everyone who touched a popular co-item; as a scalar subquery, so
// that it stays a probe per item whatever the planner thinks of the batch's size.
const SCORE_BATCH = `
  INSERT INTO similarity_batch (i, j, score, co_users)
  WITH d AS (SELECT DISTINCT unnest($1::text[]) AS i),
  iu AS (
    SELECT d.i, x.user_id, x.weight
      FROM d CROSS JOIN LATERAL (
        SELECT user_id, weight FROM product_interactions WHERE product_id = d.i ORDER BY at DESC LIMIT $2) x
  ),
  co AS (
    SELECT iu.i, y.product_id AS j, sum(iu.weight * y.weight) AS dot, count(*)::int AS co_users
      FROM iu CROSS JOIN LATERAL (
        SELECT product_id, weight FROM product_interactions WHERE user_id = iu.user_id AND product_id <> iu.i ORDER BY at DESC LIMIT $3) y
     GROUP BY iu.i, y.product_id
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
   WHERE ${POPULAR_CANDIDATE}
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
     AND (SELECT ${POPULAR_CANDIDATE} AND p.seller_id IS DISTINCT FROM $2
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
     * One recompute at a time across workers (advisory lock): false when another is running.
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
        await sequelize.query(
          `INSERT INTO item_similarity (product_id, similar_id, score, co_users)
           SELECT i, j, score, co_users FROM (
             SELECT *, row_number() OVER (PARTITION BY i ORDER BY score DESC, j) AS rank FROM similarity_batch WHERE score > 0) r
            WHERE rank <= $1
            ORDER BY i, j`,
          { bind: [SIMILARITY.topN], transaction: t },
        );
        const reverse = await sequelize.query<{ j: string }>(
          `INSERT INTO item_similarity (product_id, similar_id, score, co_users)
           SELECT j, i, score, co_users FROM similarity_batch WHERE score > 0 AND j <> ALL($1::text[]) ORDER BY j, i
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
          WHERE s.product_id = $1 AND ${RECOMMENDABLE} AND p.seller_id IS DISTINCT FROM $3
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
        `WITH seeds AS (SELECT product_id, weight FROM product_interactions WHERE user_id = $1 ORDER BY at DESC LIMIT 30)
         SELECT s.similar_id AS id
           FROM seeds JOIN item_similarity s ON s.product_id = seeds.product_id
           JOIN products p ON p.id = s.similar_id
          WHERE ${RECOMMENDABLE} AND p.seller_id <> $1
            AND s.similar_id NOT IN (SELECT product_id FROM seeds)
            AND NOT EXISTS (SELECT 1 FROM product_likes l WHERE l.user_id = $1 AND l.product_id = s.similar_id)
            AND NOT EXISTS (SELECT 1 FROM product_purchases b WHERE b.user_id = $1 AND b.product_id = s.similar_id)
          GROUP BY s.similar_id
          ORDER BY sum(s.score * seeds.weight) DESC, s.similar_id
          LIMIT $2`,
        { bind: [userId, limit], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.id);
    },

    /** The top-level categories of what the user interacted with lately, most frequent first. */
    async userCategories(userId: string): Promise<string[]> {
      const rows = await sequelize.query<{ id: string }>(
        `WITH seeds AS (SELECT product_id FROM product_interactions WHERE user_id = $1 ORDER BY at DESC LIMIT 50)
         SELECT top.id FROM seeds
           JOIN products p ON p.id = seeds.product_id
           JOIN categories c ON c.id = p.category_id
           JOIN categories top ON top.depth = 0 AND (c.path = top.path OR c.path LIKE top.path || '/%')
          GROUP BY top.id ORDER BY count(*) DESC, top.id LIMIT 3`,
        { bind: [userId], type: QueryTypes.SELECT },
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
