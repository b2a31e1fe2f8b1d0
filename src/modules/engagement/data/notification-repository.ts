import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export type NotificationKind = 'keyword_alert' | 'listing_review';

export interface Notification {
  id: string;
  kind: NotificationKind;
  productId: string | null;
  /** keyword_alert: keyword, alert_id, title, price; listing_review: title, decision. */
  data: { keyword?: string; alert_id?: string; title?: string; price?: number; decision?: 'approved' | 'removed' };
  createdAt: Date;
  createdAtMicros: string;
  readAt: Date | null;
}

interface Row {
  id: string;
  kind: NotificationKind;
  product_id: string | null;
  data: Notification['data'];
  created_at: Date;
  at: string;
  read_at: Date | null;
}

const COLUMNS = `id, kind, product_id, data, created_at, read_at, (extract(epoch FROM created_at) * 1000000)::bigint::text AS at`;
const toNotification = (r: Row): Notification => ({ id: r.id, kind: r.kind, productId: r.product_id, data: r.data, createdAt: r.created_at, createdAtMicros: r.at, readAt: r.read_at });

/** The in-app inbox (the delivery target until a push provider exists). */
export function createNotificationRepository(sequelize: Sequelize) {
  return {
    /** Stores the notification unless one with the same dedup key exists; true when stored. */
    async insert(
      n: { id: string; userId: string; kind: NotificationKind; dedupKey: string; productId: string; data: Notification['data'] },
      transaction?: Transaction,
    ): Promise<boolean> {
      const rows = await sequelize.query(
        // A user's notifications must become visible in the order of their created_at, or one
        // committed late would sort behind a reader's cursor or under an `up_to` they already
        // sent, never shown. So each insert takes the user's lock, held until its transaction
        // commits (a subscriber's whole batch, or this statement alone), and only then reads the
        // clock: a later insert for the same user waits for the earlier one's commit and is
        // stamped after it. clock_timestamp(), not now(): now() is when the transaction began.
        // A keyword notification the retention prune deleted is remembered on its match
        // (notified_at): a job queued by a worker that did not know that is not delivered again.
        `WITH turn AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtextextended('notifications:' || $2, 0)))
         INSERT INTO notifications (id, user_id, kind, dedup_key, product_id, data, created_at)
         SELECT $1, $2, $3, $4, $5, $6::jsonb, clock_timestamp() FROM turn WHERE EXISTS (SELECT 1 FROM users WHERE id = $2)
            AND ($3 <> 'keyword_alert' OR NOT EXISTS (
                  SELECT 1 FROM keyword_alert_matches m WHERE m.product_id = $5 AND m.user_id = $2 AND m.notified_at IS NOT NULL))
         ON CONFLICT (user_id, dedup_key) DO NOTHING RETURNING 1`,
        { bind: [n.id, n.userId, n.kind, n.dedupKey, n.productId, JSON.stringify(n.data)], type: QueryTypes.SELECT, transaction },
      );
      return rows.length > 0;
    },

    /** Newest first, strictly after `after`, only unread ones when `unreadOnly`; `limit + 1` rows. */
    async page(userId: string, limit: number, after?: { atMicros: string; id: string }, unreadOnly = false): Promise<Notification[]> {
      const rows = await sequelize.query<Row>(
        `SELECT ${COLUMNS}
           FROM notifications
          WHERE user_id = $1
            ${unreadOnly ? 'AND read_at IS NULL' : ''}
            ${after ? `AND (created_at, id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4)` : ''}
          ORDER BY created_at DESC, id DESC
          LIMIT $2`,
        { bind: after ? [userId, limit + 1, after.atMicros, after.id] : [userId, limit + 1], type: QueryTypes.SELECT },
      );
      return rows.map(toNotification);
    },

    /** Marks one of the user's notifications read (keeping when it was first read) or unread; null when it is not theirs. */
    async setRead(userId: string, id: string, read: boolean, transaction?: Transaction): Promise<Notification | null> {
      const [row] = await sequelize.query<Row>(
        `UPDATE notifications SET read_at = CASE WHEN $3 THEN coalesce(read_at, now()) END
          WHERE user_id = $1 AND id = $2
          RETURNING ${COLUMNS}`,
        { bind: [userId, id, read], type: QueryTypes.SELECT, transaction },
      );
      return row ? toNotification(row) : null;
    },

    /**
     * Marks read every unread notification of the user, or only `upTo` and older ones (the list's
     * order); the number marked, or null when `upTo` is not one of theirs.
     */
    async markRead(userId: string, upTo: string | undefined, transaction?: Transaction): Promise<number | null> {
      if (upTo !== undefined) {
        const [found] = await sequelize.query(`SELECT 1 FROM notifications WHERE user_id = $1 AND id = $2`, { bind: [userId, upTo], type: QueryTypes.SELECT, transaction });
        if (!found) return null;
      }
      // Counted in the database: a backlog of unread notifications is not sent back row by row.
      const [row] = await sequelize.query<{ n: number }>(
        `WITH marked AS (
           UPDATE notifications n SET read_at = now()
            WHERE n.user_id = $1 AND n.read_at IS NULL
              ${upTo !== undefined ? `AND (n.created_at, n.id) <= (SELECT created_at, id FROM notifications WHERE user_id = $1 AND id = $2)` : ''}
            RETURNING 1)
         SELECT count(*)::int AS n FROM marked`,
        { bind: upTo !== undefined ? [userId, upTo] : [userId], type: QueryTypes.SELECT, transaction },
      );
      return row?.n ?? 0;
    },
  };
}
export type NotificationRepository = ReturnType<typeof createNotificationRepository>;
