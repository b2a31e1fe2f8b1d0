import { QueryTypes, type Sequelize } from 'sequelize';
import { deleteOlderThan } from '../../../platform/db/prune';
import type { ViewBatch } from './view-store';
import { markDirty } from './like-repository';

/** Applies view batches to PostgreSQL exactly once, whatever happens to the job between steps. */
export function createViewFlushRepository(sequelize: Sequelize) {
  return {
    /**
     * Adds the batch's views to products.view_count and records its co-views, in one
     * transaction with the batch's ledger row; false when the batch was applied before (a retry
     * after a crash between commit and dropping the batch from Redis).
     */
    async apply(batch: ViewBatch): Promise<boolean> {
      return sequelize.transaction(async (t) => {
        const fresh = await sequelize.query('INSERT INTO view_count_flushes (batch_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1', {
          bind: [batch.id],
          type: QueryTypes.SELECT,
          transaction: t,
        });
        if (fresh.length === 0) return false;
        const ids = [...batch.counts.keys()].sort();
        if (ids.length) {
          // Row locks in id order first (an UPDATE ... FROM locks in join order), and before any
          // similarity_dirty_items row, the order likes take them in: no deadlock with either.
          await sequelize.query('SELECT 1 FROM products WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE', { bind: [ids], transaction: t });
          await sequelize.query(
            `UPDATE products p SET view_count = p.view_count + c.n
               FROM unnest($1::text[], $2::int[]) AS c(id, n)
              WHERE p.id = c.id`,
            { bind: [ids, ids.map((id) => batch.counts.get(id)!)], transaction: t },
          );
        }
        if (batch.coviews.length) {
          // Views of listings deleted from the table meanwhile (never, in practice) are skipped by the join.
          const written = await sequelize.query<{ product_id: string }>(
            `INSERT INTO product_views (user_id, product_id, viewed_on)
             SELECT v.user_id, v.product_id, (now() AT TIME ZONE 'Asia/Seoul')::date
               FROM unnest($1::text[], $2::text[]) AS v(user_id, product_id)
               JOIN products p ON p.id = v.product_id
               JOIN users u ON u.id = v.user_id
              ORDER BY v.user_id, v.product_id
             ON CONFLICT (user_id, product_id) DO UPDATE SET viewed_on = excluded.viewed_on
             RETURNING product_id`,
            { bind: [batch.coviews.map((c) => c.userId), batch.coviews.map((c) => c.productId)], type: QueryTypes.SELECT, transaction: t },
          );
          await markDirty(sequelize, written.map((w) => w.product_id), t);
        }
        return true;
      });
    },

    /** The ledger only needs to outlive a crashed batch's retry; the number of rows deleted. */
    async pruneLedger(olderThanDays: number): Promise<number> {
      return deleteOlderThan(sequelize, 'view_count_flushes', 'applied_at', olderThanDays);
    },
  };
}
export type ViewFlushRepository = ReturnType<typeof createViewFlushRepository>;
