import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { ListingState, ListingSummary } from '../domain/listing';
import { accountInForce } from '../../users/data/account-in-force';

interface SummaryRow {
  id: string;
  seller_id: string;
  title: string;
  price: number;
  status: ListingSummary['status'];
  condition: ListingSummary['condition'];
  category_id: string;
  dong_code: string;
  dong_name: string;
  lat: number;
  lng: number;
  like_count: number;
  view_count: number;
  chat_count: number;
  thumb_key: string | null;
  bumped_at: Date;
  created_at: Date;
}

const toSummary = (r: SummaryRow, mediaUrl?: (key: string) => string): ListingSummary => ({
  id: r.id,
  sellerId: r.seller_id,
  title: r.title,
  price: r.price,
  status: r.status,
  condition: r.condition,
  categoryId: r.category_id,
  dongCode: r.dong_code,
  dongName: r.dong_name,
  lat: r.lat,
  lng: r.lng,
  likeCount: r.like_count,
  viewCount: r.view_count,
  chatCount: r.chat_count,
  thumbnailUrl: r.thumb_key && mediaUrl ? mediaUrl(r.thumb_key) : null,
  bumpedAt: r.bumped_at,
  createdAt: r.created_at,
});

/** What lists of listings show (as feeds and search do): not deleted, not hidden, not awaiting review. */
export const LISTED = `p.deleted_at IS NULL AND p.status <> 'hidden' AND p.moderation = 'ok'`;
/** What is worth recommending: still for sale (or reserved, may fall through), not under review. */
export const RECOMMENDABLE = `p.deleted_at IS NULL AND p.status IN ('on_sale', 'reserved') AND p.moderation = 'ok'`;
/**
 * The listing's seller may trade now: a banned or suspended seller's listings are not promoted
 * (recommendations, like keyword alerts). Checked when lists are read, not when neighbours are
 * stored, so a reinstated seller's listings come back at once.
 */
export const SELLER_IN_FORCE = `EXISTS (SELECT 1 FROM users seller WHERE seller.id = p.seller_id AND ${accountInForce('seller')})`;

/** Reads of the products table (owned by the listings component): states for the rules, summaries for lists. */
export function createListingReader(sequelize: Sequelize, mediaUrl?: (key: string) => string) {
  return {
    /** The listing's state, with its row locked against concurrent like-count changes when `lock`. */
    /**
     * `lock`: `true` takes the row for an update of its own (FOR NO KEY UPDATE); `'share'` only
     * keeps it from changing until the transaction ends (FOR SHARE: readers in parallel, writers wait).
     */
    async state(productId: string, transaction?: Transaction, lock: boolean | 'share' = false): Promise<ListingState | null> {
      const locking = lock === 'share' ? ' FOR SHARE' : lock ? ' FOR NO KEY UPDATE' : '';
      const [row] = await sequelize.query<{ id: string; seller_id: string; status: ListingState['status']; deleted: boolean; flagged: boolean }>(
        `SELECT id, seller_id, status, deleted_at IS NOT NULL AS deleted, moderation = 'flagged' AS flagged FROM products WHERE id = $1${locking}`,
        { bind: [productId], type: QueryTypes.SELECT, transaction },
      );
      return row ? { id: row.id, sellerId: row.seller_id, status: row.status, deleted: row.deleted, flagged: row.flagged } : null;
    },

    /**
     * Summaries of these listings, by id (missing ids are simply absent). Only listed ones unless
     * asked otherwise: a listing hidden or deleted since its id was picked is left out, not shown.
     */
    async summaries(ids: string[], { listedOnly = true } = {}): Promise<Map<string, ListingSummary>> {
      if (ids.length === 0) return new Map();
      const rows = await sequelize.query<SummaryRow>(
        `SELECT p.id, p.seller_id, p.title, p.price, p.status, p.condition, p.category_id, p.dong_code, d.name AS dong_name,
                round(p.lat::numeric, 3)::float8 AS lat, round(p.lng::numeric, 3)::float8 AS lng,
                p.like_count, p.view_count, p.chat_count, p.bumped_at, p.created_at,
                -- The photos component's first processed image.
                (SELECT i.thumb_key FROM product_images i WHERE i.product_id = p.id AND i.deleted_at IS NULL AND i.status = 'ready' ORDER BY i.position LIMIT 1) AS thumb_key
           FROM products p JOIN dongs d ON d.code = p.dong_code
          WHERE p.id = ANY($1::text[]) ${listedOnly ? `AND ${LISTED}` : ''}`,
        { bind: [ids], type: QueryTypes.SELECT },
      );
      return new Map(rows.map((r) => [r.id, toSummary(r, mediaUrl)]));
    },
  };
}
export type ListingReader = ReturnType<typeof createListingReader>;
