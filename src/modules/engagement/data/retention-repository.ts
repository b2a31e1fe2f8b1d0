import { QueryTypes, type Sequelize } from 'sequelize';
import { deleteInSlices } from '../../../platform/db/prune';
import { markDirty } from './like-repository';

/**
 * A listing that can never be announced again: `sold` is final (no move leaves it) and a delete
 * is never undone. Hidden and reserved listings can go back on sale and be bumped, so they are
 * not ended, however long they have been so.
 */
const LISTING_ENDED = `(p.deleted_at IS NOT NULL OR p.status = 'sold')`;

/**
 * One slice of the inbox prune. The inbox row of a keyword notification is what stops a bump from
 * announcing the listing to the user again (recordMatches), so deleting it hands that guard to the
 * (listing, user) match row, `notified_at`, in the same statement: no reader ever sees neither.
 * Not for ended listings, whose matches the match prune deletes. SKIP LOCKED: a user marking
 * their notifications read keeps their rows, and the prune never waits on them (nor deadlocks
 * with a mark-all taking them in another order); they go in the next run. Exported for the
 * EXPLAIN proof in the tests.
 */
export const PRUNE_NOTIFICATIONS_SLICE_SQL = `
  WITH due AS (
    SELECT id FROM notifications
     WHERE created_at < now() - make_interval(days => $1)
     LIMIT $2
     FOR UPDATE SKIP LOCKED),
  gone AS (
    DELETE FROM notifications n USING due WHERE n.id = due.id
    RETURNING n.user_id, n.kind, n.product_id, n.data, n.created_at),
  guarded AS (
    INSERT INTO keyword_alert_matches AS m (product_id, user_id, alert_id, matched_at, notified_at)
    SELECT g.product_id, g.user_id, coalesce(g.data ->> 'alert_id', ''), g.created_at, g.created_at
      FROM gone g JOIN products p ON p.id = g.product_id
     WHERE g.kind = 'keyword_alert' AND NOT ${LISTING_ENDED}
     ORDER BY g.product_id, g.user_id
    ON CONFLICT (product_id, user_id) DO UPDATE SET notified_at = coalesce(m.notified_at, excluded.notified_at))
  SELECT count(*)::int AS n FROM gone`;

/**
 * One step of the match prune: the next `$3` match rows in primary-key order after ($1, $2), and
 * the deletion of those whose listing has ended. Walked by the key, so each step is one bounded
 * index range and the walk ends however few rows it deletes. Exported for the EXPLAIN proof in
 * the tests.
 */
export const PRUNE_MATCHES_STEP_SQL = `
  WITH step AS MATERIALIZED (
    SELECT product_id, user_id FROM keyword_alert_matches
     WHERE (product_id, user_id) > ($1, $2)
     ORDER BY product_id, user_id
     LIMIT $3),
  gone AS (
    DELETE FROM keyword_alert_matches m USING step s, products p
     WHERE m.product_id = s.product_id AND m.user_id = s.user_id AND p.id = s.product_id AND ${LISTING_ENDED}
    RETURNING 1),
  last AS (SELECT product_id, user_id FROM step ORDER BY product_id DESC, user_id DESC LIMIT 1)
  SELECT (SELECT count(*) FROM step)::int AS walked, (SELECT count(*) FROM gone)::int AS deleted, last.product_id, last.user_id
    FROM (SELECT 1) one LEFT JOIN last ON true`;

/**
 * One slice of the view prune: the oldest views older than $1 days (migration 0038's index),
 * deleted; the listings they were of, for a recompute of their neighbours. The norms follow the
 * delete (item_norms_follow, as for an unlike).
 */
export const PRUNE_VIEWS_SLICE_SQL = `
  DELETE FROM product_views v
   USING (SELECT user_id, product_id FROM product_views WHERE viewed_on < current_date - $1::int ORDER BY viewed_on LIMIT $2) old
   WHERE v.user_id = old.user_id AND v.product_id = old.product_id
  RETURNING v.product_id`;

/** Retention of the inbox (notifications), of the keyword-match ledger (docs/keyword-alerts.md, "Retention") and of views (docs/recommendations.md). */
export function createRetentionRepository(sequelize: Sequelize) {
  return {
    /**
     * Deletes the views last made more than `olderThanDays` days ago, in slices, each with the
     * marking of its listings for a recompute (so no neighbour list keeps resting on them); how many.
     */
    pruneViews(olderThanDays: number, { slice = 5000, signal }: { slice?: number; signal?: AbortSignal } = {}): Promise<number> {
      return deleteInSlices(
        (limit) =>
          sequelize.transaction(async (transaction) => {
            const rows = await sequelize.query<{ product_id: string }>(PRUNE_VIEWS_SLICE_SQL, { bind: [olderThanDays, limit], type: QueryTypes.SELECT, transaction });
            await markDirty(sequelize, rows.map((r) => r.product_id), transaction);
            return rows.length;
          }),
        slice,
        signal,
      );
    },

    /** Deletes notifications more than `olderThanDays` old, read or not, in slices; how many. */
    pruneNotifications(olderThanDays: number, { slice = 5000, signal }: { slice?: number; signal?: AbortSignal } = {}): Promise<number> {
      return deleteInSlices(
        async (limit) => {
          const [row] = await sequelize.query<{ n: number }>(PRUNE_NOTIFICATIONS_SLICE_SQL, { bind: [olderThanDays, limit], type: QueryTypes.SELECT });
          return row!.n;
        },
        slice,
        signal,
      );
    },

    /**
     * Deletes the keyword matches of ended listings (sold or deleted), walking the table `step`
     * rows at a time (stopping between steps once `signal` is aborted); how many. A match of a
     * listing that may still be bumped is kept whatever its age: after the inbox prune it is all
     * that stops a second notification.
     */
    async pruneMatchesOfEndedListings({ step = 5000, signal }: { step?: number; signal?: AbortSignal } = {}): Promise<number> {
      let after = { productId: '', userId: '' };
      let deleted = 0;
      for (;;) {
        const [row] = await sequelize.query<{ walked: number; deleted: number; product_id: string | null; user_id: string | null }>(PRUNE_MATCHES_STEP_SQL, {
          bind: [after.productId, after.userId, step],
          type: QueryTypes.SELECT,
        });
        deleted += row!.deleted;
        if (row!.walked < step || signal?.aborted) return deleted;
        after = { productId: row!.product_id!, userId: row!.user_id! };
      }
    },
  };
}
export type RetentionRepository = ReturnType<typeof createRetentionRepository>;
