import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import type { Logger } from '../../../platform/logger';
import { DuplicateKeywordAlert, type KeywordAlert, type KeywordAlertRepository } from '../data/keyword-alert-repository';
import { newEngagementId } from './ids';
import { KEYWORD_MAX_LENGTH, MAX_KEYWORD_ALERTS, keywordAnchor, keywordGrams, keywordMatches, normaliseForMatch, titleGrams } from './keywords';
import { invalidKeyword, keywordAlertExists, keywordAlertLimitReached, keywordAlertNotFound, unknownCategory, unknownDong } from './problems';

export interface KeywordMatch {
  userId: string;
  alertId: string;
  keyword: string;
  productId: string;
  title: string;
  price: number;
}

export interface KeywordAlertsDeps {
  sequelize: Sequelize;
  alerts: KeywordAlertRepository;
  /** Queues the notification of one match; the same (listing, user) twice queues one job. */
  notify: (match: KeywordMatch, causationId: string) => Promise<void>;
}

/** A user's notification of a listing their keyword alert matched: one per listing, ever. */
export const keywordAlertDedupKey = (productId: string) => `keyword_alert:${productId}`;

/**
 * The user's alert that matches the listing now, if any: the listing still for sale and public,
 * its title and scope still matching one of the user's alerts, the user active with keyword
 * notifications on. What a delivery checks, since the match may be minutes old: the alert it
 * names may be gone while another of the user's still matches. `named`: the alert the match
 * named, which the notification keeps naming while it still matches (the user's other alerts
 * come in no particular order).
 */
export function matchingAlertOf(alerts: KeywordAlertRepository) {
  return async (productId: string, userId: string, named?: string, transaction?: Transaction): Promise<{ alertId: string; keyword: string } | null> => {
    const listing = await alerts.matchable(productId, transaction);
    if (!listing) return null;
    const title = normaliseForMatch(listing.title);
    const matching = (await alerts.candidates(titleGrams(title), listing, transaction, userId)).filter((c) => keywordMatches(c.keyword, title));
    const found = matching.find((c) => c.id === named) ?? matching[0];
    return found ? { alertId: found.id, keyword: found.keyword } : null;
  };
}

export function keywordAlertUseCases(deps: KeywordAlertsDeps) {
  const { sequelize, alerts, notify } = deps;

  return {
    list: (userId: string): Promise<KeywordAlert[]> => alerts.list(userId),

    /** Saves a keyword (normalised), optionally only within a category (and its sub-categories) and/or around a dong. */
    async create(ctx: RequestContext, userId: string, input: { keyword: string; categoryId?: string; dongCode?: string }): Promise<KeywordAlert> {
      const keyword = normaliseForMatch(input.keyword);
      if (!keyword) throw invalidKeyword('no_letters', KEYWORD_MAX_LENGTH);
      // A keyword of single characters (`1`, `a`, `이`) matches nearly every listing: each such
      // alert would be notified of most new listings, a fan-out that grows with the accounts.
      if (!keyword.split(' ').some((word) => Array.from(word).length >= 2)) throw invalidKeyword('too_short', KEYWORD_MAX_LENGTH);
      if (Array.from(keyword).length > KEYWORD_MAX_LENGTH) throw invalidKeyword('too_long', KEYWORD_MAX_LENGTH);
      if (input.categoryId && !(await alerts.categoryExists(input.categoryId))) throw unknownCategory();
      if (input.dongCode && !(await alerts.dongExists(input.dongCode))) throw unknownDong();
      const grams = keywordGrams(keyword);
      const anchor = keywordAnchor(keyword, await alerts.gramFrequencies(grams));
      return inTransaction(sequelize, ctx, async (t) => {
        await alerts.lockUser(userId, t);
        if ((await alerts.count(userId, t)) >= MAX_KEYWORD_ALERTS) throw keywordAlertLimitReached(MAX_KEYWORD_ALERTS);
        try {
          return await alerts.insert(
            { id: newEngagementId('kwa'), userId, keyword, grams, anchor, categoryId: input.categoryId ?? null, dongCode: input.dongCode ?? null },
            t,
          );
        } catch (err) {
          if (err instanceof DuplicateKeywordAlert) throw keywordAlertExists();
          throw err;
        }
      });
    },

    async remove(userId: string, alertId: string): Promise<void> {
      if (!(await alerts.remove(userId, alertId))) throw keywordAlertNotFound();
    },

    /**
     * For a new, bumped or approved listing: finds the subscribers through the gram index,
     * verifies each candidate, records the matches and queues one notification for each user who
     * does not have this listing's yet. Runs in the event's inbox transaction; the event's id is
     * in each job's cause, so a redelivered event queues nothing new and a later event can
     * deliver what an earlier one could not.
     */
    async matchListing(productId: string, eventId: string, transaction: Transaction, log: Logger): Promise<number> {
      const listing = await alerts.matchable(productId, transaction);
      if (!listing) return 0;
      const title = normaliseForMatch(listing.title);
      const candidates = await alerts.candidates(titleGrams(title), listing, transaction);
      const perUser = new Map<string, { alertId: string; keyword: string }>();
      for (const c of candidates) if (!perUser.has(c.userId) && keywordMatches(c.keyword, title)) perUser.set(c.userId, { alertId: c.id, keyword: c.keyword });
      const fresh = await alerts.recordMatches(productId, [...perUser].map(([userId, m]) => ({ userId, alertId: m.alertId })), keywordAlertDedupKey(productId), transaction);
      for (const m of fresh) {
        await notify({ userId: m.userId, alertId: m.alertId, keyword: perUser.get(m.userId)!.keyword, productId, title: listing.title, price: listing.price }, `${eventId}:${m.userId}`);
      }
      if (candidates.length) log.debug({ product_id: productId, candidates: candidates.length, matched: perUser.size, notified: fresh.length }, 'keyword alerts matched');
      return fresh.length;
    },
  };
}
export type KeywordAlertUseCases = ReturnType<typeof keywordAlertUseCases>;
