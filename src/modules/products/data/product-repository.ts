import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { selectPrepared } from '../../../platform/db/prepared';
import type { ListingFields, Product, ProductStatus, ProductView } from '../domain/product';
import { accountInForce } from '../../users/data/account-in-force';

interface ProductRow {
  id: string;
  seller_id: string;
  title: string;
  description: string;
  category_id: string;
  price: number;
  offers_allowed: boolean;
  condition: Product['condition'];
  trade_methods: Product['tradeMethods'];
  shipping_fee: number;
  dong_code: string;
  lat: number;
  lng: number;
  quantity: number;
  status: ProductStatus;
  buyer_id: string | null;
  moderation: Product['moderation'];
  moderation_cleared: string | null;
  like_count: number;
  view_count: number;
  chat_count: number;
  bumped_at: Date;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  version: number;
}

interface ViewRow extends ProductRow {
  category_name: string;
  category_path: string;
  dong_name: string;
  sigungu: string;
  nickname: string;
  identity_verified: boolean;
}

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  sellerId: r.seller_id,
  title: r.title,
  description: r.description,
  categoryId: r.category_id,
  price: r.price,
  offersAllowed: r.offers_allowed,
  condition: r.condition,
  tradeMethods: r.trade_methods,
  shippingFee: r.shipping_fee,
  dongCode: r.dong_code,
  lat: r.lat,
  lng: r.lng,
  quantity: r.quantity,
  status: r.status,
  buyerId: r.buyer_id,
  moderation: r.moderation,
  moderationCleared: r.moderation_cleared,
  likeCount: r.like_count,
  viewCount: r.view_count,
  chatCount: r.chat_count,
  bumpedAt: new Date(r.bumped_at),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
  deletedAt: r.deleted_at ? new Date(r.deleted_at) : null,
  version: r.version,
});

const toView = (r: ViewRow): ProductView => ({
  ...toProduct(r),
  category: { id: r.category_id, name: r.category_name, path: r.category_path },
  dong: { code: r.dong_code, name: r.dong_name, sigungu: r.sigungu },
  seller: { id: r.seller_id, nickname: r.nickname, identityVerified: r.identity_verified },
  images: [],
});

const VIEW_SELECT = `
  SELECT p.*, c.name AS category_name, c.path AS category_path, d.name AS dong_name, d.sigungu,
         u.nickname, u.identity_verified_at IS NOT NULL AS identity_verified
    FROM products p
    JOIN categories c ON c.id = p.category_id
    JOIN dongs d ON d.code = p.dong_code
    JOIN users u ON u.id = p.seller_id`;

export interface CategoryRef {
  id: string;
  name: string;
  path: string;
  leaf: boolean;
}

export interface DongPoint {
  code: string;
  lat: number;
  lng: number;
}

export interface NewProduct extends ListingFields {
  id: string;
  sellerId: string;
  dongCode: string;
  lat: number;
  lng: number;
  moderation: Product['moderation'];
}

