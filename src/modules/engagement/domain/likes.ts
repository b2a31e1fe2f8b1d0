import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import { metadataFrom, type RecordEvents } from '../../../platform/events/event-store';
import { markDirty, type LikeRepository } from '../data/like-repository';
import type { ListingReader } from '../data/listing-reader';
import { decodeCursor, pageOf } from './cursor';
import { visibleTo, type ListingSummary } from './listing';
import { cannotLikeOwnListing, productNotFound } from './problems';

export interface LikesDeps {
  sequelize: Sequelize;
  likes: LikeRepository;
  listings: ListingReader;
  recordEvents: RecordEvents;
  /** After a like or unlike commits: the listing's cached detail shows its like count, and must not wait for the worker. */
  likeCountChanged?: (productId: string) => Promise<void>;
}

export interface LikeState {
  productId: string;
  liked: boolean;
  likeCount: number;
}

const productRef = (id: string) => ({ type: 'product', id });

export function likeUseCases(deps: LikesDeps) {
  const { sequelize, likes, listings, recordEvents } = deps;
  const afterCommit = (t: Transaction, productId: string) => {
    const changed = deps.likeCountChanged;
    if (changed) t.afterCommit(() => changed(productId));
  };

  return {
    /**
     * Likes a listing (`product.liked`); liking it again changes nothing. The product's row lock
     * orders concurrent likes, so like_count always equals the number of likes.
     */
    async like(ctx: RequestContext, userId: string, productId: string): Promise<LikeState> {
      return inTransaction(sequelize, ctx, async (t) => {
        const listing = await listings.state(productId, t, true);
        if (!listing || !visibleTo(listing, userId)) throw productNotFound();
        if (listing.sellerId === userId) throw cannotLikeOwnListing();
        if (!(await likes.insert(userId, productId, t))) return { productId, liked: true, likeCount: await likes.count(productId, t) };
        const likeCount = await likes.adjustCount(productId, 1, t);
        await markDirty(sequelize, [productId], t);
        afterCommit(t, productId);
        await recordEvents(t, productRef(productId), [{ type: 'product.liked', payload: { product_id: productId, user_id: userId, like_count: likeCount } }], metadataFrom(ctx));
        return { productId, liked: true, likeCount };
      });
    },

    /**
     * Removes a like (`product.unliked`); without one it changes nothing. A like on a listing
     * hidden or deleted since can still be removed.
     */
    async unlike(ctx: RequestContext, userId: string, productId: string): Promise<LikeState> {
      return inTransaction(sequelize, ctx, async (t) => {
        const listing = await listings.state(productId, t, true);
        if (!listing) throw productNotFound();
        if (!(await likes.remove(userId, productId, t))) {
          if (!visibleTo(listing, userId)) throw productNotFound();
          return { productId, liked: false, likeCount: await likes.count(productId, t) };
        }
        const likeCount = await likes.adjustCount(productId, -1, t);
        await markDirty(sequelize, [productId], t);
        afterCommit(t, productId);
        await recordEvents(t, productRef(productId), [{ type: 'product.unliked', payload: { product_id: productId, user_id: userId, like_count: likeCount } }], metadataFrom(ctx));
        return { productId, liked: false, likeCount };
      });
    },

    /** The user's liked listings that are still listed, most recently liked first. */
    async list(userId: string, opts: { limit: number; cursor?: string }): Promise<{ items: ListingSummary[]; nextCursor: string | null }> {
      const list = `likes:${userId}`;
      const after = opts.cursor ? decodeCursor(list, opts.cursor) : undefined;
      const rows = await likes.page(userId, opts.limit, after);
      const page = pageOf(list, rows, opts.limit, (r) => ({ atMicros: r.likedAtMicros, id: r.productId }));
      const summaries = await listings.summaries(page.items.map((r) => r.productId));
      return { items: page.items.flatMap((r) => summaries.get(r.productId) ?? []), nextCursor: page.nextCursor };
    },
  };
}
export type LikeUseCases = ReturnType<typeof likeUseCases>;
