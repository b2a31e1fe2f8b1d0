import type { Handler } from '../../../platform/http/operations';
import type { RecommendationUseCases } from '../domain/recommendations';
import { toProductSummary } from './engagement-mapper';

export const listSimilarProducts =
  (recommendations: RecommendationUseCases): Handler<'listSimilarProducts'> =>
  async ({ ctx, path, query }) => {
    const items = await recommendations.similar(path.product_id, ctx.actor?.userId, query.limit ?? 20);
    return { status: 200, body: { object: 'list', data: items.map(toProductSummary), has_more: false, next_cursor: null } };
  };
