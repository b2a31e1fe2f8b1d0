import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { Subscription } from '../../platform/events/subscriber';
import { markDirty } from './data/like-repository';
import { markListingChanged } from './data/similarity-repository';
import type { KeywordAlertUseCases } from './domain/keyword-alerts';
import type { ListingReviewNotice, NotificationUseCases } from './domain/notifications';

interface ProductEventPayload {
  product_id: string;
  status?: string;
  previous?: string;
  buyer_id?: string | null;
  moderation?: string;
  decision?: string;
}

/** New, bumped and newly approved listings against saved keywords (키워드 알림). */
export const keywordAlertSubscription = (alerts: Pick<KeywordAlertUseCases, 'matchListing'>): Subscription => ({
  name: 'engagement.keyword-alerts',
  // A flagged listing notifies nobody when posted; a moderator's approval is its debut.
  events: ['product.created', 'product.bumped', 'product.reviewed'],
  // Matching reads the listing's current row: a bump of a listing sold meanwhile notifies nobody,
  // nor does a listing a moderator removed.
  handle: async (event, { transaction, log }) => void (await alerts.matchListing((event.payload as unknown as ProductEventPayload).product_id, event.id, transaction, log)),
});

/** A moderator's decision on a flagged listing, told to its seller. */
export const listingReviewNoticeSubscription = (sequelize: Sequelize, notifications: Pick<NotificationUseCases, 'deliverListingReview'>): Subscription => ({
  name: 'engagement.listing-review-notices',
  events: ['product.reviewed'],
  // One decision per transaction: a notice takes its seller's lock until commit (notification
  // order), and a batch taking several sellers' locks in event order could deadlock with another
  // worker's batch. Moderation decisions are few.
  prefetch: 1,
  handle: async (event, { transaction, log }) => {
    const p = event.payload as { product_id: string; seller_id: string; title?: string; decision?: string };
    const decision = p.decision;
    if (decision !== 'approve' && decision !== 'remove') return void log.warn({ event_id: event.id, decision }, 'listing review with an unknown decision: no notice');
    // Decisions recorded before the payload carried the title (2026-11-28) have none; the row
    // is still there (listings are only soft-deleted).
    const title = p.title ?? (await listingTitle(sequelize, p.product_id, transaction));
    const notice: ListingReviewNotice = { eventId: event.id, sellerId: p.seller_id, productId: p.product_id, title, decision };
    await notifications.deliverListingReview(notice, transaction);
  },
});

async function listingTitle(sequelize: Sequelize, productId: string, transaction: Transaction): Promise<string> {
  const [row] = await sequelize.query<{ title: string }>('SELECT title FROM products WHERE id = $1', { bind: [productId], type: QueryTypes.SELECT, transaction });
  return row?.title ?? '';
}

/**
 * Purchases for the recommender: a listing sold to a named buyer counts as that user's purchase
 * until orders exist (the orders component will write product_purchases itself), when that user
 * showed an interest in it: liked it, or viewed it signed in (product_views, flushed every few
 * seconds). A seller may name any active user, and without this could write purchases into anyone's
 * recommendations, or make their own listings "bought together" by naming the same users.
 */
export const purchaseSignalSubscription = (sequelize: Sequelize): Subscription => ({
  name: 'engagement.purchases',
  events: ['product.status_changed'],
  // One event per transaction: each locks its listing's item_norms and similarity_dirty_items
  // rows until commit, and a batch locking several listings in event order (not id order) could
  // deadlock with a view flush, which locks them in id order.
  prefetch: 1,
  handle: async (event, { transaction }) => {
    const p = event.payload as unknown as ProductEventPayload;
    if (p.status !== 'sold' || !p.buyer_id) return;
    await sequelize.query(
      `INSERT INTO product_purchases (user_id, product_id, purchased_at) SELECT $1, $2, $3
        WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) AND EXISTS (SELECT 1 FROM products WHERE id = $2)
          AND (EXISTS (SELECT 1 FROM product_likes WHERE user_id = $1 AND product_id = $2)
            OR EXISTS (SELECT 1 FROM product_views WHERE user_id = $1 AND product_id = $2))
       ON CONFLICT DO NOTHING`,
      { bind: [p.buyer_id, p.product_id, event.occurred_at], transaction },
    );
    await markDirty(sequelize, [p.product_id], transaction);
  },
});

// Statuses whose listings are recommended (RECOMMENDABLE in listing-reader.ts, with not deleted and
// not flagged).
const RECOMMENDED_STATUSES = new Set(['on_sale', 'reserved']);

/** Whether the event may have moved its listing into or out of what recommendations show. */
function changesRecommendability(type: string, p: ProductEventPayload): boolean {
  switch (type) {
    case 'product.status_changed':
      // Events without `previous` are not known to have kept it.
      return p.previous === undefined || RECOMMENDED_STATUSES.has(p.previous) !== RECOMMENDED_STATUSES.has(p.status ?? '');
    case 'product.deleted':
      return true;
    // An edit that flags the listing (one already flagged is marked again: a no-op recompute).
    case 'product.updated':
      return p.moderation === 'flagged';
    // A removal also records product.deleted.
    case 'product.reviewed':
      return p.decision === 'approve';
    default:
      return false;
  }
}

/**
 * Stored neighbour lists hold only recommendable listings (similarity-repository.ts): when a listing
 * is sold, hidden, deleted or flagged, the lists holding it are recomputed without it (the next
 * neighbour takes its place), and when it is back on sale or approved, it goes back into theirs.
 */
export const similarityListingStateSubscription = (sequelize: Sequelize): Subscription => ({
  name: 'engagement.similarity-listing-state',
  events: ['product.status_changed', 'product.deleted', 'product.updated', 'product.reviewed'],
  // One event per transaction: a batch would lock several listings' dirty rows in event order, not
  // id order, and could deadlock with a view flush.
  prefetch: 1,
  handle: async (event, { transaction }) => {
    const p = event.payload as unknown as ProductEventPayload;
    if (changesRecommendability(event.type, p)) await markListingChanged(sequelize, p.product_id, transaction);
  },
});
