import { requireActor } from '../../../platform/http/auth';
import type { Handler } from '../../../platform/http/operations';
import type { RecommendationUseCases } from '../domain/recommendations';
import { toProductSummary } from './engagement-mapper';

export const listMyRecommendations =
  (recommendations: RecommendationUseCases): Handler<'listMyRecommendations'> =>
  async ({ ctx, query }) => {
    const { items } = await recommendations.forUser(requireActor(ctx.actor, false).userId, query.limit ?? 20, ctx.log);
    return { status: 200, body: { object: 'list', data: items.map(toProductSummary), has_more: false, next_cursor: null } };
  };
