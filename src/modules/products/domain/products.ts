import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import type { Collection } from '../../../platform/documents/document-store';
import { AppError } from '../../../platform/errors';
import { metadataFrom, type RecordEvents } from '../../../platform/events/event-store';
import { ifMatchTags } from '../../../platform/http/conditional';
import { newId } from '../../users/domain/ids';
import type { ProductDetailCache } from '../data/detail-cache';
import type { ProductRepository } from '../data/product-repository';
import type { ProductDetailDoc } from '../product-detail.projection';
import { flagFingerprint, moderateListing, type ModerationResult } from './moderation';
import {
  BUMP_INTERVAL_SECONDS,
  canMove,
  DAILY_LISTING_LIMIT,
  DUPLICATE_SIMILARITY,
  DUPLICATE_WINDOW_HOURS,
  LISTING_LIMIT_WINDOW_HOURS,
  sameListingFields,
  takesBuyer,
  type ListingFields,
  type Product,
  type ProductStatus,
  type ProductView,
} from './product';
import {
  bumpTooSoon,
  buyerNotApplicable,
  categoryNotLeaf,
  duplicateListing,
  invalidBuyer,
  invalidCategory,
  invalidStatusTransition,
  listingLimitReached,
  listingProhibited,
  notSeller,
  priceLocked,
  priceNotLower,
  productNotFound,
  productNotOnSale,
  shippingFeeNotApplicable,
} from './problems';
import { decodeListingCursor, encodeListingCursor, listingCursorFingerprint } from './listing-cursor';

export interface ProductsDeps {
  sequelize: Sequelize;
  products: ProductRepository;
  requireVerifiedNeighbourhood: (userId: string) => Promise<{ dongCode: string }>;
  recordEvents: RecordEvents;
  cache: ProductDetailCache;
  details: () => Promise<Collection<ProductDetailDoc>>;
  /** Whether the user liked the listing (the engagement component plugs this in). */
  likedBy?: (userId: string, productId: string) => Promise<boolean>;
}

/** What a reader gets: the listing and, with a token, whether they liked it. */
export interface ProductRead {
  product: ProductView;
  likedByMe?: boolean;
}

const ALL_STATUSES: ProductStatus[] = ['on_sale', 'reserved', 'sold', 'hidden'];
const PUBLIC_STATUSES: ProductStatus[] = ['on_sale', 'reserved', 'sold'];

/** The full state every `product.created`/`product.updated` carries, so consumers never read the table. */
const snapshot = (p: Product, categoryPath: string) => ({
  product_id: p.id,
  seller_id: p.sellerId,
  title: p.title,
  description: p.description,
  category_id: p.categoryId,
  category_path: categoryPath,
  price: p.price,
  offers_allowed: p.offersAllowed,
  condition: p.condition,
  trade_methods: p.tradeMethods,
  shipping_fee: p.shippingFee,
  dong_code: p.dongCode,
  lat: p.lat,
  lng: p.lng,
  quantity: p.quantity,
  status: p.status,
  moderation: p.moderation,
  bumped_at: p.bumpedAt.toISOString(),
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});

/**
 * If-Match on a listing compares its version (carried in the ETag as `"v<version>-…"`), not the
 * whole representation: likes, views and photos change the representation but are not edits, and
 * must not make a seller's save fail with 412.
 */
