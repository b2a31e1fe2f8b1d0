import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { ImageType } from '../domain/image-format';
import type { FailureReason, Photo, PhotoStatus } from '../domain/photo';

interface Row {
  id: string;
  product_id: string;
  seller_id: string;
  original_key: string | null;
  display_key: string | null;
  thumb_key: string | null;
  content_type: ImageType;
  bytes: number;
  width: number | null;
  height: number | null;
  position: number;
  status: PhotoStatus;
  failure_reason: FailureReason | null;
  created_at: Date;
  deleted_at: Date | null;
}

const toPhoto = (r: Row): Photo => ({
  id: r.id,
  productId: r.product_id,
  sellerId: r.seller_id,
  originalKey: r.original_key,
  displayKey: r.display_key,
  thumbKey: r.thumb_key,
  contentType: r.content_type,
  bytes: r.bytes,
  width: r.width,
  height: r.height,
  position: r.position,
  status: r.status,
  failureReason: r.failure_reason,
  createdAt: new Date(r.created_at),
  deletedAt: r.deleted_at ? new Date(r.deleted_at) : null,
});

/** The listing as far as its photos care: whose it is and whether it still exists. */
export interface ListingRef {
  sellerId: string;
  deleted: boolean;
}

export function createPhotoRepository(sequelize: Sequelize) {
  const select = async (sql: string, bind: unknown[], transaction?: Transaction) =>
    (await sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT, ...(transaction ? { transaction } : {}) })).map(toPhoto);

  return {
    /**
     * The listing's owner. With a transaction, its row is locked: photo changes of one listing
     * then run one at a time, and their product events never race the listing's own.
     */
    async listing(productId: string, t?: Transaction): Promise<ListingRef | null> {
      const [row] = await sequelize.query<{ seller_id: string; deleted_at: Date | null }>(
        `SELECT seller_id, deleted_at FROM products WHERE id = $1 ${t ? 'FOR UPDATE' : ''}`,
        { bind: [productId], type: QueryTypes.SELECT, ...(t ? { transaction: t } : {}) },
      );
      return row ? { sellerId: row.seller_id, deleted: row.deleted_at !== null } : null;
    },

    /** The listing's photos that are not deleted, in order. */
    live(productId: string, t?: Transaction): Promise<Photo[]> {
      return select('SELECT * FROM product_images WHERE product_id = $1 AND deleted_at IS NULL ORDER BY position, created_at, id', [productId], t);
    },

    async find(id: string, t?: Transaction): Promise<Photo | null> {
      const [photo] = await select(`SELECT * FROM product_images WHERE id = $1 ${t ? 'FOR UPDATE' : ''}`, [id], t);
      return photo ?? null;
    },

    async insert(photos: Photo[], t: Transaction): Promise<void> {
      await sequelize.query(
        `INSERT INTO product_images (id, product_id, seller_id, original_key, content_type, bytes, position, status)
         SELECT p.id, p.product_id, p.seller_id, p.original_key, p.content_type, p.bytes, p.position, 'processing'
           FROM jsonb_to_recordset($1::jsonb) AS p(id text, product_id text, seller_id text, original_key text, content_type text, bytes int, position smallint)`,
        {
          bind: [JSON.stringify(photos.map((p) => ({ id: p.id, product_id: p.productId, seller_id: p.sellerId, original_key: p.originalKey, content_type: p.contentType, bytes: p.bytes, position: p.position })))],
          transaction: t,
        },
      );
    },

    async markReady(id: string, d: { displayKey: string; thumbKey: string; width: number; height: number }, t: Transaction): Promise<void> {
      await sequelize.query(
        `UPDATE product_images SET status = 'ready', display_key = $2, thumb_key = $3, width = $4, height = $5, updated_at = now() WHERE id = $1`,
        { bind: [id, d.displayKey, d.thumbKey, d.width, d.height], transaction: t },
      );
    },

    async markFailed(id: string, reason: FailureReason, t: Transaction): Promise<void> {
      await sequelize.query(`UPDATE product_images SET status = 'failed', failure_reason = $2, updated_at = now() WHERE id = $1`, {
        bind: [id, reason],
        transaction: t,
      });
    },

    /** Soft-deletes every live photo of a listing; the photos as they were. */
    async softDeleteAll(productId: string, t: Transaction): Promise<Photo[]> {
      return select('UPDATE product_images SET deleted_at = now(), updated_at = now() WHERE product_id = $1 AND deleted_at IS NULL RETURNING *', [productId], t);
    },

    async softDelete(id: string, t: Transaction): Promise<void> {
      await sequelize.query('UPDATE product_images SET deleted_at = now(), updated_at = now() WHERE id = $1', { bind: [id], transaction: t });
    },

    /**
     * Listings deleted at least `graceSeconds` ago whose photos are still live: deleted before
     * their photos were purged with them. A recent deletion is the subscriber's (purgeListing),
     * which deletes the files at once; taking its photos first would leave it nothing to delete.
     */
    async deletedListingsWithLivePhotos(graceSeconds: number, limit: number): Promise<string[]> {
      const rows = await sequelize.query<{ product_id: string }>(
        `SELECT DISTINCT i.product_id FROM product_images i JOIN products p ON p.id = i.product_id
          WHERE i.deleted_at IS NULL AND p.deleted_at <= now() - make_interval(secs => $1) LIMIT $2`,
        { bind: [graceSeconds, limit], type: QueryTypes.SELECT },
      );
      return rows.map((r) => r.product_id);
    },

    /** Deleted photos whose files were not yet swept, deleted at least `graceSeconds` ago, oldest first. */
    async filesPending(graceSeconds: number, limit: number): Promise<Photo[]> {
      return select(
        `SELECT * FROM product_images
          WHERE deleted_at IS NOT NULL AND files_deleted_at IS NULL AND deleted_at <= now() - make_interval(secs => $1)
          ORDER BY deleted_at LIMIT $2`,
        [graceSeconds, limit],
      );
    },

    /** Live photos still processing, uploaded at least `olderThanSeconds` ago, oldest first (migration 0027's index). */
    async stillProcessing(olderThanSeconds: number, limit: number): Promise<Photo[]> {
      return select(
        `SELECT * FROM product_images
          WHERE status = 'processing' AND deleted_at IS NULL AND created_at <= now() - make_interval(secs => $1)
          ORDER BY created_at LIMIT $2`,
        [olderThanSeconds, limit],
      );
    },

    /**
     * Forgets originals whose files are deleted. `original_key` stays set until then (markReady
     * and markFailed keep it), so an original whose deletion failed, or whose worker died after
     * the commit, is still known to the sweep: it holds the seller's EXIF, GPS included.
     */
    async originalsDeleted(ids: string[]): Promise<void> {
      await sequelize.query('UPDATE product_images SET original_key = NULL WHERE id = ANY($1::text[])', { bind: [ids] });
    },

    /** Live photos done with (ready or failed) whose original is still stored, settled at least `graceSeconds` ago (migration 0035's index). */
    async originalsLeft(graceSeconds: number, limit: number): Promise<Photo[]> {
      return select(
        `SELECT * FROM product_images
          WHERE original_key IS NOT NULL AND status <> 'processing' AND deleted_at IS NULL AND updated_at <= now() - make_interval(secs => $1)
          ORDER BY updated_at LIMIT $2`,
        [graceSeconds, limit],
      );
    },

    async markFilesDeleted(ids: string[]): Promise<void> {
      await sequelize.query('UPDATE product_images SET files_deleted_at = now() WHERE id = ANY($1::text[])', { bind: [ids] });
    },

    /** Positions 0, 1, 2… in the order given. */
    async setOrder(productId: string, ids: string[], t: Transaction): Promise<void> {
      await sequelize.query(
        `UPDATE product_images i SET position = o.ord - 1, updated_at = now()
           FROM unnest($2::text[]) WITH ORDINALITY AS o(id, ord)
          WHERE i.id = o.id AND i.product_id = $1 AND i.position <> o.ord - 1`,
        { bind: [productId, ids], transaction: t },
      );
    },
  };
}

export type PhotoRepository = ReturnType<typeof createPhotoRepository>;
