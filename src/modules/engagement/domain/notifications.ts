import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import type { NotificationRepository, Notification } from '../data/notification-repository';
import type { ListingReader } from '../data/listing-reader';
import { decodeCursor, pageOf } from './cursor';
import { newEngagementId } from './ids';
import { notificationNotFound } from './problems';
import { keywordAlertDedupKey, type KeywordMatch } from './keyword-alerts';

export interface ListingReviewNotice {
  eventId: string;
  sellerId: string;
  productId: string;
  title: string;
  decision: 'approve' | 'remove';
}

export function notificationUseCases(deps: {
  sequelize: Sequelize;
  notifications: NotificationRepository;
  listings: ListingReader;
  /** The user's alert that matches the listing now, `named` first, if any (matchingAlertOf: the alerts' component owns them). */
  matchingAlert: (productId: string, userId: string, named?: string, transaction?: Transaction) => Promise<{ alertId: string; keyword: string } | null>;
}) {
  const { sequelize, notifications, listings, matchingAlert } = deps;
  return {
    /**
     * Delivers a keyword match to the user's inbox, once per listing whatever the retries; a
     * listing sold, hidden, deleted or flagged (an edit added a link) before delivery is not
     * announced any more, nor one no alert of the user's matches any more (deleted, or the title
     * edited) or whose user switched keyword notifications off (or was suspended) meanwhile.
     */
    async deliverKeywordMatch(m: KeywordMatch): Promise<boolean> {
      return sequelize.transaction(async (t) => {
        // The job may run a while after the match (a backlog, retries): the alert may have been
        // deleted (another of the user's may still match: that one is named), the title edited
        // away from it, or keyword notifications switched off, which means not to hear of it.
        // Looked up before the listing is held: the candidate query is the slow part, and share
        // locks held through it, one per subscriber, would keep the seller's writes waiting.
        const alert = await matchingAlert(m.productId, m.userId, m.alertId, t);
        if (!alert) return false;
        // The listing held (FOR SHARE) from this check to the insert: a hide, an edit that flags it
        // or a deletion committed in between would otherwise be announced anyway. Such a change
        // waits the milliseconds until the notification is in.
        const state = await listings.state(m.productId, t, 'share');
        if (!state || state.deleted || state.status !== 'on_sale') return false;
        // Flagged since it matched: not now; the moderator's approval matches it again, and the
        // user has no notification of it yet, so that match delivers (recordMatches).
        if (state.flagged) return false;
        return notifications.insert(
          {
            id: newEngagementId('ntf'),
            userId: m.userId,
            kind: 'keyword_alert',
            dedupKey: keywordAlertDedupKey(m.productId),
            productId: m.productId,
            data: { keyword: alert.keyword, alert_id: alert.alertId, title: m.title, price: m.price },
          },
          t,
        );
      });
    },

    /**
     * Tells the seller what a moderator decided about their flagged listing: once per decision
     * (the event's id), in the transaction that records its handling. The moderator's reason
     * stays with staff (the audit trail); the seller learns the outcome.
     */
    async deliverListingReview(r: ListingReviewNotice, transaction: Transaction): Promise<boolean> {
      return notifications.insert(
        {
          id: newEngagementId('ntf'),
          userId: r.sellerId,
          kind: 'listing_review',
          dedupKey: `listing_review:${r.eventId}`,
          productId: r.productId,
          data: { title: r.title, decision: r.decision === 'approve' ? 'approved' : 'removed' },
        },
        transaction,
      );
    },

    async list(userId: string, opts: { limit: number; cursor?: string; unreadOnly?: boolean }): Promise<{ items: Notification[]; nextCursor: string | null }> {
      // The filter is part of the list's name, so a cursor of the unread list is refused on the full one.
      const list = opts.unreadOnly ? `notifications:${userId}:unread` : `notifications:${userId}`;
      const rows = await notifications.page(userId, opts.limit, opts.cursor ? decodeCursor(list, opts.cursor) : undefined, opts.unreadOnly);
      return pageOf(list, rows, opts.limit, (n) => ({ atMicros: n.createdAtMicros, id: n.id }));
    },

    /** Marks one of the user's notifications read or unread; 404 when it is not theirs. */
    async setRead(ctx: RequestContext, userId: string, id: string, read: boolean): Promise<Notification> {
      const updated = await inTransaction(sequelize, ctx, (t) => notifications.setRead(userId, id, read, t));
      if (!updated) throw notificationNotFound();
      return updated;
    },

    /** Marks read all of the user's notifications, or `upTo` and older ones; how many were unread. */
    async markRead(ctx: RequestContext, userId: string, upTo: string | undefined): Promise<number> {
      const marked = await inTransaction(sequelize, ctx, (t) => notifications.markRead(userId, upTo, t));
      if (marked === null) throw notificationNotFound();
      return marked;
    },
  };
}
export type NotificationUseCases = ReturnType<typeof notificationUseCases>;
