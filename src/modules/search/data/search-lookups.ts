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
     * A search of `query` by `userId` that found something: counts the user among its searchers
     * once for good (the primary key decides, so parallel requests count once), and one more
     * search when `newDay` (once per user and day).
     */
    async count(query: string, userId: string, newDay: boolean): Promise<void> {
      const searcher = createHash('sha256').update(`search-query-searcher\n${userId}`).digest('base64url');
      await sequelize.query(
        `WITH fresh AS (
           INSERT INTO search_query_searchers (query, searcher) VALUES ($1::text, $2::text) ON CONFLICT DO NOTHING RETURNING 1
         )
         INSERT INTO search_queries (query, searches, searchers, last_at)
         SELECT $1::text, $3::integer, (SELECT count(*) FROM fresh), now()
         WHERE $3::integer = 1 OR EXISTS (SELECT 1 FROM fresh)
         ON CONFLICT (query) DO UPDATE SET searches = search_queries.searches + $3::integer,
           searchers = search_queries.searchers + (SELECT count(*) FROM fresh), last_at = now()`,
        { bind: [query, searcher, newDay ? 1 : 0] },
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