/** Plain-object access to `products` (SQL: the reads join three tables and use pg_trgm). */
export function createProductRepository(sequelize: Sequelize) {
  const select = <T extends object>(sql: string, bind: unknown[], transaction?: Transaction) =>
    sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, ...(transaction ? { transaction } : {}) });

  return {
    async findCategory(id: string, transaction?: Transaction): Promise<CategoryRef | null> {
      const [row] = await select<CategoryRef>(
        `SELECT c.id, c.name, c.path, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) AS leaf FROM categories c WHERE c.id = $1`,
        [id],
        transaction,
      );
      return row ?? null;
    },

    async findDong(code: string, transaction?: Transaction): Promise<DongPoint | null> {
      const [row] = await select<DongPoint>('SELECT code, lat, lng FROM dongs WHERE code = $1', [code], transaction);
      return row ?? null;
    },

    async userExists(id: string, transaction?: Transaction): Promise<boolean> {
      const rows = await select<{ one: number }>('SELECT 1 AS one FROM users WHERE id = $1', [id], transaction);
      return rows.length > 0;
    },

    /** A user who may take part in a trade now: neither banned nor under a suspension (as sign-in decides). */
    async canTrade(id: string, transaction?: Transaction): Promise<boolean> {
      const rows = await select<{ one: number }>(
        `SELECT 1 AS one FROM users WHERE id = $1 AND ${accountInForce()}`,
        [id],
        transaction,
      );
      return rows.length > 0;
    },

    /** Serialises one seller's posting, so the daily limit and the duplicate check cannot be raced. */
    async lockSeller(sellerId: string, transaction: Transaction): Promise<void> {
      await sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended('products.seller:' || $1, 0))`, { bind: [sellerId], transaction });
    },

    /**
     * Seconds until the seller may post again under a limit of `limit` listings (deleted ones too)
     * in `hours` (0: now): until the `limit`-th newest of them leaves the window. By the database's
     * clock, which also set `created_at`: an API host whose clock runs ahead must not shorten the window.
     */
    async secondsUntilListingSlot(sellerId: string, limit: number, hours: number, transaction: Transaction): Promise<number> {
      const [row] = await select<{ wait: number }>(
        `SELECT greatest(1, ceil(extract(epoch FROM created_at + make_interval(hours => $3) - now())))::int AS wait
           FROM products
          WHERE seller_id = $1 AND created_at > now() - make_interval(hours => $3)
          ORDER BY created_at DESC
         OFFSET $2::int - 1 LIMIT 1`,
        [sellerId, limit, hours],
        transaction,
      );
      return row?.wait ?? 0;
    },

    /**
     * A listing of the seller with the same title and a description equal or at least `threshold`
     * similar, both compared as listing_duplicate_text() makes them (the one definition, in SQL,
     * for the stored and the new text): one posted or bumped in the last `hours`, live (a copy of a
     * listing just bumped would be a second one at the top of every feed) or deleted (reposting it
     * would be a second bump within the day).
     * Titles are compared without their spaces too (`아이폰14 프로` is `아이폰 14 프로`): how a
     * seller spaces a model number is no new listing.
     * For a change of a listing (`self`: its id), the listing itself does not count. For an edit, nor
     * does a deleted one last bumped after it: giving an older listing the text moves nothing up. A
     * deleted one bumped before it does (post a placeholder, delete the original, edit the
     * placeholder into it: a repost by two steps). A bump (`self.bumping`) moves the listing to the
     * top, so every deleted copy in the window counts: post a copy, delete it, bump the original,
     * and the text would have been at the top twice within minutes. The window is the database's
     * clock, as `created_at` is.
     */
    async findDuplicate(
      sellerId: string,
      text: { title: string; description: string },
      hours: number,
      threshold: number,
      self: { id: string; bumping: boolean } | null,
      transaction: Transaction,
    ): Promise<{ id: string; deleted: boolean } | null> {
      const [row] = await select<{ id: string; deleted: boolean }>(
        `WITH new AS (SELECT replace(listing_duplicate_text($2), ' ', '') AS title, listing_duplicate_text($3) AS description),
         mine AS (
           SELECT p.id, p.deleted_at IS NOT NULL AS deleted, listing_duplicate_text(p.description) AS d
             FROM products p, new
            WHERE p.seller_id = $1 AND p.id IS DISTINCT FROM $6::text
              AND p.bumped_at > now() - make_interval(hours => $4)
              AND (p.deleted_at IS NULL OR $6::text IS NULL OR $7::boolean
                   OR p.bumped_at < (SELECT e.bumped_at FROM products e WHERE e.id = $6::text))
              AND replace(listing_duplicate_text(p.title), ' ', '') = new.title
         )
         SELECT mine.id, mine.deleted FROM mine, new
          WHERE mine.d = new.description OR similarity(mine.d, new.description) >= $5
          ORDER BY mine.deleted LIMIT 1`,
        [sellerId, text.title, text.description, hours, threshold, self?.id ?? null, self?.bumping ?? false],
        transaction,
      );
      return row ?? null;
    },

    async insert(p: NewProduct, transaction: Transaction): Promise<Product> {
      const [row] = await select<ProductRow>(
        `INSERT INTO products (id, seller_id, title, description, category_id, price, offers_allowed, condition, trade_methods,
                               shipping_fee, dong_code, lat, lng, quantity, moderation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING *`,
        [p.id, p.sellerId, p.title, p.description, p.categoryId, p.price, p.offersAllowed, p.condition, p.tradeMethods, p.shippingFee, p.dongCode, p.lat, p.lng, p.quantity, p.moderation],
        transaction,
      );
      return toProduct(row!);
    },

    /** The row, locked for the rest of the transaction; deleted ones included (the caller decides). */
    async findForUpdate(id: string, transaction: Transaction): Promise<Product | null> {
      const [row] = await select<ProductRow>('SELECT * FROM products WHERE id = $1 FOR UPDATE', [id], transaction);
      return row ? toProduct(row) : null;
    },

    async updateListing(id: string, f: ListingFields & { moderation: Product['moderation'] }, transaction: Transaction): Promise<Product> {
      const [row] = await select<ProductRow>(
        `UPDATE products SET title = $2, description = $3, category_id = $4, price = $5, offers_allowed = $6, condition = $7,
                trade_methods = $8, shipping_fee = $9, quantity = $10, moderation = $11, updated_at = now(), version = version + 1
          WHERE id = $1 RETURNING *`,
        [id, f.title, f.description, f.categoryId, f.price, f.offersAllowed, f.condition, f.tradeMethods, f.shippingFee, f.quantity, f.moderation],
        transaction,
      );
      return toProduct(row!);
    },

    async updateStatus(id: string, status: ProductStatus, buyerId: string | null, transaction: Transaction): Promise<Product> {
      const [row] = await select<ProductRow>(
        'UPDATE products SET status = $2, buyer_id = $3, updated_at = now(), version = version + 1 WHERE id = $1 RETURNING *',
        [id, status, buyerId],
        transaction,
      );
      return toProduct(row!);
    },

    /**
     * Seconds until the listing may be bumped again (0: now), by the database's clock, which
     * also set `bumped_at`: an API host whose clock runs ahead must not shorten the interval.
     */
    async secondsUntilBump(id: string, intervalSeconds: number, transaction: Transaction): Promise<number> {
      const [row] = await sequelize.query<{ wait: number }>(
        'SELECT greatest(0, ceil(extract(epoch FROM bumped_at + make_interval(secs => $2) - now())))::int AS wait FROM products WHERE id = $1',
        { bind: [id, intervalSeconds], type: QueryTypes.SELECT, transaction },
      );
      return row!.wait;
    },

    async bump(id: string, price: number, transaction: Transaction): Promise<Product> {
      const [row] = await select<ProductRow>(
        'UPDATE products SET bumped_at = now(), price = $2, updated_at = now(), version = version + 1 WHERE id = $1 RETURNING *',
        [id, price],
        transaction,
      );
      return toProduct(row!);
    },

    async softDelete(id: string, transaction: Transaction): Promise<void> {
      await sequelize.query('UPDATE products SET deleted_at = now(), updated_at = now(), version = version + 1 WHERE id = $1', { bind: [id], transaction });
    },

    /** With category, dong and seller; deleted ones included (the caller decides). */
    async findView(id: string, transaction?: Transaction): Promise<ProductView | null> {
      // Every detail cache miss: prepared, the join is planned once per connection (platform/db/prepared.ts).
      const [row] = await selectPrepared<ViewRow>(sequelize, `${VIEW_SELECT} WHERE p.id = $1`, [id], { transaction });
      return row ? toView(row) : null;
    },

    async categoryPath(categoryId: string, transaction?: Transaction): Promise<string> {
      const [row] = await select<{ path: string }>('SELECT path FROM categories WHERE id = $1', [categoryId], transaction);
      return row?.path ?? '';
    },

    /** A seller's live listings, newest first, strictly after the keyset `after`. */
    /** `withFlagged`: the seller's own view; others do not see listings waiting for a moderator. */
    async listBySeller(sellerId: string, statuses: ProductStatus[], after: { createdAt: string; id: string } | null, limit: number, withFlagged: boolean): Promise<{ view: ProductView; key: string }[]> {
      // The keyset carries created_at as PostgreSQL prints it: a JS Date would drop the microseconds.
      const rows = await select<ViewRow & { created_key: string }>(
        `${VIEW_SELECT.replace('SELECT p.*,', 'SELECT p.*, p.created_at::text AS created_key,')}
          WHERE p.seller_id = $1 AND p.deleted_at IS NULL AND p.status = ANY($2) ${withFlagged ? '' : "AND p.moderation = 'ok'"}
            ${after ? 'AND (p.created_at, p.id) < ($4::timestamptz, $5)' : ''}
          ORDER BY p.created_at DESC, p.id DESC
          LIMIT $3`,
        after ? [sellerId, statuses, limit, after.createdAt, after.id] : [sellerId, statuses, limit],
      );
      return rows.map((r) => ({ view: toView(r), key: r.created_key }));
    },

    /** The review queue: flagged listings not deleted, oldest first (index products_flagged). */
    async listFlagged(after: { createdAt: string; id: string } | null, limit: number): Promise<{ product: Product; key: string }[]> {
      const rows = await select<ProductRow & { created_key: string }>(
        `SELECT p.*, p.created_at::text AS created_key FROM products p
          WHERE p.moderation = 'flagged' AND p.deleted_at IS NULL
            ${after ? 'AND (p.created_at, p.id) > ($2::timestamptz, $3)' : ''}
          ORDER BY p.created_at, p.id
          LIMIT $1`,
        after ? [limit, after.createdAt, after.id] : [limit],
      );
      return rows.map((r) => ({ product: toProduct(r), key: r.created_key }));
    },

    /** A moderator's approval of these findings (flagFingerprint); counts as a change of the listing (version). */
    async clearFlag(id: string, findings: string | null, transaction: Transaction): Promise<Product> {
      const [row] = await select<ProductRow>(
        `UPDATE products SET moderation = 'ok', moderation_cleared = $2, updated_at = now(), version = version + 1 WHERE id = $1 RETURNING *`,
        [id, findings],
        transaction,
      );
      return toProduct(row!);
    },

    async idsBySeller(sellerId: string, transaction?: Transaction): Promise<string[]> {
      const rows = await select<{ id: string }>('SELECT id FROM products WHERE seller_id = $1 AND deleted_at IS NULL', [sellerId], transaction);
      return rows.map((r) => r.id);
    },

    async idsInCategory(categoryId: string, transaction?: Transaction): Promise<string[]> {
      const rows = await select<{ id: string }>('SELECT id FROM products WHERE category_id = $1 AND deleted_at IS NULL', [categoryId], transaction);
      return rows.map((r) => r.id);
    },
  };
}
export type ProductRepository = ReturnType<typeof createProductRepository>;
