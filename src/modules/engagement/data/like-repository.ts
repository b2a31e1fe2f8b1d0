import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { LISTED } from './listing-reader';

/** 찜 rows and the like count they keep on products. */
export function createLikeRepository(sequelize: Sequelize) {
  return {
    /** True when the like is new. */
    async insert(userId: string, productId: string, transaction: Transaction): Promise<boolean> {
      const rows = await sequelize.query('INSERT INTO product_likes (user_id, product_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1', {
        bind: [userId, productId],
        type: QueryTypes.SELECT,
        transaction,
      });
      return rows.length > 0;
    },

    /** True when there was a like to remove. */
    async remove(userId: string, productId: string, transaction: Transaction): Promise<boolean> {
      const rows = await sequelize.query('DELETE FROM product_likes WHERE user_id = $1 AND product_id = $2 RETURNING 1', {
        bind: [userId, productId],
        type: QueryTypes.SELECT,
        transaction,
      });
      return rows.length > 0;
    },

    async exists(userId: string, productId: string, transaction?: Transaction): Promise<boolean> {
      const rows = await sequelize.query('SELECT 1 FROM product_likes WHERE user_id = $1 AND product_id = $2', { bind: [userId, productId], type: QueryTypes.SELECT, transaction });
      return rows.length > 0;
    },

    /** Moves products.like_count by `delta` (the caller holds the row lock) and returns the new count. */
    async adjustCount(productId: string, delta: 1 | -1, transaction: Transaction): Promise<number> {
      const [row] = await sequelize.query<{ like_count: number }>('UPDATE products SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count', {
        bind: [productId, delta],
        type: QueryTypes.SELECT,
        transaction,
      });
      return row!.like_count;
    },

    async count(productId: string, transaction?: Transaction): Promise<number> {
      const [row] = await sequelize.query<{ like_count: number }>('SELECT like_count FROM products WHERE id = $1', { bind: [productId], type: QueryTypes.SELECT, transaction });
      return row?.like_count ?? 0;
    },

    /** The user's liked listings still listed, newest like first, strictly after `after`; `limit + 1` rows. */
    async page(userId: string, limit: number, after?: { atMicros: string; id: string }): Promise<{ productId: string; likedAtMicros: string }[]> {
      const rows = await sequelize.query<{ product_id: string; at: string }>(
        `SELECT l.product_id, (extract(epoch FROM l.created_at) * 1000000)::bigint::text AS at
           FROM product_likes l JOIN products p ON p.id = l.product_id
          WHERE l.user_id = $1 AND ${LISTED}
            ${after ? `AND (l.created_at, l.product_id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4)` : ''}
          ORDER BY l.created_at DESC, l.product_id DESC
          LIMIT $2`,
        { bind: after ? [userId, limit + 1, after.atMicros, after.id] : [userId, limit + 1], type: QueryTypes.SELECT },
      );
      return rows.map((r) => ({ productId: r.product_id, likedAtMicros: r.at }));
    },
  };
}
export type LikeRepository = ReturnType<typeof createLikeRepository>;

/**
 * Marks items whose interactions changed, for the next similarity run (call after taking the
 * product's row lock). An item a running recompute has claimed is marked again (claim cleared),
 * so that recompute leaves it on the list: it may have read the interactions before this one.
 */
export async function markDirty(sequelize: Sequelize, productIds: string[], transaction: Transaction): Promise<void> {
  if (productIds.length === 0) return;
  await sequelize.query(
    `INSERT INTO similarity_dirty_items (product_id) SELECT DISTINCT unnest($1::text[]) ORDER BY 1
     ON CONFLICT (product_id) DO UPDATE SET marked_at = now(), claimed_at = NULL WHERE similarity_dirty_items.claimed_at IS NOT NULL`,
    { bind: [productIds], transaction },
  );
}
