import { createHash } from 'node:crypto';
import { lazyCollection, type Doc, type DocumentStore, type Page } from '../../../platform/documents';
import { koreanDate } from '../../../platform/korean-date';
import { queryTerms } from '../../../platform/search';
import { moderateListing } from '../../products';
import type { PopularQueries } from '../data/search-lookups';

/** SearchHistory: one document per user and distinct query (normalised), with when it was last searched. */
export interface SearchHistoryDoc extends Doc {
  user_id: string;
  query: string;
  searched_at: string;
}

export const SEARCH_HISTORY = {
  name: 'search_history',
  indexes: [
    { field: 'user_id', type: 'string' as const },
    { field: 'searched_at', type: 'date' as const },
  ],
};

/** Distinct queries kept per user. */
export const HISTORY_KEPT = 50;

/**
 * What of a query may be suggested to others: the words that matched (queryTerms, at most 8;
 * words past them found nothing and prove nothing), and never a text the listing checks refuse or
 * flag (a phone number, a messenger id, a prohibited item). Otherwise three accounts searching
 * "<real words> 텔레그램 @scam" would put the whole string in everyone's autocomplete.
 */
export function suggestibleForm(query: string): string | null {
  const text = queryTerms(query).join(' ');
  if (!text || moderateListing({ title: text, description: '' }).findings.length > 0) return null;
  return text;
}

const entryId = (userId: string, query: string) => `shq_${createHash('sha256').update(`${userId}\n${query}`).digest('base64url').slice(0, 22)}`;

export function searchHistoryUseCases(deps: { store: DocumentStore; popular: PopularQueries }) {
  const collection = lazyCollection<SearchHistoryDoc>(deps.store, SEARCH_HISTORY);
  const byUser = (userId: string) => [{ field: 'user_id', op: 'eq' as const, value: userId }];

  return {
    /**
     * Remembers that the user searched for `query` (normalised). A query that found something
     * counts towards the popular searches behind suggestions once per user and Korean calendar
     * day, so one person repeating a search cannot push it up, and once per user for good towards
     * its searchers, so that only a query several people searched is ever suggested to others
     * (PopularQueries.count keeps both, apart from this history, which the user may clear). Only a
     * query that is already its suggestible form counts at all, so neither a ninth word nor
     * punctuation variants (`아이폰 14 !`) add to `아이폰 14`.
     */
    async record(userId: string, query: string, foundSomething: boolean): Promise<void> {
      const c = await collection();
      const id = entryId(userId, query);
      const previous = await c.get(id);
      const now = new Date();
      await c.upsert({ id, version: Math.max(now.getTime(), (previous?.version ?? 0) + 1), user_id: userId, query, searched_at: now.toISOString() });
      if (foundSomething && suggestibleForm(query) === query) await deps.popular.count(query, userId, koreanDate(now));
      if (!previous) {
        const { items } = await c.find({ where: byUser(userId), sort: { field: 'searched_at', direction: 'desc' }, limit: HISTORY_KEPT + 10 });
        for (const old of items.slice(HISTORY_KEPT)) await c.delete(old.id);
      }
    },

    /** The user's own history, most recent first. */
    async list(userId: string, limit: number, cursor?: string): Promise<Page<SearchHistoryDoc>> {
      return (await collection()).find({ where: byUser(userId), sort: { field: 'searched_at', direction: 'desc' }, limit, cursor });
    },

    async clear(userId: string): Promise<void> {
      const c = await collection();
      for (;;) {
        const { items } = await c.find({ where: byUser(userId), limit: 500 });
        if (items.length === 0) return;
        for (const entry of items) await c.delete(entry.id);
      }
    },
  };
}
export type SearchHistoryUseCases = ReturnType<typeof searchHistoryUseCases>;
