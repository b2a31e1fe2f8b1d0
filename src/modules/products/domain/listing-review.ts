import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import { metadataFrom, type RecordEvents } from '../../../platform/events/event-store';
import type { ProductDetailCache } from '../data/detail-cache';
import type { ProductRepository } from '../data/product-repository';
import { flagFingerprint, moderateListing, type Finding } from './moderation';
import type { Product } from './product';
import { cannotReviewOwnListing, listingChanged, notFlagged, productNotFound } from './problems';
import { decodeListingCursor, encodeListingCursor, listingCursorFingerprint } from './listing-cursor';

// The review queue of flagged listings (a messenger id or a web address in the text): posted
// and seen by their seller, but out of search, feeds, alerts and recommendations until a
// moderator approves them, or deleted when a moderator removes them. docs/listings.md.

export type ReviewDecision = 'approve' | 'remove';

export interface FlaggedListing {
  product: Product;
  /** What the checks find in the text as it reads now (an edit may have removed it). */
  flags: Finding[];
}

export interface ListingReviewDeps {
  sequelize: Sequelize;
  products: ProductRepository;
  recordEvents: RecordEvents;
  cache: ProductDetailCache;
  /**
   * The acting staff member's id, once `listings:moderate` holds for them now (account
   * administration); inside a write's transaction, after the staff lock.
   */
  requireModerator: (ctx: RequestContext, t?: Transaction) => Promise<string>;
}

const QUEUE_FINGERPRINT = listingCursorFingerprint('flagged-products');

export function listingReviewUseCases(deps: ListingReviewDeps) {
  const { sequelize, products, recordEvents, cache } = deps;

  return {
    /** One page of the queue, oldest first. */
    async list(ctx: RequestContext, q: { limit: number; cursor?: string }): Promise<{ items: FlaggedListing[]; nextCursor: string | null }> {
      await deps.requireModerator(ctx);
      const after = q.cursor ? decodeListingCursor(q.cursor, QUEUE_FINGERPRINT) : null;
      const rows = await products.listFlagged(after, q.limit + 1);
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return {
        items: page.map(({ product }) => ({ product, flags: moderateListing(product).findings.filter((f) => f.action === 'flag') })),
        nextCursor: rows.length > q.limit && last ? encodeListingCursor(last.key, last.product.id, QUEUE_FINGERPRINT) : null,
      };
    },

    /**
     * Approves (clears the flag) or removes (soft-deletes) a flagged listing. Records
     * `product.reviewed` with the decision, the reason and the moderator, and `product.deleted`
     * for a removal, in the transaction of the change.
     */
    async review(ctx: RequestContext, id: string, decision: ReviewDecision, reason: string, seenVersion?: number): Promise<void> {
      await inTransaction(sequelize, ctx, async (t) => {
        const moderatorId = await deps.requireModerator(ctx, t);
        const current = await products.findForUpdate(id, t);
        if (!current || current.deletedAt) throw productNotFound();
        if (current.moderation !== 'flagged') throw notFlagged();
        if (current.sellerId === moderatorId) throw cannotReviewOwnListing();
        // An approval clears the flags of the text as it is now: only if that is what was read.
        if (seenVersion !== undefined && current.version !== seenVersion) throw listingChanged();
        // The title rides along so the seller's notice names the listing without reading the table.
        const reviewed = { product_id: id, seller_id: current.sellerId, title: current.title, decision, reason, moderator_id: moderatorId };
        if (decision === 'approve') {
          await products.clearFlag(id, flagFingerprint(moderateListing(current).findings), t);
          await recordEvents(t, { type: 'product', id }, [{ type: 'product.reviewed', payload: { ...reviewed, moderation: 'ok' } }], metadataFrom(ctx));
        } else {
          await products.softDelete(id, t);
          await recordEvents(
            t,
            { type: 'product', id },
            [
              { type: 'product.reviewed', payload: { ...reviewed, moderation: 'flagged' } },
              { type: 'product.deleted', payload: { product_id: id, seller_id: current.sellerId } },
            ],
            metadataFrom(ctx),
          );
        }
        t.afterCommit(() => cache.invalidate(id));
        ctx.log.info({ product_id: id, decision, moderator_id: moderatorId }, 'flagged listing reviewed');
      });
    },
  };
}
export type ListingReviewUseCases = ReturnType<typeof listingReviewUseCases>;