export function assertVersionMatches(ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const versions = ifMatchTags(ifMatch).map((t) => /^"v(\d+)-/.exec(t)?.[1]);
  if (!versions.includes(String(version))) {
    throw new AppError(412, 'precondition_failed', 'Precondition failed', 'The listing was changed meanwhile; fetch it again.');
  }
}

export function productUseCases(deps: ProductsDeps) {
  const { sequelize, products, recordEvents, cache } = deps;

  const record = (ctx: RequestContext, t: Transaction, p: Product, type: string, payload: Record<string, unknown>) =>
    recordEvents(t, { type: 'product', id: p.id }, [{ type, payload }], metadataFrom(ctx));

  // Every change clears the cached detail once it is durable (inside an Idempotency-Key request,
  // when the request's transaction commits).
  const invalidateAfterCommit = (t: Transaction, id: string) => t.afterCommit(() => cache.invalidate(id));

  async function imagesOf(id: string): Promise<ProductView['images']> {
    return (await (await deps.details()).get(id))?.images ?? [];
  }

  async function withImages(view: ProductView): Promise<ProductView> {
    return { ...view, images: await imagesOf(view.id) };
  }

  /**
   * Runs a change of the listing and answers with its photos, read before the change takes the
   * listing's lock: inside a request's transaction (an Idempotency-Key) that lock lasts until the
   * request commits, and the document store may wait (MongoDB without a primary) while requests
   * queue on the lock, each holding a pooled connection. Before, not beside: a read failing while
   * the change runs would end the request (and roll back its transaction) under a change still
   * writing. None of these changes touches photos.
   */
  async function changed(id: string, change: () => Promise<ProductView>): Promise<ProductView> {
    const images = await imagesOf(id);
    return { ...(await change()), images };
  }

  /** The listing the actor is about to change: 404 when others may not see it, 403 when it is not theirs. */
  function assertSellerOf(p: Product | null, actorId: string): asserts p is Product {
    if (!p || p.deletedAt) throw productNotFound();
    if (p.sellerId !== actorId) throw p.status === 'hidden' ? productNotFound() : notSeller();
  }

  function assertTradeRules(f: ListingFields) {
    if (f.shippingFee > 0 && !f.tradeMethods.some((m) => m === 'parcel' || m === 'convenience_store')) throw shippingFeeNotApplicable();
  }

  async function assertLeafCategory(categoryId: string, t?: Transaction) {
    const category = await products.findCategory(categoryId, t);
    if (!category) throw invalidCategory();
    if (!category.leaf) throw categoryNotLeaf();
    return category;
  }

  /** Refuses what the posting rules block; else what would flag it for a moderator (null: nothing). */
  function flagsOf(result: ModerationResult): string | null {
    if (result.blocked.length) throw listingProhibited(result.blocked);
    return flagFingerprint(result.findings);
  }

  // Both windows are counted by the database's clock, which also sets created_at and bumped_at.
  async function assertWithinDailyLimit(sellerId: string, t: Transaction) {
    const wait = await products.secondsUntilListingSlot(sellerId, DAILY_LISTING_LIMIT, LISTING_LIMIT_WINDOW_HOURS, t);
    if (wait > 0) throw listingLimitReached(DAILY_LISTING_LIMIT, wait);
  }

  /** Call under products.lockSeller, so that two of the seller's writes cannot both pass. */
  async function assertNotDuplicate(sellerId: string, f: Pick<ListingFields, 'title' | 'description'>, t: Transaction, self: { id: string; bumping: boolean } | null = null) {
    const existing = await products.findDuplicate(sellerId, f, DUPLICATE_WINDOW_HOURS, DUPLICATE_SIMILARITY, self, t);
    if (existing) throw duplicateListing(existing);
  }

  return {
    /** Posts a listing in the seller's verified dong; records `product.created`. */
    async create(ctx: RequestContext, sellerId: string, f: ListingFields): Promise<ProductView> {
      const { dongCode } = await deps.requireVerifiedNeighbourhood(sellerId);
      assertTradeRules(f);
      const category = await assertLeafCategory(f.categoryId);
      const flagged = flagsOf(moderateListing(f)) !== null;
      const dong = (await products.findDong(dongCode))!;
      return inTransaction(sequelize, ctx, async (t) => {
        await products.lockSeller(sellerId, t);
        await assertWithinDailyLimit(sellerId, t);
        await assertNotDuplicate(sellerId, f, t);
        const product = await products.insert({ ...f, id: newId('prd'), sellerId, dongCode, lat: dong.lat, lng: dong.lng, moderation: flagged ? 'flagged' : 'ok' }, t);
        await record(ctx, t, product, 'product.created', snapshot(product, category.path));
        if (flagged) ctx.log.info({ product_id: product.id }, 'listing flagged for review');
        return (await products.findView(product.id, t))!;
      });
    },

    /** A listing as the reader may see it: hidden ones only to their seller, deleted ones to nobody. */
    async get(viewerId: string | undefined, id: string): Promise<ProductRead> {
      const view = await cache.get(id, async (key) => {
        // The listing and its document at once: a miss waits for one round trip, not two.
        const [loaded, doc] = await Promise.all([products.findView(key), deps.details().then((details) => details.get(key))]);
        return loaded && { ...loaded, images: doc?.images ?? [] };
      });
      if (!view || view.deletedAt || (view.status === 'hidden' && view.sellerId !== viewerId)) throw productNotFound();
      if (!viewerId) return { product: view };
      return { product: view, likedByMe: deps.likedBy ? await deps.likedBy(viewerId, id) : false };
    },

    /** Replaces the editable fields (If-Match on the version); a sold listing keeps its price. Records `product.updated`. */
    async update(ctx: RequestContext, actorId: string, id: string, f: ListingFields, ifMatch: string | undefined): Promise<ProductView> {
      // The rules run before the row is locked (they take milliseconds on a long text), but what
      // they refuse is told only to the seller: for anyone else's id the answer is 403/404 whatever
      // the body says, as for every other check of it.
      const moderation = moderateListing(f);
      return changed(id, () => inTransaction(sequelize, ctx, async (t) => {
        const current = await products.findForUpdate(id, t);
        assertSellerOf(current, actorId);
        assertVersionMatches(ifMatch, current.version);
        assertTradeRules(f);
        const flags = flagsOf(moderation);
        if (current.status === 'sold' && f.price !== current.price) throw priceLocked();
        const category = await assertLeafCategory(f.categoryId, t);
        // New text must not make it a copy of another of the seller's listings (as create checks,
        // under the same lock); an edit that keeps the text leaves an older pair alone. The seller
        // lock after the row lock cannot deadlock: create holds it but locks no existing listing.
        if (f.title !== current.title || f.description !== current.description) {
          await products.lockSeller(current.sellerId, t);
          await assertNotDuplicate(current.sellerId, f, t, { id, bumping: false });
        }
        // A flag stays until a moderator clears it: rewording must not wash it out. What a moderator
        // approved does not flag the listing again; anything new does.
        const flagged = flags !== null && flags !== current.moderationCleared;
        const nextModeration = flagged ? 'flagged' : current.moderation;
        // Saving what is there already changes nothing: no new version (so another editor's
        // If-Match still holds), no event, no new updated_at.
        if (nextModeration === current.moderation && sameListingFields(current, f)) return (await products.findView(id, t))!;
        const product = await products.updateListing(id, { ...f, moderation: nextModeration }, t);
        await record(ctx, t, product, 'product.updated', snapshot(product, category.path));
        invalidateAfterCommit(t, id);
        return (await products.findView(id, t))!;
      }));
    },

    /** Moves the listing along 판매중/예약중/거래완료/숨김. Records `product.status_changed`. */
    async changeStatus(ctx: RequestContext, actorId: string, id: string, status: ProductStatus, buyerId: string | undefined): Promise<ProductView> {
      return changed(id, () => inTransaction(sequelize, ctx, async (t) => {
        const current = await products.findForUpdate(id, t);
        assertSellerOf(current, actorId);
        if (buyerId !== undefined && !takesBuyer(status)) throw buyerNotApplicable();
        // Reserving for someone else, or selling to whom it was reserved for, keeps the buyer unless a new one is named.
        const nextBuyer = takesBuyer(status) ? (buyerId ?? current.buyerId) : null;
        if (current.status === status && current.buyerId === nextBuyer) return (await products.findView(id, t))!;
        if (current.status !== status ? !canMove(current.status, status) : status !== 'reserved') throw invalidStatusTransition(current.status, status);
        // A suspended or banned account cannot be the buyer, named now or kept from the reservation:
        // a purchase feeds its recommendations and opens reviews.
        if (nextBuyer !== null && (nextBuyer === current.sellerId || !(await products.canTrade(nextBuyer, t)))) throw invalidBuyer();
        const product = await products.updateStatus(id, status, nextBuyer, t);
        await record(ctx, t, product, 'product.status_changed', { product_id: id, seller_id: product.sellerId, status, previous: current.status, buyer_id: nextBuyer });
        invalidateAfterCommit(t, id);
        return (await products.findView(id, t))!;
      }));
    },

    /** 끌어올리기: once per 24 hours, optionally cutting the price. Records `product.bumped`. */
    async bump(ctx: RequestContext, actorId: string, id: string, newPrice: number | undefined): Promise<ProductView> {
      return changed(id, () => inTransaction(sequelize, ctx, async (t) => {
        const current = await products.findForUpdate(id, t);
        assertSellerOf(current, actorId);
        if (current.status !== 'on_sale') throw productNotOnSale();
        const wait = await products.secondsUntilBump(id, BUMP_INTERVAL_SECONDS, t);
        if (wait > 0) throw bumpTooSoon(wait);
        if (newPrice !== undefined && newPrice >= current.price) throw priceNotLower();
        // A copy posted since (more than 24 h after this one, so create let it through) would sit
        // beside it at the top of every feed: the same duplicate rule, under the same lock.
        await products.lockSeller(current.sellerId, t);
        await assertNotDuplicate(current.sellerId, current, t, { id, bumping: true });
        const product = await products.bump(id, newPrice ?? current.price, t);
        await record(ctx, t, product, 'product.bumped', {
          product_id: id,
          seller_id: product.sellerId,
          bumped_at: product.bumpedAt.toISOString(),
          price: product.price,
          previous_price: current.price,
        });
        invalidateAfterCommit(t, id);
        return (await products.findView(id, t))!;
      }));
    },

    /** Soft delete: gone from every read, still there for the orders and reviews pointing at it. Records `product.deleted`. */
    async remove(ctx: RequestContext, actorId: string, id: string): Promise<void> {
      await inTransaction(sequelize, ctx, async (t) => {
        const current = await products.findForUpdate(id, t);
        assertSellerOf(current, actorId);
        await products.softDelete(id, t);
        await record(ctx, t, current, 'product.deleted', { product_id: id, seller_id: current.sellerId });
        invalidateAfterCommit(t, id);
      });
    },

    /** A seller's listings, newest first; hidden ones, and flagged ones waiting for a moderator, only for the seller. */
    async listBySeller(viewerId: string | undefined, sellerId: string, q: { status?: ProductStatus; limit: number; cursor?: string }) {
      if (!(await products.userExists(sellerId))) throw new AppError(404, 'not_found', 'Not found', 'No user has this id.');
      const own = viewerId === sellerId;
      const visible = own ? ALL_STATUSES : PUBLIC_STATUSES;
      const statuses = q.status ? visible.filter((s) => s === q.status) : visible;
      const fingerprint = listingCursorFingerprint('seller-products', [sellerId, q.status ?? '', own]);
      const after = q.cursor ? decodeListingCursor(q.cursor, fingerprint) : null;
      if (statuses.length === 0) return { items: [] as ProductView[], nextCursor: null };
      const rows = await products.listBySeller(sellerId, statuses, after, q.limit + 1, own);
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      const items = await Promise.all(page.map((r) => withImages(r.view)));
      return { items, nextCursor: rows.length > q.limit && last ? encodeListingCursor(last.key, last.view.id, fingerprint) : null };
    },

    /** Drops the cached details of a seller's listings (their nickname or badge changed). */
    async forgetSeller(sellerId: string): Promise<void> {
      for (const id of await products.idsBySeller(sellerId)) await cache.invalidate(id);
    },
  };
}
export type ProductUseCases = ReturnType<typeof productUseCases>;
