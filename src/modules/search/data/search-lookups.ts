import { createHash } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';

type CategoryRef = { path: string; leaf: boolean };

/** Reference data the search needs: category paths (for "this category and below"). */
export function createSearchLookups(sequelize: Sequelize) {
  // Nearly every feed request names a category, and a cached feed does no other database work:
  // the tree (~130 rows) is kept in process for a few seconds, like the category tree's own copy,
  // and dropped at once on the categories_changed notice (invalidate).
  let tree: { until: number; byId: Promise<Map<string, CategoryRef>> } | null = null;
  const load = async () => {
    const rows = await sequelize.query<CategoryRef & { id: string }>(
      'SELECT c.id, c.path, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) AS leaf FROM categories c',
      { type: QueryTypes.SELECT },
    );
    return new Map(rows.map((r) => [r.id, { path: r.path, leaf: r.leaf }]));
  };
  return {
    /** The category's path, and whether it is a leaf (then the index matches one path exactly). */
    async category(categoryId: string): Promise<CategoryRef | null> {
      if (!tree || tree.until < Date.now()) {
        const current = { until: Date.now() + 5_000, byId: load() };
        tree = current;
        current.byId.catch(() => {
          if (tree === current) tree = null;
        });
      }
      return (await tree.byId).get(categoryId) ?? null;
    },

    invalidate(): void {
      tree = null;
    },
  };
}
export type SearchLookups = ReturnType<typeof createSearchLookups>;

/** A query is suggested to everyone only once this many different users have searched it. */
export const MIN_SEARCHERS = 3;

/** How often each (normalised) query was searched, and by how many users, for suggestions. */
export function createPopularQueries(sequelize: Sequelize) {
  return {
    /**
     * A search of `query` by `userId` that found something, on the Korean calendar day `day`
     * (YYYY-MM-DD): counts the user among its searchers once for good, and one more search once per
     * user and day. Both are decided by the user's row in search_query_searchers (its primary key
     * and the day it last counted), so parallel requests, a cleared history or one trimmed past
     * its 50 entries count nothing twice: the day used to be kept in the history document, and a
     * user clearing it between searches pushed a query up the suggestions alone.
     */
    async count(query: string, userId: string, day: string): Promise<void> {
      const searcher = createHash('sha256').update(`search-query-searcher\n${userId}`).digest('base64url');
      await sequelize.query(
        `WITH counted AS (
           INSERT INTO search_query_searchers (query, searcher, counted_on) VALUES ($1::text, $2::text, $3::date)
           ON CONFLICT (query, searcher) DO UPDATE SET counted_on = EXCLUDED.counted_on
             WHERE search_query_searchers.counted_on IS DISTINCT FROM EXCLUDED.counted_on
           RETURNING xmax = 0 AS fresh
         )
         INSERT INTO search_queries (query, searches, searchers, last_at)
         SELECT $1::text, 1, CASE WHEN fresh THEN 1 ELSE 0 END, now() FROM counted
         ON CONFLICT (query) DO UPDATE SET searches = search_queries.searches + 1,
           searchers = search_queries.searchers + EXCLUDED.searchers, last_at = now()`,
        { bind: [query, searcher, day] },
      );
    },

    /** The most searched queries starting with `prefix` (already normalised) that enough users searched. */
    async startingWith(prefix: string, limit: number): Promise<string[]> {
      const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
      const rows = await sequelize.query<{ query: string }>(
        'SELECT query FROM search_queries WHERE query LIKE $1 AND searchers >= $3 ORDER BY searches DESC, query LIMIT $2',
        { bind: [`${escaped}%`, limit, MIN_SEARCHERS], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.query);
    },
  };
}
export type PopularQueries = ReturnType<typeof createPopularQueries>;
