import type { Logger } from '../../../platform/logger';
import type { ListingReader } from '../data/listing-reader';
import { byPopularity, type PopularEntry, type SimilarityRepository } from '../data/similarity-repository';
import { visibleTo, type ListingSummary } from './listing';
import { productNotFound } from './problems';

/** A slice of the catalogue whose popular listings are ranked alike for everyone. */
export interface PopularSlice {
  /** A top-level category (with its sub-categories); every category when absent. */
  categoryId?: string;
  /** A neighbourhood's dongs; anywhere when absent. */
  dongCodes?: string[];
}

export interface RecommendationsDeps {
  similarity: SimilarityRepository;
  listings: ListingReader;
  /** The dongs making up the user's verified neighbourhood (its range), or null without one. */
  neighbourhoodOf: (userId: string) => Promise<string[] | null>;
  /** The dongs around a dong (a listing's "near"). */
  dongsAround: (dongCode: string) => Promise<string[]>;
  /**
   * The slice's most popular listings, best first, the same for everyone and shared between
   * requests for a short while (a few hundred at most: POPULAR_LIST_SIZE).
   */
  popularIn: (slice: PopularSlice, log: Logger) => Promise<PopularEntry[]>;
}

/**
 * Places kept per shared popular list: enough for the largest page (50) after the page's
 * personalised part and what the viewer liked, bought or sells among the top. A viewer who
 * excluded more of the top than that gets a shorter fallback (docs/recommendations.md).
 */
export const POPULAR_LIST_SIZE = 200;

const inOrder = (ids: string[], summaries: Map<string, ListingSummary>) => ids.flatMap((id) => summaries.get(id) ?? []);

/** Shared lists merged into one ranking (a listing in two of them once). */
const merged = (lists: PopularEntry[][]): string[] => [...new Set(lists.flat().sort(byPopularity).map((e) => e.id))];

export function recommendationUseCases(deps: RecommendationsDeps) {
  const { similarity, listings, neighbourhoodOf, dongsAround, popularIn } = deps;

  return {
    /**
     * Listings like this one: its item-to-item neighbours (co-liked, co-viewed, co-bought), then,
     * when those run short, popular listings of its category around its dong.
     */
    async similar(productId: string, viewerId: string | undefined, limit: number): Promise<ListingSummary[]> {
      const state = await listings.state(productId);
      if (!state || !visibleTo(state, viewerId)) throw productNotFound();
      const ids = await similarity.neighbours(productId, limit, viewerId);
      if (ids.length < limit) {
        // The listing itself, as its seller may see it hidden: only its category and dong are used.
        const [self] = (await listings.summaries([productId], { listedOnly: false })).values();
        if (self) {
          ids.push(
            ...(await similarity.popular({ categoryIds: [self.categoryId], dongCodes: await dongsAround(self.dongCode), exclude: [productId, ...ids], viewerId, limit: limit - ids.length })),
          );
        }
      }
      return inOrder(ids, await listings.summaries(ids));
    },

    /**
     * For the signed-in user: item-based CF from their recent likes, views and purchases; then
     * popular listings in their categories (all categories for a new user) in their verified
     * neighbourhood (anywhere without one), taken from the shared popular lists and filtered for
     * this user, so that the fallback's cost does not grow with the catalogue.
     */
    async forUser(userId: string, limit: number, log: Logger): Promise<{ items: ListingSummary[]; personalised: number }> {
      const ids = await similarity.forUser(userId, limit);
      const personalised = ids.length;
      if (ids.length < limit) {
        const [categories, dongs] = await Promise.all([similarity.userCategories(userId), neighbourhoodOf(userId)]);
        const near = dongs ? { dongCodes: dongs } : {};
        const fill = async (slices: PopularSlice[]) => {
          const candidates = merged(await Promise.all(slices.map((slice) => popularIn(slice, log))));
          ids.push(...(await similarity.stillRecommendable(userId, candidates, ids, limit - ids.length)));
        };
        if (categories.length) await fill(categories.map((categoryId) => ({ categoryId, ...near })));
        if (ids.length < limit) await fill([near]);
      }
      log.debug({ personalised, total: ids.length }, 'recommendations');
      return { items: inOrder(ids, await listings.summaries(ids)), personalised };
    },
  };
}
export type RecommendationUseCases = ReturnType<typeof recommendationUseCases>;
