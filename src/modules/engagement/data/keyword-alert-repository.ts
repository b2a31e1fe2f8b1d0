import { QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { accountInForce } from '../../users/data/account-in-force';
import type { KeywordMatch } from '../domain/keyword-alerts';

export interface KeywordAlert {
  id: string;
  userId: string;
  keyword: string;
  categoryId: string | null;
  dongCode: string | null;
  createdAt: Date;
}

interface AlertRow {
  id: string;
  user_id: string;
  keyword: string;
  category_id: string | null;
  dong_code: string | null;
  created_at: Date;
}

const toAlert = (r: AlertRow): KeywordAlert => ({ id: r.id, userId: r.user_id, keyword: r.keyword, categoryId: r.category_id, dongCode: r.dong_code, createdAt: r.created_at });

/** A listing as matching needs it: current state, its category and its ancestors, the dongs around it. */
export interface MatchableListing {
  id: string;
  sellerId: string;
  title: string;
  price: number;
  categoryIds: string[];
  nearbyDongCodes: string[];
}

/** Radius around a listing's dong within which a neighbourhood-scoped alert matches (a "medium" neighbourhood). */
export const ALERT_RADIUS_METERS = 3_000;

export class DuplicateKeywordAlert extends Error {}

/**
 * The candidate lookup: the alerts anchored at one of the title's grams (B-tree probes of
 * keyword_alerts_anchor, never a scan of all alerts) whose grams all occur in the title, narrowed
 * by scope, minus the seller and users who switched keyword notifications off; $5, when set, only
 * that user's. An alert is anchored at its rarest gram (keywordAnchor), so the rows read beyond
 * the matches are the few alerts whose rarest gram is in the title but another is not. Exported
 * for the EXPLAIN proof in the tests.
 */
export const CANDIDATES_SQL = `
  SELECT a.id, a.user_id, a.keyword
    FROM keyword_alerts a
    JOIN users u ON u.id = a.user_id
   WHERE a.anchor = ANY($1::text[])
     AND a.grams <@ $1::text[]
     AND a.user_id <> $2
     AND (a.category_id IS NULL OR a.category_id = ANY($3::text[]))
     AND (a.dong_code IS NULL OR a.dong_code = ANY($4::text[]))
     AND ${accountInForce('u')}
     AND coalesce((u.notification_prefs ->> 'keyword_alerts')::boolean, true)
     AND ($5::text IS NULL OR a.user_id = $5::text)`;

/**
 * The share of listing titles holding each of these grams, for those common enough to be among
 * the most common elements of the statistics `keyword_title_grams` on products (migration 0029;
 * autovacuum's ANALYZE keeps them current at no cost to writes). A gram not among them is rarer
 * than every one that is; none are before the first ANALYZE, or for a role not owning products.
 */
export const GRAM_FREQUENCIES_SQL = `
  SELECT e.gram, e.share
    FROM pg_stats_ext_exprs s,
         unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(gram, share)
   WHERE s.tablename = 'products' AND s.statistics_name = 'keyword_title_grams'
     AND e.gram = ANY($1::text[])`;

export function createKeywordAlertRepository(sequelize: Sequelize) {
  return {
    async list(userId: string): Promise<KeywordAlert[]> {
      const rows = await sequelize.query<AlertRow>(
        'SELECT id, user_id, keyword, category_id, dong_code, created_at FROM keyword_alerts WHERE user_id = $1 ORDER BY created_at DESC, id DESC',
        { bind: [userId], type: QueryTypes.SELECT },
      );
      return rows.map(toAlert);
    },

    /** Serialises one user's alert changes, so the limit holds under concurrent creates. */
    async lockUser(userId: string, transaction: Transaction): Promise<void> {
      await sequelize.query("SELECT pg_advisory_xact_lock(hashtextextended('keyword_alerts:' || $1, 0))", { bind: [userId], transaction });
    },

    async count(userId: string, transaction: Transaction): Promise<number> {
      const [row] = await sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM keyword_alerts WHERE user_id = $1', { bind: [userId], type: QueryTypes.SELECT, transaction });
      return row!.n;
    },

    async categoryExists(id: string): Promise<boolean> {
      return (await sequelize.query('SELECT 1 FROM categories WHERE id = $1', { bind: [id], type: QueryTypes.SELECT })).length > 0;
    },

    async dongExists(code: string): Promise<boolean> {
      return (await sequelize.query('SELECT 1 FROM dongs WHERE code = $1', { bind: [code], type: QueryTypes.SELECT })).length > 0;
    },

    /** How common each gram is in listing titles (GRAM_FREQUENCIES_SQL), what an alert is anchored by. */
    async gramFrequencies(grams: string[]): Promise<Map<string, number>> {
      const rows = await sequelize.query<{ gram: string; share: number }>(GRAM_FREQUENCIES_SQL, { bind: [grams], type: QueryTypes.SELECT });
      return new Map(rows.map((r) => [r.gram, r.share]));
    },

    /** Throws DuplicateKeywordAlert when the user has this keyword with the same scope. */
    async insert(a: Omit<KeywordAlert, 'createdAt'> & { grams: string[]; anchor: string }, transaction: Transaction): Promise<KeywordAlert> {
      try {
        const [row] = await sequelize.query<AlertRow>(
          `INSERT INTO keyword_alerts (id, user_id, keyword, grams, anchor, category_id, dong_code) VALUES ($1, $2, $3, $4, $7, $5, $6)
           RETURNING id, user_id, keyword, category_id, dong_code, created_at`,
          { bind: [a.id, a.userId, a.keyword, a.grams, a.categoryId, a.dongCode, a.anchor], type: QueryTypes.SELECT, transaction },
        );
        return toAlert(row!);
      } catch (err) {
        if (err instanceof UniqueConstraintError) throw new DuplicateKeywordAlert();
        throw err;
      }
    },

    async remove(userId: string, id: string): Promise<boolean> {
      const rows = await sequelize.query('DELETE FROM keyword_alerts WHERE id = $1 AND user_id = $2 RETURNING 1', { bind: [id, userId], type: QueryTypes.SELECT });
      return rows.length > 0;
    },

    /** The listing if it is worth notifying about now (for sale, public, not under review, its seller neither banned nor suspended), else null. */
    async matchable(productId: string, transaction?: Transaction): Promise<MatchableListing | null> {
      const [row] = await sequelize.query<{ id: string; seller_id: string; title: string; price: number; category_ids: string[]; dong_codes: string[] }>(
        `SELECT p.id, p.seller_id, p.title, p.price,
                ARRAY(SELECT a.id FROM categories c JOIN categories a ON c.path = a.path OR c.path LIKE a.path || '/%' WHERE c.id = p.category_id) AS category_ids,
                ARRAY(SELECT d.code FROM dongs c JOIN dongs d ON earth_box(ll_to_earth(c.lat, c.lng), $2) @> ll_to_earth(d.lat, d.lng)
                       WHERE c.code = p.dong_code AND earth_distance(ll_to_earth(c.lat, c.lng), ll_to_earth(d.lat, d.lng)) <= $2) AS dong_codes
           FROM products p JOIN users s ON s.id = p.seller_id
          WHERE p.id = $1 AND p.deleted_at IS NULL AND p.status = 'on_sale' AND p.moderation = 'ok' AND ${accountInForce('s')}`,
        { bind: [productId, ALERT_RADIUS_METERS], type: QueryTypes.SELECT, transaction },
      );
      return row ? { id: row.id, sellerId: row.seller_id, title: row.title, price: row.price, categoryIds: row.category_ids, nearbyDongCodes: row.dong_codes } : null;
    },

    async candidates(titleGrams: string[], listing: MatchableListing, transaction?: Transaction, onlyUser?: string): Promise<{ id: string; userId: string; keyword: string }[]> {
      const rows = await sequelize.query<{ id: string; user_id: string; keyword: string }>(CANDIDATES_SQL, {
        bind: [titleGrams, listing.sellerId, listing.categoryIds, listing.nearbyDongCodes, onlyUser ?? null],
        type: QueryTypes.SELECT,
        transaction,
      });
      return rows.map((r) => ({ id: r.id, userId: r.user_id, keyword: r.keyword }));
    },

    /**
     * Records the matches (one per listing and user, ever) and returns those still to deliver:
     * every given match whose notification (`dedupKey`) the user does not have yet, nor had
     * before the inbox prune deleted it (the match's `notified_at`, set by that prune). So a match
     * that could not be delivered (the listing was flagged, sold or hidden by then) is delivered
     * on the listing's next match (its approval, its next bump), and a delivered one never again.
     * Such a match's `matched_at` moves to now, so that the hourly redelivery (undelivered) looks
     * at it again should this delivery be lost too.
     */
    async recordMatches(productId: string, matches: { userId: string; alertId: string }[], dedupKey: string, transaction: Transaction): Promise<{ userId: string; alertId: string }[]> {
      if (matches.length === 0) return [];
      const rows = await sequelize.query<{ user_id: string; alert_id: string }>(
        `WITH given AS (SELECT * FROM unnest($2::text[], $3::text[]) AS m(user_id, alert_id)),
              recorded AS (
                INSERT INTO keyword_alert_matches AS m (product_id, user_id, alert_id)
                SELECT $1, user_id, alert_id FROM given ORDER BY user_id
                ON CONFLICT (product_id, user_id) DO UPDATE SET matched_at = now()
                  WHERE m.notified_at IS NULL
                    AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = m.user_id AND n.dedup_key = $4))
         SELECT g.user_id, g.alert_id FROM given g
          WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = g.user_id AND n.dedup_key = $4)
            AND NOT EXISTS (SELECT 1 FROM keyword_alert_matches m WHERE m.product_id = $1 AND m.user_id = g.user_id AND m.notified_at IS NOT NULL)
          ORDER BY g.user_id`,
        { bind: [productId, matches.map((m) => m.userId), matches.map((m) => m.alertId), dedupKey], type: QueryTypes.SELECT, transaction },
      );
      return rows.map((r) => ({ userId: r.user_id, alertId: r.alert_id }));
    },

    /**
     * Matches recorded between `maxAgeSeconds` and `minAgeSeconds` ago that have no notification:
     * their delivery job failed for good (the database or Redis down through its retries) or was
     * lost. Only those that could still be delivered: the listing on sale, public and not under
     * review, its seller and the user in force, keyword notifications on and the matched alert
     * still there (the delivery checks everything again), so that one the delivery refuses is not
     * queued every hour for a day. Oldest first (migration 0037's index); a match not yet
     * delivered is dated by its latest matching (recordMatches).
     */
    async undelivered(minAgeSeconds: number, maxAgeSeconds: number, limit: number): Promise<KeywordMatch[]> {
      const rows = await sequelize.query<{ product_id: string; user_id: string; alert_id: string; keyword: string; title: string; price: number }>(
        `SELECT m.product_id, m.user_id, m.alert_id, a.keyword, p.title, p.price
           FROM keyword_alert_matches m
           JOIN products p ON p.id = m.product_id
           JOIN users s ON s.id = p.seller_id
           JOIN users u ON u.id = m.user_id
           JOIN keyword_alerts a ON a.id = m.alert_id
          WHERE m.matched_at >= now() - make_interval(secs => $2) AND m.matched_at <= now() - make_interval(secs => $1)
            AND m.notified_at IS NULL
            AND p.deleted_at IS NULL AND p.status = 'on_sale' AND p.moderation = 'ok' AND ${accountInForce('s')}
            AND ${accountInForce('u')} AND coalesce((u.notification_prefs ->> 'keyword_alerts')::boolean, true)
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = m.user_id AND n.dedup_key = 'keyword_alert:' || m.product_id)
          ORDER BY m.matched_at LIMIT $3`,
        { bind: [minAgeSeconds, maxAgeSeconds, limit], type: QueryTypes.SELECT },
      );
      return rows.map((r) => ({ productId: r.product_id, userId: r.user_id, alertId: r.alert_id, keyword: r.keyword, title: r.title, price: r.price }));
    },
  };
}
export type KeywordAlertRepository = ReturnType<typeof createKeywordAlertRepository>;
