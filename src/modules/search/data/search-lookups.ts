import { QueryTypes, type Sequelize } from 'sequelize';

/** Reference data the search needs: category paths (for "this category and below"). */
export function createSearchLookups(sequelize: Sequelize) {
  return {
    async categoryPath(categoryId: string): Promise<string | null> {
      const [row] = await sequelize.query<{ path: string }>('SELECT path FROM categories WHERE id = $1', { bind: [categoryId], type: QueryTypes.SELECT });
      return row?.path ?? null;
    },
  };
}
export type SearchLookups = ReturnType<typeof createSearchLookups>;

/** How often each (normalised) query was searched, for suggestions. */
export function createPopularQueries(sequelize: Sequelize) {
  return {
    async count(query: string): Promise<void> {
      await sequelize.query(
        `INSERT INTO search_queries (query, searches, last_at) VALUES ($1, 1, now())
         ON CONFLICT (query) DO UPDATE SET searches = search_queries.searches + 1, last_at = now()`,
        { bind: [query] },
      );
    },

    /** The most searched queries starting with `prefix` (already normalised). */
    async startingWith(prefix: string, limit: number): Promise<string[]> {
      const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
      const rows = await sequelize.query<{ query: string }>(
        'SELECT query FROM search_queries WHERE query LIKE $1 ORDER BY searches DESC, query LIMIT $2',
        { bind: [`${escaped}%`, limit], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.query);
    },
  };
}
export type PopularQueries = ReturnType<typeof createPopularQueries>;
