import type { Logger } from '../../../platform/logger';
import type { ListingReader } from '../data/listing-reader';
import type { SimilarityRepository } from '../data/similarity-repository';
import { visibleTo, type ListingSummary } from './listing';
import { productNotFound } from './problems';

export interface RecommendationsDeps {
  similarity: SimilarityRepository;
  listings: ListingReader;
  /** The dongs making up the user's verified neighbourhood (its range), or null without one. */
  neighbourhoodOf: (userId: string) => Promise<string[] | null>;
  /** The dongs around a dong (a listing's "near"). */
  dongsAround: (dongCode: string) => Promise<string[]>;
}

const inOrder = (ids: string[], summaries: Map<string, ListingSummary>) => ids.flatMap((id) => summaries.get(id) ?? []);

export function recommendationUseCases(deps: RecommendationsDeps) {
  const { similarity, listings, neighbourhoodOf, dongsAround } = deps;

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
        const [self] = (await listings.summaries([productId])).values();
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
     * neighbourhood (anywhere without one).
     */
    async forUser(userId: string, limit: number, log: Logger): Promise<{ items: ListingSummary[]; personalised: number }> {
      const ids = await similarity.forUser(userId, limit);
      const personalised = ids.length;
      if (ids.length < limit) {
        const [categories, dongs] = await Promise.all([similarity.userCategories(userId), neighbourhoodOf(userId)]);
        const fill = async (categoryIds?: string[]) =>
          ids.push(...(await similarity.popular({ ...(categoryIds ? { categoryIds } : {}), ...(dongs ? { dongCodes: dongs } : {}), exclude: ids, viewerId: userId, limit: limit - ids.length })));
        if (categories.length) await fill(categories);
        if (ids.length < limit) await fill();
      }
      log.debug({ personalised, total: ids.length }, 'recommendations');
      return { items: inOrder(ids, await listings.summaries(ids)), personalised };
    },
  };
}
export type RecommendationUseCases = ReturnType<typeof recommendationUseCases>;
